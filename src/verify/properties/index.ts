import { alerts } from './alerts.js'
import { badInput } from './bad-input.js'
import { dashboardData } from './dashboards.js'
import { latency } from './latency.js'
import { liveFeed } from './live-feed.js'
import { memoryDrift } from './memory-drift.js'
import { completeness, integrity, ordering } from './sets.js'
import { throughput } from './throughput.js'
import type { Property } from './types.js'

/** Every property, in the order a verdict lists them. A new property is a module here and one line below. */
export const PROPERTIES: readonly Property[] = [
  completeness,
  integrity,
  ordering,
  latency,
  alerts,
  throughput,
  badInput,
  dashboardData,
  liveFeed,
  memoryDrift,
]

export {
  holds,
  notApplicable,
  type JudgeContext,
  type Property,
  type PropertyOutcome,
  type SoakEvidence,
  type VerifyOptions,
} from './types.js'
