import { pgSession } from '../../db/migrate.js'
import { checkDashboards } from '../dashboards.js'
import type { Property } from './types.js'

/** P8 dashboard data: the aggregates and every panel's query equal the oracle; the policy jobs ran (src/verify/dashboards.ts). */
export const dashboardData: Property = {
  id: 'P8',
  name: 'dashboard data',
  lane: 'main',
  check: async (ctx) => (ctx.opts.skipDashboards ? undefined : checkDashboards(pgSession(ctx.client), ctx.runId, ctx.manifest, ctx.opts)),
}
