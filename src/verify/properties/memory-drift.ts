import { memoryProperty } from '../../report/soak.js'
import type { Property } from './types.js'

/** S1 memory drift: resident memory grows less than the soak SLO after the warm-up (only runs with a soak SLO). */
export const memoryDrift: Property = {
  id: 'S1',
  name: 'memory drift',
  lane: 'main',
  check: async ({ opts: { soak } }) => Promise.resolve(soak && memoryProperty(soak.drift, soak.maxRssGrowthPct, soak.warmupSeconds)),
}
