import { Worker } from 'node:worker_threads'
import { InfraError } from '../../errors.js'
import type { BridgeStats } from './bridge.js'
import type { BridgeThreadData, FromBridge, ToBridge } from './bridge-worker.js'

export interface BridgeThread {
  /** Latest counters (a quarter second old at most) and records waiting to be produced. */
  stats(): BridgeStats & { pending: number }
  /** Drains what the bridge received into Kafka, acknowledges it, closes. */
  stop(): Promise<BridgeStats>
  readonly failed: Promise<never>
}

/** Runs the MQTT → Kafka bridge in its own thread, so it competes with neither the simulators nor the run loop. */
export async function startBridgeThread(data: BridgeThreadData, log: (line: string) => void): Promise<BridgeThread> {
  const worker = new Worker(new URL('./bridge-worker.js', import.meta.url), { workerData: data })
  let latest: BridgeStats & { pending: number } = { received: 0, produced: 0, acked: 0, sendErrors: 0, pending: 0 }
  let final: ((s: BridgeStats) => void) | undefined
  let fail: (err: Error) => void = () => undefined
  const failed = new Promise<never>((_, reject) => (fail = reject))
  failed.catch(() => undefined)
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromBridge) => {
      switch (m.kind) {
        case 'ready':
          return resolve()
        case 'stats':
          return void (latest = { ...m.stats, pending: m.pending })
        case 'stopped':
          return final?.(m.stats)
        case 'log':
          return log(m.line)
        case 'fatal': {
          const err = new InfraError(`Kafka bridge: ${m.message}`, 'is Kafka reachable at --kafka-url, and the MQTT broker?')
          reject(err)
          return fail(err)
        }
      }
    })
    worker.on('error', (err) => {
      reject(err)
      fail(err)
    })
  })
  await ready
  return {
    stats: () => latest,
    failed,
    stop: () =>
      new Promise<BridgeStats>((resolve) => {
        final = (s) => {
          latest = { ...s, pending: 0 }
          resolve(s)
        }
        worker.postMessage({ kind: 'stop' } satisfies ToBridge)
      }),
  }
}
