import { latencyProperty } from '../verdicts.js'
import type { Property } from './types.js'

/** P4 latency: end-to-end p99 from the intended send time to the commit, against the SLO (the rule: src/verify/verdicts.ts). */
export const latency: Property = {
  id: 'P4',
  name: 'latency',
  lane: 'main',
  check: async (ctx) => Promise.resolve(latencyProperty(ctx.latency, ctx.slo)),
}
