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
import { AlertEngine, type AlertEvent } from '../alerts/engine.js'
import { IngestMetrics } from '../metrics/ingest-metrics.js'

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
const metrics = new IngestMetrics(data.topicPrefix)
const fault = parseFaultHook(data.faultHook)
const alerts = new AlertEngine(data.alertRules, clock)
/** delayAlert fault: raises held back until their device reaches `dueSeq`. */
const delayed = new Map<string, { event: AlertEvent; dueSeq: number }>()
let alertsRaised = 0
/**
 * Receive order across this worker; the high bits keep workers apart, the next ones incarnations of a
 * worker respawned after a fault (each later than the last, so P3 still sees one receive order).
 */
let rx = data.worker * 2 ** 40 + Math.min(63, data.incarnation ?? 0) * 2 ** 34

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
  if (fault.corrupt > 0 && reading.values.length > 0) {
    fault.corrupt--
    const v = reading.values[0]!
    reading = { ...reading, values: [typeof v === 'boolean' ? !v : v + 1, ...reading.values.slice(1)] }
  }
  if (fault.deadLetter > 0) {
    fault.deadLetter--
    const values = Object.fromEntries(KINDS[reading.kind].fields.map((f, i) => [f.name, reading.values[i]]))
    const payload = Buffer.from(JSON.stringify({ device: reading.device, kind: reading.kind, seq: reading.seq, ts: reading.ts, sent: reading.sent, values }))
    filling.addDeadLetter({ received, topic: `${data.topicPrefix}farm/${reading.device.split('-')[0]}/${reading.kind}/${reading.device}/telemetry`, payload, reason: 'fault-hook' })
    return
  }
  if (held && held.reading.device === reading.device) {
    store(reading, received)
    store(held.reading, held.received)
    held = undefined
    return
  }
  if (fault.reorder > 0 && !held) {
    fault.reorder--
    held = { reading, received }
    return
  }
  store(reading, received)
  if (fault.duplicate > 0) {
    fault.duplicate--
    filling.addReading(reading, received, rx++)
  }
}

/** Puts an accepted reading into the filling batch and runs the alert rules on it (never on a redelivery). */
function store(reading: DecodedReading, received: number): void {
  filling.addReading(reading, received, rx++)
  const events = alerts.evaluate(reading)
  if (fault.spuriousAlert > 0 && reading.kind === 'collar') {
    fault.spuriousAlert--
    const rule = data.alertRules.collar.find((r) => r.rule.anomaly === null) ?? data.alertRules.collar[0]
    if (rule) filling.alerts.push({ device: reading.device, kind: reading.kind, rule: rule.name, event: 'raise', seq: reading.seq, ts: reading.ts, sent: reading.sent, raisedAt: clock(), value: Number(reading.values[0]), reading: {} })
  }
  const due = delayed.get(reading.device)
  if (due && reading.seq >= due.dueSeq) {
    delayed.delete(reading.device)
    filling.alerts.push({ ...due.event, seq: reading.seq, ts: reading.ts, sent: reading.sent, raisedAt: clock() })
  }
  for (const e of events) {
    if (e.event === 'raise' && fault.dropAlert > 0) {
      fault.dropAlert--
      continue
    }
    if (e.event === 'raise' && fault.delayAlert > 0 && !delayed.has(e.device)) {
      fault.delayAlert--
      // one reading later than the rule allows
      const allowed = data.alertRules[e.kind].find((r) => r.name === e.rule)?.rule.maxDelayReadings ?? 0
      delayed.set(e.device, { event: e, dueSeq: e.seq + allowed + 1 })
      continue
    }
    filling.alerts.push(e)
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
  for (const d of batch.devices) batch.alertStates.set(d, alerts.snapshot(d))
  filling = spare
  spare = batch
  flushing = (async () => {
    const writeStarted = clock()
    if (fault.stallMs > 0) {
      const ms = fault.stallMs
      fault.stallMs = 0
      await new Promise((r) => setTimeout(r, ms))
    }
    await commitWithRetry(batch)
    publishAlerts(batch.alerts)
    const committedAt = clock()
    for (const sent of batch.sentTimes) {
      recordMs(endToEnd, committedAt - sent)
      recordMs(recent, committedAt - sent)
      metrics.endToEnd.observe((committedAt - sent) / 1000)
    }
    metrics.committed({ collar: batch.writers.collar.rows, milk: batch.writers.milk.rows, chiller: batch.writers.chiller.rows }, batch.size, (committedAt - writeStarted) / 1000)
    for (const d of batch.deadLetters) metrics.deadLetter(d.topic, d.reason)
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

/** Raises go out on {prefix}farm/{farm}/alerts once their batch committed (clears stay in the table). */
function publishAlerts(events: readonly AlertEvent[]): void {
  for (const e of events) {
    if (e.event !== 'raise') continue
    alertsRaised++
    metrics.alert(e.rule)
    subscriber.publish(`${data.topicPrefix}farm/${e.device.split('-')[0]}/alerts`, JSON.stringify({ device: e.device, kind: e.kind, rule: e.rule, seq: e.seq, ts: e.ts, value: e.value, reading: e.reading }))
  }
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
      store(held.reading, held.received)
      held = undefined
    }
    await flush()
    await flush()
    await subscriber.close()
    await db?.end().catch(() => undefined)
    post({ kind: 'done', worker: data.worker, ...counters, endToEnd: encodeHistogram(endToEnd), brokerHop: encodeHistogram(brokerHop), deadLetterReasons, alertsRaised, metrics: metrics.snapshot(counters, 0, false) })
    port.close()
  })().catch((err: unknown) => post({ kind: 'fatal', worker: data.worker, message: errorMessage(err) }))
})

const statsTimer = setInterval(() => {
  const recentLatency = encodeHistogram(recent)
  recent.reset()
  // Ingest lag: the oldest reading held uncommitted, in the filling batch or the one being written (spare).
  const oldestSent = Math.min(filling.sentTimes[0] ?? Infinity, spare.sentTimes[0] ?? Infinity)
  const lagSeconds = Number.isFinite(oldestSent) ? Math.max(0, clock() - oldestSent) / 1000 : 0
  post({ kind: 'stats', worker: data.worker, recentLatency, metrics: metrics.snapshot(counters, lagSeconds, subscriber.connected), ...counters })
}, 1000)
port.once('close', () => {
  clearInterval(statsTimer)
  metrics.thread.stopRuntime()
})

/** What this run already stored (a restarted worker resumes without storing anything twice). */
let restoredRows = 0
async function restoreTracker(): Promise<void> {
  const client = await database()
  const mine = new Set(data.filters.map((f) => f.slice(data.topicPrefix.length).split('/')[1]!))
  restoredRows = 0
  for (const kind of KIND_NAMES) {
    let device = ''
    let seqs: number[] = []
    const q = `SELECT device, seq FROM ${KINDS[kind].table} WHERE run_id = ${Number(data.runId)} ORDER BY device COLLATE "C", seq`
    for await (const [d, s] of copyRows(client, q)) {
      if (mine.has(d!.split('-')[0]!)) restoredRows++
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

/** Rule state of this worker's devices as the last committed batch left it (alert_state). */
async function restoreAlerts(): Promise<void> {
  if (alerts.ruleCount === 0) return
  const client = await database()
  const farms = data.filters.map((f) => f.slice(data.topicPrefix.length).split('/')[1]!)
  const r = await client.query<{ device: string; state: unknown }>(
    `SELECT device, state FROM alert_state WHERE run_id = $1 AND split_part(device, '-', 1) = ANY($2::text[])`,
    [data.runId, farms],
  )
  for (const row of r.rows) alerts.restore(row.device, JSON.stringify(row.state))
  if (r.rows.length) log(`restored the alert rule state of ${r.rows.length} devices`)
}

/**
 * Startup steps retried with backoff while `retriable` says so (up to 2 minutes): a worker respawned
 * during a database outage or a broker fault waits for it, as a commit would.
 */
async function retrying(what: () => Promise<void>, name: string, retriable: (err: unknown) => boolean): Promise<void> {
  const deadline = clock() + 120_000
  for (let attempt = 0; ; attempt++) {
    try {
      return await what()
    } catch (err) {
      if (!retriable(err) || clock() > deadline) throw err
      const delay = Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
      log(`${name} not reachable at startup (${errorMessage(err)}); retry ${attempt + 1} in ${Math.round(delay)} ms`)
      await new Promise((r) => setTimeout(r, delay))
    }
  }
}
const dbRetriable = (err: unknown): boolean => {
  const yes = isRetriableDbError(err) || (err as Error).name === 'InfraError'
  if (yes) {
    const old = db
    db = undefined
    void old?.end().catch(() => undefined)
  }
  return yes
}

try {
  await retrying(restoreTracker, 'database', dbRetriable)
  await retrying(restoreAlerts, 'database', dbRetriable)
  // A first start fails fast (exit 5: the broker is not there); a respawned worker waits for the broker.
  await retrying(() => subscriber.start(), 'broker', () => data.respawned === true)
  post({ kind: 'ready', worker: data.worker, mqttVersion: subscriber.version, restoredRows })
} catch (err) {
  post({ kind: 'fatal', worker: data.worker, message: errorMessage(err) })
  clearInterval(statsTimer)
  port.close()
}
