import { Worker } from 'node:worker_threads'
import { InfraError } from '../errors.js'
import type { BrokerWorkerData, FromBroker, ToBroker } from './embedded-worker.js'
import type { MetricsSink } from '../metrics/thread-metrics.js'

export interface EmbeddedBroker {
  readonly url: string
  readonly port: number
  stop(): Promise<void>
}

/** Starts aedes in its own worker thread on 127.0.0.1 (loopback only). */
export async function startEmbeddedBroker(port = 0, host = '127.0.0.1', sink?: MetricsSink): Promise<EmbeddedBroker> {
  const worker = new Worker(new URL('./embedded-worker.js', import.meta.url), {
    workerData: { host, port } satisfies BrokerWorkerData,
  })
  const actual = await new Promise<number>((resolve, reject) => {
    const onMessage = (m: FromBroker): void => {
      if (m.kind === 'listening') resolve(m.port)
      if (m.kind === 'stats') sink?.update('broker', m.metrics)
      if (m.kind === 'error') reject(new InfraError(`embedded broker failed: ${m.message}`, 'is another process using the port?'))
    }
    worker.on('message', onMessage)
    worker.once('error', (err) => reject(new InfraError(`embedded broker crashed: ${err.message}`, 'see the error above', { cause: err })))
  })
  return {
    url: `mqtt://${host}:${actual}`,
    port: actual,
    async stop() {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
      worker.postMessage({ kind: 'stop' } satisfies ToBroker)
      const timer = setTimeout(() => void worker.terminate(), 3000)
      await exited
      clearTimeout(timer)
      sink?.finish('broker')
    },
  }
}
