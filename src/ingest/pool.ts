import { Worker } from 'node:worker_threads'
import { IngestError } from '../errors.js'
import type { FromIngest, IngestCounters, IngestWorkerData, ToIngest } from './messages.js'
import type { MetricsSink } from '../metrics/thread-metrics.js'

export type Done = Extract<FromIngest, { kind: 'done' }>

export interface IngestPool {
  /** MQTT version the subscribers negotiated (5 where the broker has it, else 3.1.1 = 4). */
  readonly mqttVersion: 4 | 5
  totals(): IngestCounters
  /** Flushes every worker's last batch, closes them and returns their final reports. */
  stop(): Promise<Done[]>
  /** Rejects when a worker fails in a way retrying cannot fix. */
  readonly failed: Promise<never>
  /** Whether everything published has been ingested (default: received ≥ published). */
  caughtUp?(published: number): Promise<boolean>
  /** What the transport adds to result.json (e.g. the Kafka group's assignments). */
  evidence?(): Record<string, unknown>
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
        default: return m
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

/** Starts one ingest worker thread per entry; resolves once every one is subscribed and connected. */
export async function startIngest(workers: readonly IngestWorkerData[], log: (line: string) => void, sink?: MetricsSink, onLive?: (m: Extract<FromIngest, { kind: 'live' }>) => void): Promise<IngestPool> {
  const tracker = ingestTracker(log, sink)
  let fail: (err: Error) => void = () => undefined
  const failed = new Promise<never>((_, reject) => {
    fail = reject
  })
  failed.catch(() => undefined)
  const threads = workers.map((data) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: data })
    w.on('error', (err) => fail(new IngestError(`ingest worker ${data.worker} crashed: ${err.message}`, false, { cause: err })))
    return w
  })
  let mqttVersion: 4 | 5 = 5
  const ready = threads.map(
    (w, i) =>
      new Promise<void>((resolve, reject) => {
        w.on('message', (message: FromIngest) => {
          const m = tracker.handle(String(workers[i]!.worker), message)
          switch (m?.kind) {
            case 'live': return onLive?.(m)
            case 'ready':
              if (m.mqttVersion < mqttVersion) mqttVersion = m.mqttVersion
              return resolve()
            case 'fatal': {
              const err = new IngestError(`ingest worker ${m.worker}: ${m.message}`, false)
              reject(err)
              return fail(err)
            }
          }
        })
        w.once('exit', () => reject(new IngestError(`ingest worker ${i} exited before it was ready`, false)))
      }),
  )
  try {
    await Promise.all(ready)
  } catch (err) {
    await Promise.all(threads.map((t) => t.terminate()))
    throw err
  }
  return {
    mqttVersion,
    failed,
    totals: () => tracker.totals(),
    async stop() {
      await Promise.all(
        threads.map(
          (w) =>
            new Promise<void>((resolve) => {
              w.once('exit', () => resolve())
              w.postMessage({ kind: 'stop' } satisfies ToIngest)
            }),
        ),
      )
      return tracker.finals()
    },
  }
}
