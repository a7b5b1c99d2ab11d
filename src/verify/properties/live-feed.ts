import { checkLive } from '../live-feed-check.js'
import type { Property } from './types.js'

/** P9 live feed: every WebSocket client got every committed reading and alert of its farms, in order (src/verify/live-feed-check.ts). */
export const liveFeed: Property = {
  id: 'P9',
  name: 'live feed',
  lane: 'main',
  check: (ctx) => checkLive(ctx.client, ctx.runId, ctx.opts.live, ctx.slo.p99Ms),
}
