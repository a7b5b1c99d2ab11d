import { writeFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'
import { clockTicks, linuxProc, listeningPid, parseTaskStat, type ProcReader } from './proc.js'

/**
 * Where a run's CPU goes, per component, from Linux's /proc: this process's threads by the name each
 * names itself with (nameThread), the broker's process when it is on this host, and the database
 * backends of the run's own connections when the server is on this host. `main` is the main thread;
 * `helpers` the rest of the process: Node's helper threads (V8's garbage collection and compiler for
 * every thread, libuv's pool) and the last half second of threads that exited between two samples (the
 * process's total is exact).
 */
export const CPU_COMPONENTS = ['simulators', 'broker', 'ingest', 'database', 'oracle', 'live', 'bridge', 'main', 'helpers'] as const
export type CpuComponent = (typeof CPU_COMPONENTS)[number]

/** The /proc thread name (comm, ≤ 15 bytes) of each component that runs as threads of this process. */
export const THREAD_NAMES = {
  simulators: 'iotb-sim',
  broker: 'iotb-broker',
  ingest: 'iotb-ingest',
  oracle: 'iotb-oracle',
  live: 'iotb-live',
  bridge: 'iotb-bridge',
} as const satisfies Partial<Record<CpuComponent, string>>

/**
 * Names the calling worker thread after its component (its /proc comm) so the run's CPU meter can tell
 * whose CPU it is. The main thread (and a worker run as a child process) keeps its name; not Linux: nothing.
 */
export function nameThread(component: keyof typeof THREAD_NAMES): void {
  if (isMainThread) return
  try {
    writeFileSync('/proc/thread-self/comm', THREAD_NAMES[component])
  } catch {
    // no /proc: the meter says "not measured"
  }
}

const componentOfThread = new Map<string, CpuComponent>(
  Object.entries(THREAD_NAMES).map(([component, name]) => [name, component as CpuComponent]),
)

export interface CpuFigure {
  /** CPU seconds (user + system) during the run; null: not measured (see note). */
  readonly seconds: number | null
  readonly per100kReadings: number | null
  /** seconds / wall seconds: 1 = one core busy the whole run. */
  readonly coreShare: number | null
  readonly note?: string
}

export interface CpuWindow {
  readonly wallSeconds: number
  readonly components: Readonly<Record<CpuComponent, CpuFigure>>
  /** Every measured component together, CPU seconds. */
  readonly totalSeconds: number
}

/** The whole run (setup, load, drain, verification), and its load: from the schedule's start to the drain's end. */
export interface CpuReport extends CpuWindow {
  /** The readings the per-100k figures divide by (the run's ingested readings). */
  readonly readings: number
  readonly load?: CpuWindow
}

interface Counter {
  readonly component: CpuComponent
  readonly base: number
  last: number
}

export class CpuMeter {
  private readonly threads = new Map<string, Counter>()
  private readonly processes = new Map<number, Counter>()
  /** Watched processes found by their listening port (the broker), to find again after a restart. */
  private readonly listeners = new Map<number, { readonly component: CpuComponent; readonly port: number }>()
  private readonly notes = new Map<CpuComponent, string>()
  private process: { base: number; last: number; readonly pid: number } | undefined
  private readonly marks = new Map<string, { readonly atMs: number; readonly ticks: ReadonlyMap<CpuComponent, number> }>()
  private startMs = 0
  private timer: NodeJS.Timeout | undefined
  private database:
    { readonly pidsOf: (ports: number[]) => Promise<number[]>; readonly ownPorts: () => number[]; readonly asked: Set<number> } | undefined
  private looking: Promise<void> = Promise.resolve()

  constructor(
    private readonly proc: ProcReader = linuxProc,
    private readonly hz: number = clockTicks(),
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes the baseline of every thread of this process and samples every `intervalMs` until stop(). */
  start(intervalMs = 500): this {
    this.startMs = this.now()
    const self = parseTaskStat(this.proc.read('/proc/self/stat') ?? '')
    if (!self) return this
    this.process = { base: self.ticks, last: self.ticks, pid: self.pid }
    this.sampleThreads(true)
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.timer.unref()
    return this
  }

  /**
   * Counts the CPU of the process listening on a TCP port of this host (the broker) from now on; when it
   * ends (a broker restarted by a fault), the next one listening on the port from its start. False: none found.
   */
  watchListener(component: CpuComponent, port: number): boolean {
    const pid = listeningPid(this.proc, port)
    if (pid === undefined || !this.watchProcess(component, pid)) return false
    this.listeners.set(pid, { component, port })
    return true
  }

  /** Counts another process's CPU (e.g. the broker) from now on, or from its start when it is the run's own. */
  watchProcess(component: CpuComponent, pid: number, from: 'now' | 'its-start' = 'now'): boolean {
    const s = parseTaskStat(this.proc.read(`/proc/${pid}/stat`) ?? '')
    if (!s) return false
    this.processes.set(pid, { component, base: from === 'now' ? s.ticks : 0, last: s.ticks })
    return true
  }

  /**
   * Counts the database backends of this process's connections (`ownPorts`: their local ports; `pidsOf`:
   * the backends serving those client ports, e.g. from pg_stat_activity), each from its start: they are the run's own.
   */
  watchDatabase(ownPorts: () => number[], pidsOf: (ports: number[]) => Promise<number[]>): void {
    this.database = { pidsOf, ownPorts, asked: new Set() }
  }

  /** A component this run cannot measure, and why (e.g. "the broker is not on this host"). */
  notMeasured(component: CpuComponent, why: string): void {
    this.notes.set(component, why)
  }

  sample(): void {
    if (!this.process) return
    this.sampleThreads(false)
    for (const [pid, c] of this.processes) {
      const s = parseTaskStat(this.proc.read(`/proc/${pid}/stat`) ?? '')
      if (s) c.last = Math.max(c.last, s.ticks)
      else this.relisten(pid)
    }
    const self = parseTaskStat(this.proc.read('/proc/self/stat') ?? '')
    if (self) this.process.last = Math.max(this.process.last, self.ticks)
    this.lookForBackends()
  }

  /** A watched listener ended: the process listening on its port now (if any yet) counts from its start. */
  private relisten(ended: number): void {
    const l = this.listeners.get(ended)
    if (!l) return
    const pid = listeningPid(this.proc, l.port)
    if (pid === undefined || pid === ended || this.processes.has(pid) || !this.watchProcess(l.component, pid, 'its-start')) return
    this.listeners.delete(ended)
    this.listeners.set(pid, l)
  }

  private sampleThreads(baseline: boolean): void {
    for (const tid of this.proc.list('/proc/self/task')) {
      const s = parseTaskStat(this.proc.read(`/proc/self/task/${tid}/stat`) ?? '')
      if (!s) continue
      const component = tid === String(this.process?.pid) ? 'main' : (componentOfThread.get(s.comm) ?? 'helpers')
      if (component === 'helpers') continue // counted as the process's rest
      const key = `${tid}:${component}` // a thread renamed (a pool thread reused by another component) counts afresh
      const c = this.threads.get(key)
      if (c) c.last = Math.max(c.last, s.ticks)
      // A thread born during the run counts from zero; one there at the start from its baseline.
      else this.threads.set(key, { component, base: baseline ? s.ticks : 0, last: s.ticks })
    }
  }

  private lookForBackends(): void {
    const db = this.database
    if (!db) return
    const fresh = db.ownPorts().filter((p) => !db.asked.has(p))
    if (fresh.length === 0) return
    for (const p of fresh) db.asked.add(p)
    this.looking = this.looking
      .then(() => db.pidsOf(fresh))
      .then((pids) => {
        for (const pid of pids) if (!this.processes.has(pid)) this.watchProcess('database', pid, 'its-start')
      })
      .catch(() => undefined)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }

  /** A last sample, once the backends found so far are watched: report() then tells the run so far. */
  async settle(): Promise<void> {
    this.sample()
    await this.looking
    this.sample()
  }

  /** Marks a moment (a sample is taken): report() gives the CPU between the 'load' and 'drained' marks as `load`. */
  mark(name: 'load' | 'drained'): void {
    if (!this.process) return
    this.sample()
    this.marks.set(name, { atMs: this.now(), ticks: this.componentTicks() })
  }

  /** Ticks per component since the start (helpers: the process's total less its main and named threads). */
  private componentTicks(): Map<CpuComponent, number> {
    const ticks = new Map<CpuComponent, number>(CPU_COMPONENTS.map((c) => [c, 0]))
    for (const c of [...this.threads.values(), ...this.processes.values()])
      ticks.set(c.component, (ticks.get(c.component) ?? 0) + Math.max(0, c.last - c.base))
    const own = [...this.threads.values()].reduce((n, c) => n + Math.max(0, c.last - c.base), 0)
    ticks.set('helpers', Math.max(0, (this.process?.last ?? 0) - (this.process?.base ?? 0) - own))
    return ticks
  }

  private figures(ticks: ReadonlyMap<CpuComponent, number>, readings: number, wallSeconds: number): CpuWindow {
    const figure = (seconds: number | null, note?: string): CpuFigure => ({
      seconds: seconds === null ? null : r3(seconds),
      per100kReadings: seconds === null || readings <= 0 ? null : r3((seconds / readings) * 1e5),
      coreShare: seconds === null ? null : r3(seconds / wallSeconds),
      ...(note !== undefined && { note }),
    })
    const components = {} as Record<CpuComponent, CpuFigure>
    let total = 0
    for (const c of CPU_COMPONENTS) {
      const note = this.process ? this.notes.get(c) : 'not measured: no /proc (Linux only)'
      const seconds = note === undefined ? (ticks.get(c) ?? 0) / this.hz : null
      total += seconds ?? 0
      components[c] = figure(seconds, note)
    }
    return { wallSeconds: r3(wallSeconds), components, totalSeconds: r3(total) }
  }

  /** The CPU per component up to the last sample, per 100k of `readings`; `load`: between the load's start and the drain's end. */
  report(readings: number): CpuReport {
    const wallSeconds = Math.max(0.001, (this.now() - this.startMs) / 1000)
    const run = this.figures(this.componentTicks(), readings, wallSeconds)
    const from = this.marks.get('load')
    const to = this.marks.get('drained')
    if (!from || !to) return { ...run, readings }
    const diff = new Map(CPU_COMPONENTS.map((c) => [c, Math.max(0, (to.ticks.get(c) ?? 0) - (from.ticks.get(c) ?? 0))]))
    return { ...run, readings, load: this.figures(diff, readings, Math.max(0.001, (to.atMs - from.atMs) / 1000)) }
  }
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000

/** "simulators 1.2 s (0.5/100k), broker 3.4 s (…), database not measured (…)" — one line for logs and summaries. */
export function cpuLine(r: CpuWindow): string {
  return CPU_COMPONENTS.filter((c) => r.components[c].seconds !== 0)
    .map((c) => {
      const f = r.components[c]
      return f.seconds === null ? `${c} not measured` : `${c} ${f.seconds} s (${f.per100kReadings ?? '-'}/100k, ${f.coreShare} core)`
    })
    .join(', ')
}
