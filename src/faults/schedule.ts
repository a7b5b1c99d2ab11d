import type { LinkMode } from './proxy.js'

/** The three links the bench can put its fault proxy on. */
export const LINKS = ['sim-broker', 'broker-ingest', 'ingest-db'] as const
export type Link = (typeof LINKS)[number]

export const FAULT_KINDS = ['broker-restart', 'db-restart', 'db-outage', 'ingest-kill', 'network'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/**
 * One fault of a profile's "faults" schedule, times in seconds after the load starts (before
 * --fault-time-scale). `seconds` is how long the fault lasts: the broker or database is down that long
 * (an external broker restarted by a command is down as long as the command takes), the ingest worker
 * is respawned that long after it was killed, the link misbehaves that long.
 */
export interface FaultSpec {
  readonly kind: FaultKind
  readonly atSeconds: number
  readonly seconds: number
  /** network: which link. */
  readonly link?: Link
  /** network: what the link does. */
  readonly mode?: Exclude<LinkMode['kind'], 'pass'>
  readonly ms?: number
  readonly bytesPerSecond?: number
  readonly drop?: 'up' | 'down'
  /** ingest-kill: which ingest worker thread (default 0). */
  readonly worker?: number
}

export const faultScheduleSchema = (): object => ({
  type: 'array',
  maxItems: 100,
  description: 'faults injected during the run, in seconds after the load starts',
  items: {
    type: 'object',
    properties: {
      kind: { enum: [...FAULT_KINDS] },
      atSeconds: { type: 'number', minimum: 0 },
      seconds: { type: 'number', exclusiveMinimum: 0, maximum: 86_400 },
      link: { enum: [...LINKS] },
      mode: { enum: ['latency', 'bandwidth', 'reset', 'blackhole', 'half-open'] },
      ms: { type: 'number', minimum: 0, maximum: 600_000 },
      bytesPerSecond: { type: 'number', minimum: 1 },
      drop: { enum: ['up', 'down'] },
      worker: { type: 'integer', minimum: 0 },
    },
    required: ['kind', 'atSeconds', 'seconds'],
    additionalProperties: false,
  },
})

/** The link mode a network fault sets, or undefined for other kinds. */
export function linkModeOf(f: FaultSpec): LinkMode | undefined {
  if (f.kind === 'db-outage') return { kind: 'blackhole' }
  if (f.kind !== 'network' || !f.mode) return undefined
  switch (f.mode) {
    case 'latency':
      return { kind: 'latency', ms: f.ms ?? 0 }
    case 'bandwidth':
      return { kind: 'bandwidth', bytesPerSecond: f.bytesPerSecond ?? 1 }
    case 'half-open':
      return { kind: 'half-open', drop: f.drop ?? 'down' }
    default:
      return { kind: f.mode }
  }
}

/** The link a fault acts on through the proxy (db-outage: the ingest's database connections). */
export const linkOf = (f: FaultSpec): Link | undefined => (f.kind === 'db-outage' ? 'ingest-db' : f.kind === 'network' ? f.link : undefined)

/** A readable name for logs, results and the report, e.g. "network sim-broker latency 200 ms". */
export function faultLabel(f: FaultSpec): string {
  if (f.kind === 'network') {
    const detail =
      f.mode === 'latency'
        ? ` ${f.ms} ms`
        : f.mode === 'bandwidth'
          ? ` ${f.bytesPerSecond} B/s`
          : f.mode === 'half-open'
            ? ` (${f.drop} dropped)`
            : ''
    return `network ${f.link} ${f.mode}${detail}`
  }
  if (f.kind === 'ingest-kill') return `ingest-kill worker ${f.worker ?? 0}`
  return f.kind
}

/** The schedule with every time multiplied by `scale` (--fault-time-scale: a short CI run of the real schedule). */
export const scaleSchedule = (faults: readonly FaultSpec[], scale: number): FaultSpec[] =>
  faults.map((f) => ({ ...f, atSeconds: f.atSeconds * scale, seconds: f.seconds * scale }))

export interface ScheduleContext {
  readonly durationSeconds: number
  readonly ingestWorkers: number
  readonly embeddedBroker: boolean
  readonly embeddedDatabase: boolean
  readonly brokerRestartCommand: string | undefined
  readonly dbRestartCommand: string | undefined
}

/** What the schema cannot say; every problem at once. */
export function scheduleChecks(faults: readonly FaultSpec[], c: ScheduleContext): string[] {
  const problems: string[] = []
  faults.forEach((f, i) => {
    const at = `faults[${i}] (${f.kind} at ${f.atSeconds} s)`
    if (f.atSeconds >= c.durationSeconds) problems.push(`${at} starts after the load ends (${c.durationSeconds} s)`)
    if (f.kind === 'network') {
      if (!f.link) problems.push(`${at} needs "link": one of ${LINKS.join(', ')}`)
      if (!f.mode) problems.push(`${at} needs "mode": latency, bandwidth, reset, blackhole or half-open`)
      if (f.mode === 'latency' && f.ms === undefined) problems.push(`${at}: mode latency needs "ms"`)
      if (f.mode === 'bandwidth' && f.bytesPerSecond === undefined) problems.push(`${at}: mode bandwidth needs "bytesPerSecond"`)
      if (f.mode === 'half-open' && f.drop === undefined) problems.push(`${at}: mode half-open needs "drop": up (client → server) or down`)
    } else {
      for (const k of ['link', 'mode', 'ms', 'bytesPerSecond', 'drop'] as const)
        if (f[k] !== undefined) problems.push(`${at}: "${k}" is for network faults only`)
    }
    if (f.worker !== undefined && f.kind !== 'ingest-kill') problems.push(`${at}: "worker" is for ingest-kill only`)
    if (f.kind === 'ingest-kill' && (f.worker ?? 0) >= c.ingestWorkers)
      problems.push(`${at}: worker ${f.worker ?? 0} does not exist (ingest-workers is ${c.ingestWorkers})`)
    if (f.kind === 'broker-restart' && !c.embeddedBroker && !c.brokerRestartCommand) {
      problems.push(
        `${at}: restarting an external broker needs --broker-restart-command (a shell command that restarts it; IOTBENCH_FAULT_SECONDS holds the planned downtime)`,
      )
    }
    if (f.kind === 'db-restart' && !c.embeddedDatabase && !c.dbRestartCommand) {
      problems.push(
        `${at}: restarting an external database needs --db-restart-command (or leave out --database-url to restart the embedded PostgreSQL; for an outage without a restart use "db-outage")`,
      )
    }
  })
  // Two faults on one link (or one worker) at once would undo each other's heal.
  const byTarget = new Map<string, FaultSpec[]>()
  for (const f of faults) {
    const target = linkOf(f) ?? (f.kind === 'ingest-kill' ? `ingest-${f.worker ?? 0}` : f.kind)
    byTarget.set(target, [...(byTarget.get(target) ?? []), f])
  }
  for (const [target, list] of byTarget) {
    const sorted = [...list].sort((a, b) => a.atSeconds - b.atSeconds)
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]
      if (sorted[i].atSeconds < prev.atSeconds + prev.seconds)
        problems.push(
          `faults on ${target} overlap: ${faultLabel(sorted[i])} at ${sorted[i].atSeconds} s starts before ${faultLabel(prev)} at ${prev.atSeconds} s ends`,
        )
    }
  }
  return problems
}
