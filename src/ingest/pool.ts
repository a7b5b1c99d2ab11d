import { Worker } from 'node:worker_threads'
import { IngestError } from '../errors.js'
import type { FromIngest, IngestCounters, IngestWorkerData, ToIngest } from './messages.js'
import type { MetricsSink } from '../metrics/thread-metrics.js'

type Done = Extract<FromIngest, { kind: 'done' }>

export interface IngestPool {
  /** MQTT version the subscribers negotiated (5 where the broker has it, else 3.1.1 = 4). */
  readonly mqttVersion: 4 | 5
  totals(): IngestCounters
  /** Flushes every worker's last batch, closes them and returns their final reports. */
  stop(): Promise<Done[]>
  /**
   * A fault: terminates worker `index`'s thread at once (no flush, no goodbye: what a crash does), waits
   * `downMs`, then starts a new thread with the same data, which resumes the persistent MQTT session and
   * restores what the run already stored. Resolves when the new thread is subscribed.
   */
  kill(index: number, downMs: number): Promise<void>
  /** Rejects when a worker fails in a way retrying cannot fix. */
  readonly failed: Promise<never>
}

const ZERO: IngestCounters = { received: 0, committedRows: 0, deadLetters: 0, batches: 0, retries: 0, duplicatesSkipped: 0 }
const add = (a: IngestCounters, b: IngestCounters): IngestCounters => {
  const t: Record<string, number> = { ...a }
  for (const k of Object.keys(ZERO) as Array<keyof IngestCounters>) t[k] = a[k] + b[k]
  return t as unknown as IngestCounters
}

/** Starts one ingest worker thread per entry; resolves once every one is subscribed and connected. */
export async function startIngest(workers: readonly IngestWorkerData[], log: (line: string) => void, sink?: MetricsSink): Promise<IngestPool> {
  const stats = new Map<number, IngestCounters>()
  /** What killed threads had counted (their committed rows stay committed). */
  const retired = new Map<number, IngestCounters>()
  const done = new Map<number, Done>()
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
      w.on('message', (m: FromIngest) => {
        if (killed.has(w)) return
        switch (m.kind) {
          case 'ready':
            if (m.mqttVersion < mqttVersion) mqttVersion = m.mqttVersion
            // A respawned thread counted what its predecessors committed in the database: exact, where
            // their last stats message may have been up to a second old.
            if (data.respawned && m.restoredRows !== undefined) retired.set(data.worker, { ...(retired.get(data.worker) ?? ZERO), committedRows: m.restoredRows })
            return resolve()
          case 'stats':
            if (m.metrics) sink?.update(`ingest-${m.worker}`, m.metrics)
            if (m.recentLatency) sink?.recentLatency?.(m.recentLatency)
            return void stats.set(m.worker, m)
          case 'done':
            if (m.metrics) sink?.update(`ingest-${m.worker}`, m.metrics)
            sink?.finish(`ingest-${m.worker}`)
            return void done.set(m.worker, m)
          case 'log': return log(`ingest ${m.worker}: ${m.line}`)
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
    const { received, committedRows, deadLetters, batches, retries, duplicatesSkipped } = stats.get(i) ?? ZERO
    return add({ received, committedRows, deadLetters, batches, retries, duplicatesSkipped }, retired.get(i) ?? ZERO)
  }
  return {
    get mqttVersion() {
      return mqttVersion
    },
    failed,
    totals() {
      return workers.reduce((t, _, i) => add(t, countersOf(i)), ZERO)
    },
    async kill(index, downMs) {
      const old = threads[index]
      if (!old) throw new Error(`no ingest worker ${index}`)
      killed.add(old)
      await old.terminate()
      // Committed rows, dead letters and batches stay; the rest is redelivered to the new thread.
      retired.set(index, countersOf(index))
      stats.delete(index)
      log(`ingest ${index}: thread terminated (fault); respawning in ${Math.round(downMs)} ms`)
      await new Promise((r) => setTimeout(r, downMs))
      // The MQTT version the pool negotiated, so a transient error cannot make the new thread fall back to 3.1.1.
      incarnations[index] = (incarnations[index] ?? 0) + 1
      const next = spawn({ ...workers[index]!, mqttProtocol: mqttVersion === 5 ? '5' : '4', respawned: true, incarnation: incarnations[index] })
      threads[index] = next.worker
      await Promise.race([next.ready, failed])
      log(`ingest ${index}: respawned and subscribed`)
    },
    async stop() {
      await Promise.all(
        threads.map(
          (w) =>
            new Promise<void>((resolve) => {
              // A thread that cannot finish (it failed, or hangs) is terminated rather than waited for forever.
              const timer = setTimeout(() => void w.terminate(), 60_000)
              w.once('exit', () => (clearTimeout(timer), resolve()))
              w.postMessage({ kind: 'stop' } satisfies ToIngest)
            }),
        ),
      )
      for (const d of done.values()) stats.set(d.worker, d)
      return [...done.values()].sort((a, b) => a.worker - b.worker).map((d) => ({ ...d, ...countersOf(d.worker) }))
    },
  }
}
