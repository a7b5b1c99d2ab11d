import { join } from 'node:path'
import type pg from 'pg'
import type { ShardSlice } from '../config/slices.js'
import { ConfigError } from '../errors.js'
import { latencyDistribution } from '../report/distribution.js'
import { publish, RUN_OUTPUTS } from '../report/outputs.js'
import { RESULT_SCHEMA_VERSION, runRates, type RunResult } from '../report/result.js'
import type { CountsByKind } from '../report/timeline.js'
import { initHistograms } from '../util/histogram.js'
import { judge } from '../verify/judge.js'
import type { RateRecord, RateSample } from '../verify/rates.js'
import type { RunManifest } from '../verify/types.js'
import { sloOf } from '../verify/slo.js'
import { loadShardResult, type ShardResult } from './result.js'

type Histograms = ShardResult['histograms']

export interface CombinedShards {
  readonly runId: string
  readonly dbRunId: number
  readonly manifest: RunManifest
  readonly rates: RateRecord
  readonly histograms: { endToEnd: string[]; brokerHop: string[]; scheduleLag: string[]; publishAck: string[] }
  readonly counts: RunResult['counts']
  readonly firstSendMs: number
  readonly lastSendMs: number
  readonly lastAckMs: number
  readonly deadLetterReasons: Record<string, number>
  readonly countsByKind: CountsByKind
}

/** Why these shard results do not make one run: every problem at once (empty when they do). */
export function shardProblems(shards: readonly ShardResult[]): string[] {
  const problems: string[] = []
  if (shards.length === 0) return ['no shard results given']
  const first = shards[0]
  const n = first.shard.count
  for (const s of shards) {
    const who = `shard ${s.shard.index + 1}/${s.shard.count} of ${s.runId}`
    if (s.runId !== first.runId) problems.push(`${who}: run id differs from ${first.runId}`)
    if (s.dbRunId !== first.dbRunId)
      problems.push(`${who}: database run #${s.dbRunId} differs from #${first.dbRunId} (another database or schema?)`)
    if (s.seed !== first.seed) problems.push(`${who}: seed ${s.seed} differs from ${first.seed}`)
    if (s.shard.count !== n) problems.push(`${who}: made for ${s.shard.count} agents, not ${n}`)
    if (s.t0Ms !== first.t0Ms)
      problems.push(
        `${who}: schedule start ${new Date(s.t0Ms).toISOString()} differs from ${new Date(first.t0Ms).toISOString()} (--start-at)`,
      )
    if (s.manifest.perDevice !== first.manifest.perDevice || s.manifest.simStartMs !== first.manifest.simStartMs)
      problems.push(`${who}: readings per device or sensor start differ (different profile, rate or duration?)`)
  }
  const seen = new Map<number, number>()
  for (const s of shards) seen.set(s.shard.index, (seen.get(s.shard.index) ?? 0) + 1)
  for (let i = 0; i < n; i++) {
    const times = seen.get(i)
    if (times === undefined) problems.push(`shard ${i + 1}/${n} is missing`)
    else if (times > 1) problems.push(`shard ${i + 1}/${n} is given ${times} times`)
  }
  return problems
}

/** Cumulative counts of every shard at the union of their sample times (linear between samples, as P6 reads them). */
export function mergeRateSamples(perShard: ReadonlyArray<readonly RateSample[]>): RateSample[] {
  const at = (s: readonly RateSample[], t: number, k: 'sent' | 'ingested'): number => {
    let prev = { t: 0, sent: 0, ingested: 0 }
    for (const x of s) {
      if (x.t >= t) return prev[k] + ((x[k] - prev[k]) * (t - prev.t)) / Math.max(1e-9, x.t - prev.t)
      prev = x
    }
    return prev[k]
  }
  const times = [...new Set(perShard.flatMap((s) => s.map((x) => x.t)))].sort((a, b) => a - b)
  return times.map((t) => ({
    t,
    sent: Math.round(perShard.reduce((n, s) => n + at(s, t, 'sent'), 0)),
    ingested: Math.round(perShard.reduce((n, s) => n + at(s, t, 'ingested'), 0)),
  }))
}

const sumInto = (into: Record<string, number>, from: Readonly<Record<string, number>>): void => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
}

/** The fleet's evidence from its shards: counts summed, histograms kept encoded (merged exactly later), source evidence joined. */
export function combineShards(shards: readonly ShardResult[]): CombinedShards {
  const problems = shardProblems(shards)
  if (problems.length) throw new ConfigError(problems)
  const sorted = [...shards].sort((a, b) => a.shard.index - b.shard.index)
  const first = sorted[0]
  const hist = (k: keyof Histograms): string[] => sorted.flatMap((s) => [...s.histograms[k]])
  const counts = Object.fromEntries(
    Object.keys(first.counts).map((k) => [k, sorted.reduce((n, s) => n + s.counts[k as keyof RunResult['counts']], 0)]),
  ) as unknown as RunResult['counts']
  const badInput = sorted.flatMap((s) => s.manifest.badInput ?? [])
  const { badInput: _firstShardsOwn, ...base } = first.manifest
  const manifest: RunManifest = {
    ...base,
    unacked: sorted.flatMap((s) => s.manifest.unacked),
    published: sorted.reduce((n, s) => n + s.manifest.published, 0),
    ...(badInput.length > 0 && { badInput }),
  }
  const rates: RateRecord = {
    ...first.rates,
    rate: sorted.reduce((n, s) => n + s.rates.rate, 0),
    offered: sorted.reduce((n, s) => n + s.rates.offered, 0),
    plannedSeconds: Math.max(...sorted.map((s) => s.rates.plannedSeconds)),
    samples: mergeRateSamples(sorted.map((s) => s.rates.samples)),
  }
  const deadLetterReasons: Record<string, number> = {}
  for (const s of sorted) sumInto(deadLetterReasons, s.deadLetterReasons)
  const byKind: Record<string, Record<string, number>> = {}
  for (const s of sorted) for (const [k, v] of Object.entries(s.countsByKind ?? {})) sumInto((byKind[k] ??= {}), v)
  return {
    runId: first.runId,
    dbRunId: first.dbRunId,
    manifest,
    rates,
    histograms: {
      endToEnd: hist('endToEnd'),
      brokerHop: hist('brokerHop'),
      scheduleLag: hist('scheduleLag'),
      publishAck: hist('publishAck'),
    },
    counts: { ...counts, perDevice: first.counts.perDevice },
    firstSendMs: Math.min(...sorted.map((s) => s.firstSendMs)),
    lastSendMs: Math.max(...sorted.map((s) => s.lastSendMs)),
    lastAckMs: Math.max(...sorted.map((s) => s.lastAckMs ?? s.lastSendMs)),
    deadLetterReasons,
    countsByKind: byKind as unknown as CountsByKind,
  }
}

export interface MergeOutcome {
  readonly result: RunResult
  readonly resultFile: string
  readonly summary: string
}

/**
 * `iotbench merge <shard-dir>...`: one verdict for a run made by several agents. The shards' evidence
 * is combined, P1–P7 are checked for the whole fleet from the shared database, the combined evidence
 * and the verdict are stored with the run (so `iotbench verify <run>` reproduces it), and
 * result.json, report.md/html and junit.xml are written under <results-dir>/<run-id>/.
 */
/** Runs `fn` with a client on the run's database, then closes it (the CLI's withDatabase, src/infra.ts). */
export type OnDatabase = <T>(fn: (client: pg.Client) => Promise<T>) => Promise<T>

export async function mergeShardResults(
  cfg: ShardSlice,
  onDatabase: OnDatabase,
  refs: readonly string[],
  log: (line: string) => void,
): Promise<MergeOutcome> {
  await initHistograms()
  const shards = refs.map(loadShardResult)
  const c = combineShards(shards)
  const first = [...shards].sort((a, b) => a.shard.index - b.shard.index)[0]
  log(
    `merging ${shards.length} shards of ${c.runId} (database run #${c.dbRunId}): ${c.counts.devices} devices, ${c.counts.published} published`,
  )
  const judged = await onDatabase(async (client) => {
    const found = await client.query<{ id: number }>('SELECT id FROM runs WHERE name = $1', [c.runId])
    if (found.rows[0]?.id !== c.dbRunId)
      throw new ConfigError([
        `run ${c.runId} (#${c.dbRunId}) is not in schema ${cfg.dbSchema} of this database: give the --database-url and --db-schema the agents used`,
      ])
    log('verifying the whole fleet')
    return judge({
      client,
      dbRunId: c.dbRunId,
      manifest: c.manifest,
      histograms: c.histograms,
      slo: sloOf(first.config),
      rates: c.rates,
      evidence: { manifest: c.manifest, histograms: c.histograms },
      record: true,
    })
  })
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId: c.runId,
    dbRunId: c.dbRunId,
    profile: first.profile,
    seed: first.seed,
    startedAt: shards.map((s) => s.startedAt).sort()[0],
    finishedAt: new Date().toISOString(),
    verdict: judged.verdict,
    config: { ...first.config, shard: undefined, mergedShards: shards.length },
    environment: { ...first.environment },
    counts: c.counts,
    rates: runRates(Number(first.config.rate), Number(first.config.qos), c.counts, c.firstSendMs, c.lastSendMs, c.lastAckMs),
    latency: judged.latency,
    deadLetterReasons: c.deadLetterReasons,
    properties: judged.properties,
    countsByKind: c.countsByKind,
    latencyDistribution: latencyDistribution(c.histograms),
  }
  const made = publish({ kind: 'run', result }, join(cfg.resultsDir, c.runId), RUN_OUTPUTS)
  return { result, resultFile: made.result, summary: made.summary }
}
