import type pg from 'pg'
import type { HostLoad } from '../metrics/host.js'
import type { Verdict } from '../report/result.js'
import { summarizeEncoded, type LatencySummary } from '../util/histogram.js'
import { holds, type PropertyOutcome, type VerifyOptions } from './properties/index.js'
import type { RateRecord } from './rates.js'
import type { Slo } from './slo.js'
import { timingOnSaturatedHost, type TimingOnSaturatedHost } from './timing.js'
import type { PropertyResult, RunManifest } from './types.js'
import { verifyRun } from './verify.js'

/** The latency histograms of a run, encoded (merged exactly when judged); a run stored before publishAck has none. */
export interface EncodedHistograms {
  readonly endToEnd: readonly string[]
  readonly brokerHop: readonly string[]
  readonly scheduleLag: readonly string[]
  readonly publishAck?: readonly string[]
}

type Summaries<H extends EncodedHistograms> = { readonly [K in keyof H]-?: LatencySummary }

/** Each histogram list merged exactly and summarised (never a mean of percentiles). */
export function latencyOf<H extends EncodedHistograms>(histograms: H): Summaries<H> {
  return Object.fromEntries(Object.entries(histograms).map(([k, v]) => [k, summarizeEncoded(v as readonly string[])])) as Summaries<H>
}

/** What a verdict is judged on: the same for a run, a merge of shards and a re-verify. */
export interface JudgeInput<H extends EncodedHistograms> {
  readonly client: pg.Client
  readonly dbRunId: number
  readonly manifest: RunManifest
  readonly histograms: H
  readonly slo: Slo
  readonly rates: RateRecord | undefined
  readonly verify?: VerifyOptions
  /** Stored with the run before it is judged (a run, a merge), so `iotbench verify` reproduces the verdict from the database. */
  readonly evidence?: Readonly<Record<string, unknown>>
  /** Adds evidence from outside the database to the properties (the fault windows' loss). */
  readonly amend?: (properties: PropertyOutcome[]) => PropertyOutcome[]
  /** Why the load was cut short (Ctrl-C): the verdict is `interrupted` whatever the properties say. */
  readonly interrupted?: string
  /** The host during the run: a timing-only failure on a saturated host is told apart (exit 7). */
  readonly host?: HostLoad
  /** Writes the verdict to the run's row (not for a re-verify, which leaves the stored verdict as it was). */
  readonly record: boolean
}

export interface Judgement<H extends EncodedHistograms> {
  readonly verdict: Verdict
  readonly properties: PropertyResult[]
  readonly latency: Summaries<H>
  readonly interrupted?: string
  readonly saturated?: TimingOnSaturatedHost
}

/** The verdict from the properties: interrupted, else pass when every property holds (or does not apply). */
export const verdictOf = (properties: readonly PropertyOutcome[], interrupted?: string): Verdict =>
  interrupted ? 'interrupted' : properties.every(holds) ? 'pass' : 'fail'

/**
 * The one judge of run, merge and verify: histograms summarised, the registered properties checked
 * (src/verify/properties/), the verdict decided (interrupted, pass, fail; timing on a saturated host)
 * and, for a run or a merge, stored with the run. The outputs are src/report/outputs.ts's.
 */
export async function judge<H extends EncodedHistograms>(input: JudgeInput<H>): Promise<Judgement<H>> {
  const { client, dbRunId } = input
  if (input.evidence && input.rates) {
    await client.query('UPDATE runs SET rates = $2, evidence = $3, finished_at = now() WHERE id = $1', [
      dbRunId,
      JSON.stringify(input.rates),
      JSON.stringify(input.evidence),
    ])
  }
  const latency = latencyOf(input.histograms)
  const checked = await verifyRun(client, dbRunId, input.manifest, latency, input.slo, input.rates, input.verify)
  const properties = input.amend ? input.amend(checked) : checked
  const verdict = verdictOf(properties, input.interrupted)
  const saturated = timingOnSaturatedHost(properties, input.host)
  if (input.record) {
    await client.query('UPDATE runs SET verdict = $2 WHERE id = $1', [
      dbRunId,
      JSON.stringify({ verdict, properties, ...(saturated && { timingOnSaturatedHost: saturated.summary }) }),
    ])
  }
  return { verdict, properties, latency, ...(input.interrupted && { interrupted: input.interrupted }), ...(saturated && { saturated }) }
}
