import type { RunConfig } from '../config/options.js'
import { devicesPerFarm, farmId, type FleetShape } from '../fleet.js'
import { splitRange } from '../util/shares.js'

/**
 * `--shard i/n`: agent i (1-based, as `--shard 1/3` reads) of n takes an exact share of the farms,
 * floor(farms/n) + (i-1 < farms % n), and with them every device of those farms. Devices are numbered
 * farm-major, so a share of farms is one contiguous range of device indexes, and each agent ingests
 * the farms it publishes (its subscriptions are farm/{f}/+/+/telemetry for its own farms): n agents
 * on n machines make one run against a shared broker and database, with no traffic between agents.
 */
export interface ShardPlan {
  /** 0-based index of this agent. */
  readonly index: number
  readonly count: number
  /** Farms [from, to) this agent publishes and ingests. */
  readonly farms: readonly [from: number, to: number]
  /** Device indexes [from, to) (global, farm-major). */
  readonly devices: readonly [from: number, to: number]
}

export const isSharded = (p: ShardPlan): boolean => p.count > 1

export function parseShard(text: string): { index: number; count: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(text)
  if (!m) return undefined
  return { index: Number(m[1]) - 1, count: Number(m[2]) }
}

/** The whole fleet when --shard is absent. */
export function shardPlan(fleet: FleetShape, shard: string | undefined): ShardPlan {
  const s = shard === undefined ? { index: 0, count: 1 } : parseShard(shard)
  if (!s || s.count < 1 || s.index < 0 || s.index >= s.count || s.count > fleet.farms)
    throw new Error(`invalid shard ${shard ?? ''} for ${fleet.farms} farms`)
  const farms = splitRange(fleet.farms, s.count)[s.index]
  const per = devicesPerFarm(fleet)
  return { index: s.index, count: s.count, farms, devices: [farms[0] * per, farms[1] * per] }
}

/** The farms of a plan by name: what its ingest subscribes to and which bad input it injects. */
export const shardFarmIds = (fleet: FleetShape, p: ShardPlan): string[] =>
  Array.from({ length: p.farms[1] - p.farms[0] }, (_, i) => farmId(fleet, p.farms[0] + i))

/** Epoch ms of --start-at: an ISO 8601 time or epoch milliseconds. */
export function parseStartAt(text: string): number | undefined {
  const ms = /^\d{10,15}$/.test(text) ? Number(text) : Date.parse(text)
  return Number.isFinite(ms) ? ms : undefined
}

/** Cross-option problems of --shard and --start-at, reported with every other config problem. */
export function shardChecks(
  c: Pick<
    RunConfig,
    'shard' | 'startAt' | 'runId' | 'mqttUrl' | 'databaseUrl' | 'farms' | 'cowsPerFarm' | 'stallsPerFarm' | 'tanksPerFarm' | 'replay'
  >,
): string[] {
  const problems: string[] = []
  if (c.startAt !== undefined && parseStartAt(c.startAt) === undefined)
    problems.push(`start-at "${c.startAt}" is neither an ISO 8601 time (2026-11-23T17:00:00Z) nor epoch milliseconds`)
  if (c.shard === undefined) return problems
  const s = parseShard(c.shard)
  if (!s || s.count < 1 || s.index < 0 || s.index >= s.count) {
    problems.push(`shard "${c.shard}" must be i/n with 1 ≤ i ≤ n, e.g. 1/2`)
    return problems
  }
  if (s.count > c.farms) problems.push(`shard count ${s.count} must be ≤ farms (${c.farms}): agents split the fleet by farm`)
  if (s.count > 1) {
    if (c.runId === undefined) problems.push('a sharded run needs --run-id: every agent of the run gives the same one')
    if (c.mqttUrl === undefined) problems.push('a sharded run needs --mqtt-url: the agents share one broker')
    if (c.databaseUrl === undefined) problems.push('a sharded run needs --database-url: the agents share one database')
    if (c.replay !== undefined) problems.push('--replay cannot be sharded')
  }
  return problems
}
