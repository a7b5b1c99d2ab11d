import { spawn } from 'node:child_process'
import { connect as netConnect } from 'node:net'
import { errorMessage } from '../errors.js'
import type { Service } from '../infra.js'
import type { IngestPool } from '../ingest/pool.js'
import type { Clock } from '../util/clock.js'
import { targetOf, type FaultProxy } from './proxy.js'
import { faultLabel, linkModeOf, linkOf, type FaultKind, type FaultSpec, type Link } from './schedule.js'
import { must } from '../util/must.js'

/** A fault as it happened: result.json `faults.schedule`, drawn on the report's timeline. */
export interface FaultRecord {
  readonly kind: FaultKind
  readonly label: string
  readonly link?: Link
  readonly plannedAtSeconds: number
  readonly plannedSeconds: number
  /** Epoch ms when the fault began and ended (the service was back, the link healed, the worker subscribed). */
  startMs: number
  endMs: number
  /** The same, in seconds since the load started (the timeline's origin). */
  startS: number
  endS: number
  detail: string
  /** The fault could not be injected as planned (e.g. the restart command failed). */
  error?: string
}

export interface FaultTargets {
  readonly proxies: Partial<Record<Link, FaultProxy>>
  readonly broker: Pick<Service, 'url' | 'restart'>
  readonly database: Pick<Service, 'url' | 'restart'>
  readonly ingest: Pick<IngestPool, 'kill'>
  readonly brokerRestartCommand: string | undefined
  readonly dbRestartCommand: string | undefined
}

export interface FaultRun {
  readonly records: readonly FaultRecord[]
  /** Resolves when every fault has ended. */
  readonly done: Promise<void>
  /** Cancels faults not yet started and heals every link (the run is over). */
  abort(): void
}

const round = (x: number): number => Math.round(x * 1000) / 1000

/**
 * Runs a fault schedule against the run's services: each fault waits for its start time (seconds after
 * `t0Ms`), is injected, lasts its duration and is healed; its actual start and end are recorded.
 */
export function runFaultSchedule(
  schedule: readonly FaultSpec[],
  t0Ms: number,
  originMs: number,
  targets: FaultTargets,
  log: (line: string) => void,
  clock: Clock,
): FaultRun {
  const records: FaultRecord[] = []
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>()
  let aborted = false
  const sleepUntil = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const entry = { timer: setTimeout(() => (timers.delete(entry), resolve()), Math.max(0, ms - clock())), resolve }
      timers.add(entry)
    })

  const one = async (f: FaultSpec): Promise<void> => {
    await sleepUntil(t0Ms + f.atSeconds * 1000)
    if (aborted) return
    const startMs = clock()
    const rec: FaultRecord = {
      kind: f.kind,
      label: faultLabel(f),
      ...(linkOf(f) && { link: linkOf(f) }),
      plannedAtSeconds: f.atSeconds,
      plannedSeconds: f.seconds,
      startMs,
      endMs: startMs,
      startS: round((startMs - originMs) / 1000),
      endS: 0,
      detail: '',
    }
    records.push(rec)
    log(`fault: ${rec.label} begins (${f.seconds} s planned)`)
    try {
      rec.detail = await inject(f, targets, () => sleepUntil(startMs + f.seconds * 1000))
    } catch (err) {
      rec.error = errorMessage(err)
      log(`fault: ${rec.label} could not be injected as planned: ${rec.error}`)
    }
    rec.endMs = clock()
    rec.endS = round((rec.endMs - originMs) / 1000)
    log(`fault: ${rec.label} ended after ${round((rec.endMs - startMs) / 1000)} s${rec.detail ? ` (${rec.detail})` : ''}`)
  }

  const done = Promise.all(schedule.map(one)).then(() => undefined)
  return {
    records,
    done,
    abort() {
      aborted = true
      for (const t of timers) {
        clearTimeout(t.timer)
        t.resolve()
      }
      timers.clear()
      for (const p of Object.values(targets.proxies)) p?.setMode({ kind: 'pass' })
    },
  }
}

async function inject(f: FaultSpec, t: FaultTargets, lasting: () => Promise<void>): Promise<string> {
  const downMs = f.seconds * 1000
  const link = linkOf(f)
  if (link) {
    const proxy = t.proxies[link]
    if (!proxy) throw new Error(`no proxy on ${link}`)
    proxy.setMode(must(linkModeOf(f), `a link mode for ${faultLabel(f)}`))
    const before = { ...proxy.stats.dropped }
    const resetsBefore = proxy.stats.resets
    await lasting()
    proxy.setMode({ kind: 'pass' })
    const dropped = proxy.stats.dropped.up - before.up + proxy.stats.dropped.down - before.down
    return `${dropped} bytes dropped, ${proxy.stats.resets - resetsBefore} connections reset`
  }
  switch (f.kind) {
    case 'broker-restart':
      if (t.brokerRestartCommand) return restartByCommand(t.brokerRestartCommand, f.seconds, t.broker.url, 1883)
      if (!t.broker.restart) throw new Error('the broker cannot be restarted (external, and no --broker-restart-command)')
      await t.broker.restart(downMs)
      return `embedded broker stopped, restarted after ${f.seconds} s on the same port`
    case 'db-restart':
      if (t.dbRestartCommand) return restartByCommand(t.dbRestartCommand, f.seconds, t.database.url, 5432)
      if (!t.database.restart) throw new Error('the database cannot be restarted (external, and no --db-restart-command)')
      await t.database.restart(downMs)
      return `embedded PostgreSQL fast shutdown, restarted after ${f.seconds} s`
    case 'ingest-kill':
      // A Kafka consumer-group member is a process: kill it with SIGKILL instead (test/integration/kafka-run.test.ts).
      if (!t.ingest.kill) throw new Error('this ingest cannot kill and respawn a worker thread (--transport kafka runs consumer processes)')
      await t.ingest.kill(f.worker ?? 0, downMs)
      return `thread terminated, respawned after ${f.seconds} s`
    default:
      throw new Error(`unknown fault kind ${f.kind}`)
  }
}

/** Runs a user's restart command, then waits until the service accepts TCP connections again. */
async function restartByCommand(command: string, seconds: number, url: string, defaultPort: number): Promise<string> {
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, IOTBENCH_FAULT_SECONDS: String(seconds) },
    })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-500)))
    child.on('error', reject)
    child.on('close', (c) => (c === 0 ? resolve(c) : reject(new Error(`the restart command exited with ${c}: ${stderr.trim()}`))))
  })
  const { host, port } = targetOf(url, defaultPort)
  const deadline = Date.now() + 60_000
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host, port }, () => (s.destroy(), resolve(true)))
      s.on('error', () => resolve(false))
    })
    if (up) return `restart command exited ${code}; ${host}:${port} accepting connections`
    if (Date.now() > deadline) throw new Error(`${host}:${port} not accepting connections 60 s after the restart command`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
