import type pg from 'pg'
import type { Drift } from '../../report/soak.js'
import type { RateRecord } from '../rates.js'
import type { LatencyEvidence, Slo } from '../slo.js'
import type { PropertyId, PropertyResult, RunManifest } from '../types.js'
import type { LiveEvidence } from '../../live/run-live.js'
import type { DashboardCheckOptions } from '../dashboards.js'
import type { PendingDigests } from '../oracle-digests.js'
import type { OracleRecord } from './alerts.js'
import type { SetsReport } from './sets.js'

/**
 * A property's result. `notApplicable` (a reason) says the property does not apply to this run (an
 * ingest the bench does not run, say): it is reported, and it fails no verdict.
 */
export type PropertyOutcome = PropertyResult & { readonly notApplicable?: string }

/** Whether a property leaves the verdict a pass: it held, or it does not apply to the run. */
export const holds = (p: PropertyOutcome): boolean => p.pass || p.notApplicable !== undefined

/** What the run judged S1 on: its memory drift and the soak SLO (src/report/soak.ts). */
export interface SoakEvidence {
  readonly drift: Drift | undefined
  readonly maxRssGrowthPct: number
  readonly warmupSeconds: number
}

export interface VerifyOptions extends DashboardCheckOptions {
  /** Oracle digests being computed while the run's load ran (src/verify/oracle-digests.ts). */
  readonly pendingDigests?: PendingDigests
  /** Check P1–P3 row by row for every device (no set-based pass). */
  readonly rowByRow?: boolean
  /** Regenerate the oracle digests from the seed even when the run has them stored. */
  readonly regenerateDigests?: boolean
  /** What the run's simulated live clients received (P9). */
  readonly live?: LiveEvidence | undefined
  /** Leave P8 out (bench:verify times it on its own). */
  readonly skipDashboards?: boolean
  /** The run's memory drift and soak SLO (S1); absent, S1 is left out. */
  readonly soak?: SoakEvidence
}

/** Everything a property may read; the shared pieces are computed once, on first use. */
export interface JudgeContext {
  readonly runId: number
  readonly manifest: RunManifest
  readonly latency: LatencyEvidence
  readonly slo: Slo
  readonly rates: RateRecord | undefined
  readonly opts: VerifyOptions
  /** The main connection (P1–P4, P6, P8, P9 read on it). */
  readonly client: pg.Client
  /** A second connection, so P5 and P7 (mostly JavaScript) run beside P1–P3 (mostly PostgreSQL); throws if it could not be opened. */
  readonly sideClient: () => pg.Client
  /** The oracle record (undefined with --row-by-row); throws if it could not be read or computed. */
  readonly oracle: () => OracleRecord | undefined
  /** The set-based pass over the sensor tables (P1–P3 share it). */
  readonly sets: () => Promise<SetsReport>
}

/**
 * One verification property (the model: grafana/k6's output and executor registries). `check` returns
 * its result, or undefined when the run leaves it out (P8 under bench:verify, S1 without a soak SLO);
 * an error it throws becomes its own FAIL (a setup error ends the whole verdict: src/verify/verify.ts).
 */
export interface Property {
  readonly id: PropertyId
  readonly name: string
  /** The connection it reads on: 'side' properties run beside the 'main' ones. */
  readonly lane: 'main' | 'side'
  check(ctx: JudgeContext): Promise<PropertyOutcome | undefined>
}

/** The outcome of a property that does not apply to this run. */
export const notApplicable = (p: Pick<Property, 'id' | 'name'>, reason: string): PropertyOutcome => ({
  id: p.id,
  name: p.name,
  pass: true,
  summary: `not applicable: ${reason}`,
  evidence: { notApplicable: reason },
  notApplicable: reason,
})
