import { parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../errors.js'
import { isRetriableDbError } from '../db/errors.js'
import { encodeHistogram, initHistograms, type newHistogram } from '../util/histogram.js'
import { IngestCore, type IngestSource } from './core.js'
import { KafkaSource } from './kafka-source.js'
import type { FromIngest, IngestWorkerData, ToIngest } from './messages.js'
import { subscribe } from '../transport/mqtt-subscriber.js'
import { ingestFaultsOf } from '../faults/ingest-hook.js'
import { epochClock } from '../util/clock.js'
import { nameThread } from '../metrics/cpu.js'

nameThread('ingest')

/**
 * An ingest worker: a thread (MQTT, started by pool.ts) or a child process (Kafka consumer group,
 * started by kafka-pool.ts, so a test can SIGKILL one). Same typed messages either way.
 */
const port = parentPort
const data = (port ? workerData : JSON.parse(process.env['IOTBENCH_INGEST_WORKER'] ?? 'null')) as IngestWorkerData
const post = (m: FromIngest): void => {
  if (port) port.postMessage(m)
  else process.send?.(m)
}
const onMessage = (handler: (m: ToIngest) => void): void => {
  if (port) port.on('message', handler)
  else process.on('message', handler)
}
const closeChannel = (code = 0): void => {
  if (port) return port.close()
  process.disconnect?.()
  setTimeout(() => process.exit(code), 200) // a consumer process ends here, whatever sockets linger
}

/** Exit code of a consumer whose batch lost its partitions to another member: the pool starts a fresh one. */
export const EXIT_REJOIN = 75

await initHistograms()
let source: IngestSource & { readonly version?: 4 | 5; readonly kafkaHop?: ReturnType<typeof newHistogram> }
const core = new IngestCore(
  data,
  post,
  (err) => {
    // Everything this consumer holds uncommitted is stale: leave the group and let a fresh process rejoin.
    core.log(`${err.message}; leaving the group to rejoin with the stored offsets`)
    void Promise.race([source.close(), new Promise((r) => setTimeout(r, 3000))]).finally(() => process.exit(EXIT_REJOIN))
  },
  ingestFaultsOf(data.faultHook, data.alertRules, epochClock, data.topicPrefix),
)

if (data.kafka) {
  source = new KafkaSource(core, data, data.kafka, post)
} else {
  const subscriber = subscribe(data, {
    onPublish: (topic, payload, messageId, connection) => void core.receive(topic, payload, { messageId, connection }),
    onConnectionLost: (reason) => core.log(`${reason}; reconnecting`),
    log: (line) => core.log(line),
  })
  source = {
    get connected() {
      return subscriber.connected
    },
    get version() {
      return subscriber.version
    },
    start: () => subscriber.start(),
    acknowledge(batch) {
      let start = 0
      for (let i = 1; i <= batch.ackIds.length; i++) {
        if (i === batch.ackIds.length || batch.ackConnections[i] !== batch.ackConnections[start]) {
          subscriber.ack(batch.ackIds.slice(start, i), batch.ackConnections[start])
          start = i
        }
      }
    },
    hold: (on) => subscriber.hold(on),
    publishAlert: (topic, payload) => subscriber.publish(topic, payload),
    close: () => subscriber.close(),
  }
}
core.source = source

onMessage((m: ToIngest) => {
  if (m.kind !== 'stop') return
  void (async () => {
    await core.drain()
    await source.close()
    await core.closeDatabase()
    const { counters } = core
    post({
      kind: 'done',
      worker: data.worker,
      ...counters,
      endToEnd: encodeHistogram(core.endToEnd),
      brokerHop: encodeHistogram(core.brokerHop),
      ...(source.kafkaHop && { kafkaHop: encodeHistogram(source.kafkaHop) }),
      deadLetterReasons: core.deadLetterReasons,
      alertsRaised: core.alertsRaised,
      metrics: core.metrics.snapshot(counters, 0, false),
    })
    stopStats()
    closeChannel()
  })().catch((err: unknown) => post({ kind: 'fatal', worker: data.worker, message: errorMessage(err) }))
})

const statsTimer = setInterval(() => {
  const { counters } = core
  post({
    kind: 'stats',
    worker: data.worker,
    recentLatency: core.takeRecent(),
    metrics: core.metrics.snapshot(counters, core.lagSeconds(), source.connected),
    ...counters,
  })
}, 1000)
function stopStats(): void {
  clearInterval(statsTimer)
  core.metrics.thread.stopRuntime()
}

/**
 * Startup steps retried with backoff while `retriable` says so (up to 2 minutes): a worker respawned
 * during a database outage or a broker fault waits for it, as a commit would.
 */
async function retrying(what: () => Promise<void>, name: string, retriable: (err: unknown) => boolean): Promise<void> {
  const deadline = Date.now() + 120_000
  for (let attempt = 0; ; attempt++) {
    try {
      return await what()
    } catch (err) {
      if (!retriable(err) || Date.now() > deadline) throw err
      const delay = Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
      core.log(`${name} not reachable at startup (${errorMessage(err)}); retry ${attempt + 1} in ${Math.round(delay)} ms`)
      await new Promise((r) => setTimeout(r, delay))
    }
  }
}
const dbRetriable = (err: unknown): boolean => {
  const yes = isRetriableDbError(err) || (err as Error).name === 'InfraError'
  if (yes) core.resetDatabase()
  return yes
}

try {
  await retrying(() => core.restoreTracker(), 'database', dbRetriable)
  // MQTT workers own whole farms; a Kafka consumer may be given any device's partition.
  await retrying(
    () => core.restoreAlerts(data.kafka ? undefined : data.filters.map((f) => f.slice(data.topicPrefix.length).split('/')[1])),
    'database',
    dbRetriable,
  )
  // A first start fails fast (exit 5: the broker is not there); a respawned worker waits for the broker.
  await retrying(
    () => source.start(),
    'broker',
    () => data.respawned === true,
  )
  post({ kind: 'ready', worker: data.worker, mqttVersion: source.version ?? 5, restoredRows: core.restoredRows })
} catch (err) {
  post({ kind: 'fatal', worker: data.worker, message: errorMessage(err) })
  stopStats()
  closeChannel(1)
}
