import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import type { RunResult } from '../report/result.js'
import type { CountsByKind } from '../report/timeline.js'
import type { RateRecord } from '../verify/rates.js'
import type { RunManifest } from '../verify/types.js'
import type { ShardPlan } from './plan.js'

/**
 * What one agent of a sharded run leaves for `iotbench merge`: its counts, its source evidence (the
 * unacknowledged readings, the bad input it injected, its rate timeline) and its latency histograms,
 * encoded, so the merge combines them exactly. The agent does not verify: only the whole fleet has a
 * verdict, and the merge computes it from the database.
 */
export interface ShardResult {
  readonly kind: 'iotbench-shard'
  readonly schemaVersion: 1
  readonly runId: string
  readonly dbRunId: number
  readonly shard: ShardPlan
  readonly profile: string
  readonly seed: number
  readonly startedAt: string
  readonly finishedAt: string
  /** The schedule's start (epoch ms): equal on every agent of the run. */
  readonly t0Ms: number
  readonly config: Readonly<Record<string, unknown>>
  readonly environment: RunResult['environment']
  readonly counts: RunResult['counts']
  readonly firstSendMs: number
  readonly lastSendMs: number
  /** The last acknowledgement (absent in shard results written before it existed). */
  readonly lastAckMs?: number
  readonly manifest: RunManifest
  readonly rates: RateRecord
  readonly histograms: {
    readonly endToEnd: readonly string[]
    readonly brokerHop: readonly string[]
    readonly scheduleLag: readonly string[]
    readonly publishAck: readonly string[]
  }
  readonly deadLetterReasons: Readonly<Record<string, number>>
  readonly countsByKind?: CountsByKind
}

export const shardDirName = (runId: string, p: Pick<ShardPlan, 'index' | 'count'>): string => `${runId}.shard-${p.index + 1}of${p.count}`

export function writeShardResult(resultsDir: string, r: ShardResult): string {
  const dir = join(resultsDir, shardDirName(r.runId, r.shard))
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'shard.json')
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`)
  return file
}

/** A shard.json by path, or the shard.json in a folder. */
export function loadShardResult(ref: string): ShardResult {
  const file = existsSync(ref) && statSync(ref).isDirectory() ? join(ref, 'shard.json') : ref
  if (!existsSync(file))
    throw new ConfigError([
      `no shard result at ${file} (give the folder an agent of \`iotbench run --shard i/n\` wrote, or its shard.json)`,
    ])
  let parsed: Partial<ShardResult>
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ShardResult>
  } catch (err) {
    throw new ConfigError([`${file} is not valid JSON: ${(err as Error).message}`])
  }
  if (parsed.kind !== 'iotbench-shard' || parsed.schemaVersion !== 1)
    throw new ConfigError([`${file} is not a shard result (kind iotbench-shard, schema version 1)`])
  return parsed as ShardResult
}
