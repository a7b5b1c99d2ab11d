import { createServer, type Socket } from 'node:net'
import { workerData } from 'node:worker_threads'
import { Aedes } from 'aedes'
import { ThreadMetrics, type ThreadSnapshot } from '../metrics/thread-metrics.js'
import { threadPort } from '../util/must.js'
import { nameThread } from '../metrics/cpu.js'

nameThread('broker')

/** Messages between the main thread and the embedded broker thread. */
export interface BrokerWorkerData {
  readonly host: string
  readonly port: number
}
export type FromBroker =
  | { readonly kind: 'listening'; readonly port: number }
  | { readonly kind: 'stats'; readonly clients: number; readonly published: number; readonly metrics: ThreadSnapshot }
  | { readonly kind: 'error'; readonly message: string }
export type ToBroker = { readonly kind: 'stop' }

// aedes runs off the main thread: beside other work on the main thread it measured ~60k msg/s,
// in its own thread ~130k (QoS 0) / ~65k (QoS 1). See DESIGN.md.
const data = workerData as BrokerWorkerData
const port = threadPort('the embedded broker')
const broker = await Aedes.createBroker()
let published = 0
const metrics = new ThreadMetrics().watchRuntime()
broker.on('publish', (_packet, client) => {
  if (client) published++
})
const server = createServer((socket: Socket) => {
  // Without TCP_NODELAY every hop pays ~20 ms of Nagle delay (measured).
  socket.setNoDelay(true)
  broker.handle(socket)
})
server.on('error', (err) => port.postMessage({ kind: 'error', message: err.message } satisfies FromBroker))
server.listen(data.port, data.host, () => {
  const address = server.address()
  const actual = typeof address === 'object' && address ? address.port : data.port
  port.postMessage({ kind: 'listening', port: actual } satisfies FromBroker)
})
const statsTimer = setInterval(() => {
  metrics.gauge('brokerClients').value = broker.connectedClients
  port.postMessage({ kind: 'stats', clients: broker.connectedClients, published, metrics: metrics.snapshot() } satisfies FromBroker)
}, 1000)
port.on('message', (m: ToBroker) => {
  if (m.kind !== 'stop') return
  clearInterval(statsTimer)
  metrics.stopRuntime()
  server.close()
  broker.close(() => port.close())
})
