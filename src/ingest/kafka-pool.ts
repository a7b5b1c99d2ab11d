import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { IngestError } from '../errors.js'
import type { MetricsSink } from '../metrics/thread-metrics.js'
import type { FromIngest, IngestWorkerData, ToIngest } from './messages.js'
import { ingestTracker, type Done } from './pool.js'

/** Exit code of a consumer that left the group to rejoin (see worker.ts). */
const EXIT_REJOIN = 75

export type Assignment = Extract<FromIngest, { kind: 'assigned' }> & { readonly at: number }
export interface ConsumerExit {
  readonly worker: number
  readonly pid: number
  readonly code: number | null
  readonly signal: string | null
  readonly at: number
}

export interface ConsumerGroup {
  readonly mqttVersion: 4 | 5
  totals: ReturnType<typeof ingestTracker>['totals']
  /** Process ids of the live consumers, by worker number. */
  pids(): Map<number, number>
  readonly assignments: Assignment[]
  readonly exits: ConsumerExit[]
  stop(): Promise<Done[]>
  readonly failed: Promise<never>
}

/**
 * The Kafka ingest as child processes, one consumer-group member each (processes, not threads, so one
 * can be SIGKILLed like a crashed host). A member that dies is not a failed run: the group moves its
 * partitions to the others. A member that left to rejoin (its batch lost its partitions) is started
 * again. The run fails only when no member is left.
 */
export async function startConsumerGroup(
  workers: readonly IngestWorkerData[],
  log: (line: string) => void,
  sink?: MetricsSink,
  onLive?: (m: Extract<FromIngest, { kind: 'live' }>) => void,
): Promise<ConsumerGroup> {
  const tracker = ingestTracker(log, sink)
  const entry = fileURLToPath(new URL('./worker.js', import.meta.url))
  const live = new Map<number, ChildProcess>()
  const assignments: Assignment[] = []
  const exits: ConsumerExit[] = []
  const incarnations = new Map<number, number>()
  let stopping = false
  let fail: (err: Error) => void = () => undefined
  const failed = new Promise<never>((_, reject) => (fail = reject))
  failed.catch(() => undefined)

  const spawn = (data: IngestWorkerData): Promise<void> => {
    const n = (incarnations.get(data.worker) ?? 0) + 1
    incarnations.set(data.worker, n)
    const key = n === 1 ? String(data.worker) : `${data.worker}.${n}`
    const child = fork(entry, [], {
      env: { ...process.env, IOTBENCH_INGEST_WORKER: JSON.stringify(data) },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    live.set(data.worker, child)
    return new Promise<void>((resolve, reject) => {
      child.on('message', (message: FromIngest) => {
        const m = tracker.handle(key, message)
        switch (m?.kind) {
          case 'ready':
            return resolve()
          case 'live':
            return onLive?.(m)
          case 'assigned':
            return void assignments.push({ ...m, at: Date.now() })
          case 'fatal': {
            const err = new IngestError(`ingest consumer ${key}: ${m.message}`, false)
            reject(err)
            return fail(err)
          }
        }
      })
      child.once('exit', (code, signal) => {
        if (live.get(data.worker) === child) live.delete(data.worker)
        reject(new IngestError(`ingest consumer ${key} exited before it was ready`, false))
        if (stopping) return
        exits.push({ worker: data.worker, pid: child.pid ?? 0, code, signal, at: Date.now() })
        if (code === EXIT_REJOIN) {
          log(`ingest consumer ${key} left the group to rejoin; starting it again`)
          spawn(data).catch((err: Error) => fail(err))
        } else {
          log(
            `ingest consumer ${key} (pid ${child.pid}) died (${signal ?? `exit ${code}`}); the group moves its partitions to the ${live.size} left`,
          )
          if (live.size === 0) fail(new IngestError('every ingest consumer of the group died', false))
        }
      })
    })
  }

  try {
    await Promise.all(workers.map(spawn))
  } catch (err) {
    stopping = true
    for (const c of live.values()) c.kill('SIGKILL')
    throw err
  }
  return {
    mqttVersion: 5,
    totals: () => tracker.totals(),
    pids: () => new Map([...live].map(([w, c]) => [w, c.pid ?? 0])),
    assignments,
    exits,
    failed,
    async stop() {
      stopping = true
      await Promise.all(
        [...live.values()].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve()
              c.once('exit', () => resolve())
              c.send({ kind: 'stop' } satisfies ToIngest)
            }),
        ),
      )
      return tracker.finals()
    },
  }
}
