import { parentPort, workerData } from 'node:worker_threads'
import type pg from 'pg'
import { connect } from '../db/connect.js'
import { isRetriableDbError } from '../db/errors.js'
import { errorMessage } from '../errors.js'
import { epochClock } from '../util/clock.js'
import { encodeHistogram, initHistograms, newHistogram, recordMs } from '../util/histogram.js'
import { Batch } from './batch.js'
import { batchCommitted, commitBatch } from './commit.js'
import { SeqTracker } from './dedupe.js'
import { copyRows } from '../db/copy-rows.js'
import { KINDS, KIND_NAMES } from '../kinds.js'
import { decodeTelemetry, type DecodedReading } from './decode.js'
import { parseFaultHook } from './fault-hook.js'
import type { FromIngest, IngestWorkerData, ToIngest } from './messages.js'
import { MqttSubscriber } from './mqtt-subscriber.js'

const data = workerData as IngestWorkerData
const port = parentPort!
const post = (m: FromIngest): void => port.postMessage(m)
const log = (line: string): void => post({ kind: 'log', worker: data.worker, line })
const clock = epochClock

await initHistograms()
const endToEnd = newHistogram()
const brokerHop = newHistogram()
const recent = newHistogram()
const deadLetterReasons: Record<string, number> = {}
const counters = { received: 0, committedRows: 0, deadLetters: 0, batches: 0, retries: 0, duplicatesSkipped: 0 }
const tracker = new SeqTracker()
const fault = parseFaultHook(data.faultHook)
/** Receive order across this worker; the high bits keep workers apart. */
let rx = data.worker * 2 ** 40

let filling = new Batch(data.runId)
let spare = new Batch(data.runId)
let flushing: Promise<void> | undefined
let batchTimer: NodeJS.Timeout | undefined
let stopping = false
let failed = false
let db: pg.Client | undefined
/** A reading held back by the reorder fault, written after the device's next one. */
let held: { reading: DecodedReading; received: number } | undefined

async function database(): Promise<pg.Client> {
  db ??= await connect(data.databaseUrl, data.dbSchema, `iotbench-ingest-${data.worker}`)
  return db
}

function writeReading(reading: DecodedReading, received: number): void {
  if (!tracker.accept(reading.device, reading.seq)) {
    counters.duplicatesSkipped++ // a redelivery of a reading already in a batch: acknowledge, store once
    return
  }
  if (fault.drop > 0) {
    fault.drop--
    return
  }
  if (held && held.reading.device === reading.device) {
    filling.addReading(reading, received, rx++)
    filling.addReading(held.reading, held.received, rx++)
    held = undefined
    return
  }
  if (fault.reorder > 0 && !held) {
    fault.reorder--
    held = { reading, received }
    return
  }
  filling.addReading(reading, received, rx++)
  if (fault.duplicate > 0) {
    fault.duplicate--
    filling.addReading(reading, received, rx++)
  }
}

function onPublish(topic: string, payload: Buffer, messageId: number | undefined, connection: number): void {
  const received = clock()
  counters.received++
  const decoded = decodeTelemetry(topic, payload, data.topicPrefix)
  if (decoded.ok) {
    recordMs(brokerHop, received - decoded.reading.sent)
    writeReading(decoded.reading, received)
  } else {
    deadLetterReasons[decoded.reason] = (deadLetterReasons[decoded.reason] ?? 0) + 1
    filling.addDeadLetter({ received, topic: topic.replace(/\0/g, '\uFFFD'), payload, reason: decoded.reason })
  }
  if (messageId !== undefined) filling.addAck(messageId, connection)
  if (filling.openedAt === 0) {
    filling.openedAt = received
    batchTimer = setTimeout(() => void flush(), data.batchMs)
  }
  if (filling.size >= data.batchRows) void flush()
}

/** Commits the filling batch, then acknowledges its messages. One COPY in flight, so PUBACKs leave in order. */
function flush(): Promise<void> {
  if (flushing) return flushing
  if (failed) return Promise.resolve()
  if (filling.size === 0 && filling.ackIds.length === 0) return Promise.resolve()
  if (batchTimer) clearTimeout(batchTimer)
  batchTimer = undefined
  const batch = filling
  filling = spare
  spare = batch
  flushing = (async () => {
    await commitWithRetry(batch)
    const committedAt = clock()
    for (const sent of batch.sentTimes) {
      recordMs(endToEnd, committedAt - sent)
      recordMs(recent, committedAt - sent)
    }
    counters.committedRows += batch.rows
    counters.deadLetters += batch.deadLetters.length
    counters.batches++
    ackInOrder(batch)
    batch.reset()
  })().catch(() => {
    failed = true // the fatal message has been posted; the main thread ends the run
  }).finally(() => {
    flushing = undefined
    // Readings that arrived meanwhile form the next batch; send it now if it is already due.
    if (filling.size > 0 && (filling.size >= data.batchRows || clock() - filling.openedAt >= data.batchMs || stopping)) void flush()
  })
  return flushing
}

function ackInOrder(batch: Batch): void {
  let start = 0
  for (let i = 1; i <= batch.ackIds.length; i++) {
    if (i === batch.ackIds.length || batch.ackConnections[i] !== batch.ackConnections[start]) {
      subscriber.ack(batch.ackIds.slice(start, i), batch.ackConnections[start]!)
      start = i
    }
  }
}

async function commitWithRetry(batch: Batch): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const client = await database()
      // After a failure the COMMIT may have gone through before the connection died: look, don't guess.
      if (attempt > 0 && (await batchCommitted(client, batch))) {
        subscriber.hold(false)
        return
      }
      await commitBatch(client, data.runId, data.worker, batch)
      if (attempt > 0) subscriber.hold(false)
      return
    } catch (err) {
      const retriable = isRetriableDbError(err) || (err as Error).name === 'InfraError'
      if (!retriable) {
        post({ kind: 'fatal', worker: data.worker, message: `batch of ${batch.size} rows failed and retrying cannot help: ${errorMessage(err)}` })
        throw err
      }
      counters.retries++
      // The broker keeps every message of this batch until we acknowledge; stop taking more meanwhile.
      subscriber.hold(true)
      const old = db
      db = undefined
      await old?.end().catch(() => undefined)
      const delay = Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
      log(`database write failed (${errorMessage(err)}); retry ${attempt + 1} in ${Math.round(delay)} ms`)
      await new Promise((r) => setTimeout(r, delay))
    }
  }
}

const subscriber = new MqttSubscriber({
  url: data.mqttUrl,
  clientId: data.clientId,
  protocol: data.mqttProtocol,
  filters: data.filters,
  window: data.window,
  onPublish,
  onConnectionLost: (reason) => log(`${reason}; reconnecting`),
  log,
})

port.on('message', (m: ToIngest) => {
  if (m.kind !== 'stop') return
  stopping = true
  void (async () => {
    if (held) {
      filling.addReading(held.reading, held.received, rx++)
      held = undefined
    }
    await flush()
    await flush()
    await subscriber.close()
    await db?.end().catch(() => undefined)
    post({ kind: 'done', worker: data.worker, ...counters, endToEnd: encodeHistogram(endToEnd), brokerHop: encodeHistogram(brokerHop), deadLetterReasons })
    port.close()
  })().catch((err: unknown) => post({ kind: 'fatal', worker: data.worker, message: errorMessage(err) }))
})

const statsTimer = setInterval(() => {
  const recentP99Ms = recent.totalCount > 0 ? recent.getValueAtPercentile(99) / 1000 : 0
  recent.reset()
  post({ kind: 'stats', worker: data.worker, recentP99Ms, ...counters })
}, 1000)
port.once('close', () => clearInterval(statsTimer))

/** What this run already stored (a restarted worker resumes without storing anything twice). */
async function restoreTracker(): Promise<void> {
  const client = await database()
  for (const kind of KIND_NAMES) {
    let device = ''
    let seqs: number[] = []
    const q = `SELECT device, seq FROM ${KINDS[kind].table} WHERE run_id = ${Number(data.runId)} ORDER BY device COLLATE "C", seq`
    for await (const [d, s] of copyRows(client, q)) {
      if (d !== device) {
        if (seqs.length) tracker.restore(device, seqs)
        device = d!
        seqs = []
      }
      seqs.push(Number(s))
    }
    if (seqs.length) tracker.restore(device, seqs)
  }
}

try {
  await restoreTracker()
  await subscriber.start()
  post({ kind: 'ready', worker: data.worker, mqttVersion: subscriber.version })
} catch (err) {
  post({ kind: 'fatal', worker: data.worker, message: errorMessage(err) })
  clearInterval(statsTimer)
  port.close()
}
