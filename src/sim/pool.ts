import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { FromSim, SimResult, SimTask, ToSim } from './messages.js'
import type { MetricsSink } from '../metrics/thread-metrics.js'

export interface SimProgress {
  sent: number
  acked: number
}

/**
 * The simulators' progress summed over their threads. A thread's result replaces its last progress
 * message (which may be up to 250 ms old) and any message of it arriving later is stale: so the total
 * the run samples last for P6 is exact, and never goes back.
 */
export class ProgressTotals {
  private readonly perWorker = new Map<number, SimProgress>()
  private readonly finished = new Set<number>()

  /** A thread's progress message; false (and ignored) once the thread has returned. */
  progress(worker: number, p: SimProgress): boolean {
    if (this.finished.has(worker)) return false
    this.perWorker.set(worker, { sent: p.sent, acked: p.acked })
    return true
  }

  /** A thread's final counts, from its result. */
  finish(worker: number, p: SimProgress): void {
    this.finished.add(worker)
    this.perWorker.set(worker, { sent: p.sent, acked: p.acked })
  }

  get total(): SimProgress {
    const total = { sent: 0, acked: 0 }
    for (const p of this.perWorker.values()) {
      total.sent += p.sent
      total.acked += p.acked
    }
    return total
  }
}

/** Runs one publishing task per simulator thread (piscina) and aggregates their progress. */
export async function runSimulators(
  tasks: ReadonlyArray<Omit<SimTask, 'progress'>>,
  onProgress: (total: SimProgress) => void,
  log: (line: string) => void,
  sink?: MetricsSink,
  /** Called once every thread is connected; returns the schedule's start (epoch ms) sent to all of them. */
  startAt: () => number | Promise<number> = () => Date.now(),
  /**
   * An interrupt: when `signal` aborts, every thread stops after seq `perDevice()` − 1 (see ToSim); a hard
   * stop (registered with `onHardStop`) terminates the threads at once.
   */
  stop?: { readonly signal: AbortSignal; readonly perDevice: () => number; readonly onHardStop?: (fn: () => Promise<void>) => () => void },
): Promise<SimResult[]> {
  const pool = new Piscina({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: tasks.length,
    maxThreads: tasks.length,
    idleTimeout: 1000,
  })
  const totals = new ProgressTotals()
  const ports: MessagePort[] = []
  const onStop = (): void => {
    if (!stop) return
    const perDevice = stop.perDevice()
    for (const p of ports) p.postMessage({ kind: 'stop', perDevice } satisfies ToSim)
  }
  stop?.signal.addEventListener('abort', onStop, { once: true })
  const unregister = stop?.onHardStop?.(() => pool.destroy())
  let ready = 0
  let failStart: (err: Error) => void = () => undefined
  const startFailed = new Promise<never>((_, reject) => (failStart = reject))
  startFailed.catch(() => undefined)
  try {
    return await raceStart(
      startFailed,
      Promise.all(
        tasks.map((task) => {
          const channel = new MessageChannel()
          ports.push(channel.port2)
          channel.port2.on('message', (m: FromSim) => {
            if (m.kind === 'error') return log(`sim ${m.worker}: ${m.message}`)
            if (m.kind === 'ready') {
              if (++ready === tasks.length) {
                if (stop?.signal.aborted) onStop() // interrupted before the load started: it publishes nothing
                void Promise.resolve(startAt()).then(
                  (t0Ms) => {
                    for (const p of ports) p.postMessage({ kind: 'start', t0Ms } satisfies ToSim)
                  },
                  (err: Error) => failStart(err),
                )
              }
              return
            }
            if (m.metrics) sink?.update(`sim-${m.worker}`, m.metrics)
            if (totals.progress(m.worker, m)) onProgress(totals.total)
          })
          return pool
            .run({ ...task, progress: channel.port1 }, { transferList: [channel.port1] })
            .then((result: SimResult) => {
              if (result.metrics) sink?.update(`sim-${task.worker}`, result.metrics)
              totals.finish(task.worker, { sent: result.published, acked: result.acked })
              onProgress(totals.total)
              return result
            })
            .finally(() => {
              channel.port2.close()
              sink?.finish(`sim-${task.worker}`)
            })
        }),
      ),
    )
  } finally {
    stop?.signal.removeEventListener('abort', onStop)
    unregister?.()
    await pool.destroy()
  }
}

/** The simulators' results, unless the schedule could not start (e.g. a shard barrier timed out). */
const raceStart = <T>(startFailed: Promise<never>, all: Promise<T>): Promise<T> => Promise.race([all, startFailed])
