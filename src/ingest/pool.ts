import { Worker } from 'node:worker_threads'
import { IngestError } from '../errors.js'
import type { FromIngest, IngestCounters, IngestWorkerData, ToIngest } from './messages.js'
import type { MetricsSink } from '../metrics/thread-metrics.js'
import type { PropertyId } from '../verify/types.js'

export type Done = Extract<FromIngest, { kind: 'done' }>

export interface IngestPool {
  /** MQTT version the subscribers negotiated (5 where the broker has it, else 3.1.1 = 4). */
  readonly mqttVersion: 4 | 5
  totals(): IngestCounters
  /** Flushes every worker's last batch, closes them and returns their final reports (a worker silent past `timeoutMs` is terminated and missing). */
  stop(timeoutMs?: number): Promise<Done[]>
  /** Rejects when a worker fails in a way retrying cannot fix. */
  readonly failed: Promise<never>
  /** A hard stop (a second Ctrl-C): terminates every worker at once, nothing flushed. */
  abort?(): Promise<void>
  /**
   * A fault: terminates worker `index`'s thread at once (no flush, no goodbye: what a crash does), waits
   * `downMs`, then starts a new thread with the same data, which resumes the persistent MQTT session and
   * restores what the run already stored. Resolves when the new thread is subscribed. (MQTT threads only.)
   */
  kill?(index: number, downMs: number): Promise<void>
  /**
   * Whether everything published has been ingested (default: received ≥ published). `badInput`: the
   * malformed messages injected too (the Kafka bridge carries them like readings).
   */
  caughtUp?(published: number, badInput: number): Promise<boolean>
  /** What the transport adds to result.json (e.g. the Kafka group's assignments). */
  evidence?(): Record<string, unknown>
  /** Properties this ingest's stored data cannot judge, with the reason (an external ingest's sink map). */
  notApplicable?(): Readonly<Partial<Record<PropertyId, string>>>
}

/** What the main thread keeps of its ingest workers' messages: the same for threads and processes. */
export function ingestTracker(log: (line: string) => void, sink?: MetricsSink) {
  const stats = new Map<string, IngestCounters>()
  const done = new Map<string, Done>()
  return {
    stats,
    done,
    /** Handles a stats, done or log message of the worker incarnation `key`; returns the others. */
    handle(key: string, m: FromIngest): Exclude<FromIngest, { kind: 'stats' | 'done' | 'log' }> | undefined {
      switch (m.kind) {
        case 'stats':
          if (m.metrics) sink?.update(`ingest-${key}`, m.metrics)
          if (m.recentLatency) sink?.recentLatency?.(m.recentLatency)
          return void stats.set(key, m)
        case 'done':
          if (m.metrics) sink?.update(`ingest-${key}`, m.metrics)
          sink?.finish(`ingest-${key}`)
          stats.set(key, m)
          return void done.set(key, m)
        case 'log':
          log(`ingest ${key}: ${m.line}`)
          return undefined
        default:
          return m
      }
    },
    totals(): IngestCounters {
      const t = { received: 0, committedRows: 0, deadLetters: 0, batches: 0, retries: 0, duplicatesSkipped: 0 }
      for (const s of stats.values()) for (const k of Object.keys(t) as Array<keyof IngestCounters>) t[k] += s[k]
      return t
    },
    finals: (): Done[] => [...done.values()].sort((a, b) => a.worker - b.worker),
  }
}

const ZERO: IngestCounters = { received: 0, committedRows: 0, deadLetters: 0, batches: 0, retries: 0, duplicatesSkipped: 0 }
const add = (a: IngestCounters, b: IngestCounters): IngestCounters => {
  const t = { ...ZERO }
  for (const k of Object.keys(ZERO) as Array<keyof IngestCounters>) t[k] = a[k] + b[k]
  return t
}

/** Starts one ingest worker thread per entry; resolves once every one is subscribed and connected. */
export async function startIngest(
  workers: readonly IngestWorkerData[],
  log: (line: string) => void,
  sink?: MetricsSink,
  onLive?: (m: Extract<FromIngest, { kind: 'live' }>) => void,
): Promise<IngestPool> {
  const tracker = ingestTracker(log, sink)
  /** What killed threads had counted (their committed rows stay committed). */
  const retired = new Map<number, IngestCounters>()
  let fail: (err: Error) => void = () => undefined
  const failed = new Promise<never>((_, reject) => {
    fail = reject
  })
  failed.catch(() => undefined)
  let mqttVersion: 4 | 5 = 5
  const killed = new WeakSet<Worker>()
  const incarnations: number[] = []

  const spawn = (data: IngestWorkerData): { worker: Worker; ready: Promise<void> } => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: data })
    w.on('error', (err) => fail(new IngestError(`ingest worker ${data.worker} crashed: ${err.message}`, false, { cause: err })))
    const ready = new Promise<void>((resolve, reject) => {
      w.on('message', (message: FromIngest) => {
        if (killed.has(w)) return
        const m = tracker.handle(String(data.worker), message)
        switch (m?.kind) {
          case 'live':
            return onLive?.(m)
          case 'ready':
            if (m.mqttVersion < mqttVersion) mqttVersion = m.mqttVersion
            // A respawned thread counted what its predecessors committed in the database: exact, where
            // their last stats message may have been up to a second old.
            if (data.respawned && m.restoredRows !== undefined)
              retired.set(data.worker, { ...(retired.get(data.worker) ?? ZERO), committedRows: m.restoredRows })
            return resolve()
          case 'fatal': {
            const err = new IngestError(`ingest worker ${m.worker}: ${m.message}`, false)
            reject(err)
            return fail(err)
          }
        }
      })
      w.once('exit', () => reject(new IngestError(`ingest worker ${data.worker} exited before it was ready`, false)))
    })
    return { worker: w, ready }
  }

  const started = workers.map(spawn)
  const threads = started.map((s) => s.worker)
  try {
    await Promise.all(started.map((s) => s.ready))
  } catch (err) {
    await Promise.all(threads.map((t) => t.terminate()))
    throw err
  }
  const countersOf = (i: number): IngestCounters => {
    const { received, committedRows, deadLetters, batches, retries, duplicatesSkipped } = tracker.stats.get(String(i)) ?? ZERO
    return add({ received, committedRows, deadLetters, batches, retries, duplicatesSkipped }, retired.get(i) ?? ZERO)
  }
  return {
    get mqttVersion() {
      return mqttVersion
    },
    failed,
    totals: () => workers.reduce((t, _, i) => add(t, countersOf(i)), ZERO),
    abort: async () => {
      for (const t of threads) killed.add(t)
      await Promise.all(threads.map((t) => t.terminate()))
    },
    async kill(index, downMs) {
      const old = threads[index]
      if (!old) throw new Error(`no ingest worker ${index}`)
      killed.add(old)
      await old.terminate()
      // Committed rows, dead letters and batches stay; the rest is redelivered to the new thread.
      retired.set(index, countersOf(index))
      tracker.stats.delete(String(index))
      log(`ingest ${index}: thread terminated (fault); respawning in ${Math.round(downMs)} ms`)
      await new Promise((r) => setTimeout(r, downMs))
      // The MQTT version the pool negotiated, so a transient error cannot make the new thread fall back to 3.1.1.
      incarnations[index] = (incarnations[index] ?? 0) + 1
      const next = spawn({
        ...workers[index],
        mqttProtocol: mqttVersion === 5 ? '5' : '4',
        respawned: true,
        incarnation: incarnations[index],
      })
      threads[index] = next.worker
      await Promise.race([next.ready, failed])
      log(`ingest ${index}: respawned and subscribed`)
    },
    async stop(timeoutMs = 30_000) {
      await Promise.all(
        threads.map(
          (w, index) =>
            new Promise<void>((resolve) => {
              // A thread that reported 'done' has nothing left to give: end it if its event loop lingers;
              // one that did not report by the deadline is ended too, and named.
              const check = setInterval(() => void (tracker.done.has(String(workers[index].worker)) && w.terminate()), 200)
              const give = setTimeout(() => {
                log(
                  `ingest ${workers[index].worker}: did not stop within ${timeoutMs / 1000} s; terminated (its latency histograms are missing)`,
                )
                void w.terminate()
              }, timeoutMs)
              w.once('exit', () => {
                clearInterval(check)
                clearTimeout(give)
                resolve()
              })
              w.postMessage({ kind: 'stop' } satisfies ToIngest)
            }),
        ),
      )
      return tracker.finals().map((d) => ({ ...d, ...countersOf(d.worker) }))
    },
  }
}
