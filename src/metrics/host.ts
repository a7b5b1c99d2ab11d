import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'

/** CPU time counters of the whole machine (the first line of /proc/stat, in ticks). */
export interface CpuTimes {
  readonly total: number
  readonly idle: number // idle + iowait: time no task wanted the CPU
  readonly steal: number // time the hypervisor gave this machine's CPUs to someone else
}

/** The "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal (guest time is already in user). */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '))
  if (!line) return undefined
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number)
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return undefined
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, steal }
}

/** What the host was doing during a run: result.json's `host`, a summary line, the report. */
export interface HostLoad {
  readonly cpus: number
  readonly seconds: number
  /** Share of the whole machine's CPU time that was busy (any process), mean and worst second; absent without /proc/stat. */
  readonly busyMeanPct?: number
  readonly busyMaxPct?: number
  readonly stealMeanPct?: number
  /** This process's threads (simulators, ingest, broker, verifier), as a share of the whole machine. */
  readonly ownMeanPct: number
  /** The 1-minute load average at its highest during the run. */
  readonly loadAvgMax: number
  /** The worst event-loop delay p99 of the bench's own threads, and its mean over the seconds. */
  readonly loopLagMaxMs: number
  readonly loopLagMeanMs: number
  /** Saturated: busy ≥ 90 % on average, or steal ≥ 10 %, or a load average of 2 runnable tasks per core or more. */
  readonly saturated: boolean
  /** The figures that made it saturated (empty when it was not). */
  readonly why: readonly string[]
}

export const SATURATION = { busyPct: 90, stealPct: 10, loadPerCore: 2 } as const

export interface HostProbes {
  readonly procStat: () => string | undefined
  readonly loadAvg1: () => number
  /** CPU time used by this process so far, µs (all threads). */
  readonly ownCpuMicros: () => number
  /** The worst p99 event-loop delay among the bench's threads over their last report interval, ms. */
  readonly loopLagMs: () => number
  readonly now: () => number
  readonly cpus: number
}

export const systemProbes = (loopLagMs: () => number): HostProbes => ({
  procStat: () => {
    try {
      return readFileSync('/proc/stat', 'utf8')
    } catch {
      return undefined // not Linux: busy and steal are not measured
    }
  },
  loadAvg1: () => loadavg()[0] ?? 0,
  ownCpuMicros: () => {
    const u = process.cpuUsage()
    return u.user + u.system
  },
  loopLagMs,
  now: () => performance.now(),
  cpus: cpus().length,
})

const r1 = (x: number): number => Math.round(x * 10) / 10

/** Samples the host once a second (the run's ticker calls `sample`) and sums it up at the end. */
export class HostSampler {
  private readonly busy: number[] = []
  private readonly steal: number[] = []
  private readonly lags: number[] = []
  private loadMax = 0
  private last: { cpu?: CpuTimes; own: number; t: number }
  private readonly first: { own: number; t: number }

  constructor(private readonly probes: HostProbes) {
    const cpu = this.cpu()
    this.last = { ...(cpu && { cpu }), own: probes.ownCpuMicros(), t: probes.now() }
    this.first = { own: this.last.own, t: this.last.t }
  }

  private cpu(): CpuTimes | undefined {
    const text = this.probes.procStat()
    return text === undefined ? undefined : parseProcStat(text)
  }

  sample(): void {
    const cpu = this.cpu()
    const prev = this.last.cpu
    if (cpu && prev && cpu.total > prev.total) {
      const dt = cpu.total - prev.total
      this.busy.push((100 * (dt - (cpu.idle - prev.idle))) / dt)
      this.steal.push((100 * (cpu.steal - prev.steal)) / dt)
    }
    this.loadMax = Math.max(this.loadMax, this.probes.loadAvg1())
    this.lags.push(this.probes.loopLagMs())
    this.last = { ...(cpu && { cpu }), own: this.probes.ownCpuMicros(), t: this.probes.now() }
  }

  summary(): HostLoad {
    const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)
    const seconds = (this.last.t - this.first.t) / 1000
    const ownPct = seconds > 0 ? (100 * (this.last.own - this.first.own)) / 1e6 / seconds / this.probes.cpus : 0
    const measured = this.busy.length > 0
    const busyMean = mean(this.busy)
    const stealMean = mean(this.steal)
    const why: string[] = []
    if (measured && busyMean >= SATURATION.busyPct)
      why.push(`CPU busy ${r1(busyMean)} % of ${this.probes.cpus} cores on average (≥ ${SATURATION.busyPct} %)`)
    if (measured && stealMean >= SATURATION.stealPct) why.push(`steal ${r1(stealMean)} % (≥ ${SATURATION.stealPct} %)`)
    if (this.loadMax >= SATURATION.loadPerCore * this.probes.cpus)
      why.push(`load average ${r1(this.loadMax)} on ${this.probes.cpus} cores (≥ ${SATURATION.loadPerCore} per core)`)
    return {
      cpus: this.probes.cpus,
      seconds: r1(seconds),
      ...(measured && { busyMeanPct: r1(busyMean), busyMaxPct: r1(Math.max(...this.busy)), stealMeanPct: r1(stealMean) }),
      ownMeanPct: r1(ownPct),
      loadAvgMax: r1(this.loadMax),
      loopLagMaxMs: r1(Math.max(0, ...this.lags)),
      loopLagMeanMs: r1(mean(this.lags)),
      saturated: why.length > 0,
      why,
    }
  }
}

/** One line for the summary and the report. */
export function hostLine(h: HostLoad, scheduleLagP99Ms?: number): string {
  const cpu =
    h.busyMeanPct === undefined
      ? 'CPU busy not measured (no /proc/stat)'
      : `CPU busy ${h.busyMeanPct} % (worst second ${h.busyMaxPct} %, steal ${h.stealMeanPct} %)`
  return `${cpu}, this process ${h.ownMeanPct} %, load average up to ${h.loadAvgMax} on ${h.cpus} cores, event-loop lag p99 up to ${h.loopLagMaxMs} ms${scheduleLagP99Ms === undefined ? '' : `, schedule lag p99 ${scheduleLagP99Ms} ms`}${h.saturated ? ' — saturated' : ''}`
}
