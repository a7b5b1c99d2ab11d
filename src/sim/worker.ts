import { deviceAt } from '../fleet.js'
import { telemetryTopic } from '../fleet.js'
import { epochClock } from '../util/clock.js'
import { encodeHistogram, initHistograms, newHistogram, recordMs } from '../util/histogram.js'
import { SeqRanges } from './seq-ranges.js'
import { offlineIntervals } from './anomalies.js'
import { encodePayload } from './generator.js'
import type { FromSim, SimResult, SimTask, ToSim, UnackedRange } from './messages.js'
import { generatorOracle, replayOracle } from './oracle.js'
import { dueSeconds, intendedMs } from './schedule.js'
import { SimMetrics } from '../metrics/sim-metrics.js'
import { Backoff, DeviceQueues } from './device-queue.js'
import { BrokerLink } from './broker-link.js'
import { uniform } from './random.js'
import { DeviceConnections } from './connections.js'
import { nameThread } from '../metrics/cpu.js'

nameThread('simulators')

/** Longest a simulator thread publishes without yielding to its event loop (acks, socket writes, progress). */
const SLICE_MS = 10

/** Random stream of the reconnect jitter (deterministic per seed and worker, like everything else). */
const JITTER_STREAM = 0x6a17

/**
 * How a simulator thread's devices reach the broker: one multiplexed connection with a persistent
 * session, reconnects and republishing (BrokerLink), or one raw connection per device (as real collars
 * connect; src/sim/connections.ts: no reconnect — a dropped device's readings count as never acknowledged).
 */
interface Link {
  /** Whether readings can be published now (BrokerLink: connected; per device: every connection open). */
  readonly connected: boolean
  /** Connections open now (the metrics gauge). */
  open(): number
  /** Established connections so far, the first included (reconnects = this − 1 for one link). */
  readonly connections: number
  start(timeoutMs: number): Promise<void>
  publish(j: number, topic: string, payload: string, qos: 0 | 1, onAck: () => void): void
  /** Whether device j's connection takes another publish now (back-pressure: src/sim/back-pressure.ts). */
  ready(j: number): boolean
  /** Runs `resume` once when device j's connection takes publishes again: one waiter, one 'drain' listener. */
  whenReady(j: number, resume: () => void): void
  end(): Promise<void>
}

function perDeviceLink(task: SimTask, deviceIds: readonly string[], onError: (message: string) => void): Link {
  const conns = new DeviceConnections({
    url: task.mqttUrl,
    clientIds: deviceIds.map((id) => `${task.clientId}-${id}`),
    sourceAddresses: task.sourceAddresses ?? 1,
    window: task.publishWindow,
    onError: (i, m) => onError(`device ${deviceIds[i]}: ${m}`),
  })
  let started = false
  return {
    get connected() {
      return started
    },
    open: () => conns.open,
    connections: 1,
    start: async () => {
      await conns.connectAll()
      started = true
    },
    publish: (j, topic, payload, qos, onAck) => void conns.publish(j, topic, payload, qos, onAck),
    ready: (j) => conns.ready(j),
    whenReady: (j, resume) => conns.whenReady(j, resume),
    end: () => conns.end(),
  }
}

const sharedLink = (l: BrokerLink): Link => ({
  get connected() {
    return l.connected
  },
  open: () => (l.connected ? 1 : 0),
  get connections() {
    return l.connections
  },
  start: (timeoutMs) => l.start(timeoutMs),
  publish: (_j, topic, payload, qos, onAck) => l.publish(topic, payload, qos, onAck),
  // While disconnected readings go to the device queues, so only a live connection holds them back.
  ready: () => !l.connected || l.gate.open(),
  whenReady: (_j, resume) => l.gate.whenOpen(resume),
  end: () => l.end(),
})

/**
 * piscina entry point: publishes one exact shard of the fleet, open loop, then waits for its acks.
 * A device in an offline window publishes nothing; on reconnect (its first reading after the window,
 * or the end of the run) it flushes the buffered readings at once, in seq order, each with its own
 * intended send time in `sent`, so the outage counts in its latency.
 *
 * Devices behave like devices when the broker goes away: QoS 1 with a persistent session (clean
 * session 0, so what was in flight is resent on reconnect), reconnect with exponential backoff and
 * jitter, and while disconnected every reading waits in its device's bounded queue (DeviceQueues:
 * drop-oldest or drop-newest when full, every drop counted and reported), flushed in seq order once
 * the connection is back.
 */
export default async function publishShard(task: SimTask): Promise<SimResult> {
  await initHistograms()
  const clock = epochClock
  const [from, to] = task.devices
  const width = to - from
  const perDevice = task.schedule.perDevice
  const total = width * perDevice
  let limit = total // lowered by an interrupt: the slots below it are published, the rest never are
  const devices = Array.from({ length: width }, (_, j) => deviceAt(task.ctx.fleet, from + j))
  const topics = devices.map((d) => telemetryTopic(task.topicPrefix, d))
  const oracle = task.replay ? replayOracle(task.replay) : generatorOracle(task.ctx)
  const offline = devices.map((d) => (task.replay ? [] : offlineIntervals(task.ctx, d, perDevice)))
  const offlineAt = new Uint32Array(width) // index of each device's next offline interval
  const queues = new DeviceQueues(width, task.deviceQueue, task.deviceQueuePolicy)
  /** Whether each device is inside its own offline window now (its queue waits for the window to end). */
  const inOfflineWindow = new Uint8Array(width)
  /** Seqs of each device acknowledged (a republished reading is acknowledged again: counted once). */
  const acked = new SeqRanges(width)
  const lag = newHistogram()
  const ackLatency = newHistogram()
  let cursor = 0 // next reading in schedule order: seq = ⌊cursor / width⌋, device = from + cursor mod width
  let sent = 0
  let ackCount = 0
  let firstSendMs = 0
  let lastSendMs = 0
  let lastAckMs = 0
  const post = (m: FromSim): void => task.progress.postMessage(m)
  const metrics = new SimMetrics(devices.map((d) => d.kind))

  // A persistent session at QoS 1: the broker keeps the session across a reconnect, and every reading
  // not yet acknowledged when a connection dies is published again, first, in seq order (BrokerLink).
  // QoS 0 has nothing to resend: a clean session, and what was on the wire is lost (counted).
  const persistent = task.qos > 0
  let jitterSeq = 0
  /** Slots published on the current connection and not yet acknowledged (QoS 1). */
  const pending = new Set<number>()
  /** Seqs of each device published at least once (a republished reading is not counted as published again). */
  const publishedOnce = new SeqRanges(width)
  let republished = 0
  const onError = (message: string): void => post({ kind: 'error', worker: task.worker, message })
  const link: Link =
    task.connections === 'per-device'
      ? perDeviceLink(
          task,
          devices.map((d) => d.id),
          onError,
        )
      : sharedLink(
          new BrokerLink({
            url: task.mqttUrl,
            ...(task.mqttSecurity && { security: task.mqttSecurity }),
            clientId: task.clientId,
            persistent,
            window: task.publishWindow,
            backoff: new Backoff(() => uniform(task.ctx.seed, task.worker, jitterSeq++, JITTER_STREAM)),
            onError: (message) => post({ kind: 'error', worker: task.worker, message }),
            onLost: () => {
              // Back to the front of each device's queue, oldest first.
              const bySeq = [...pending].sort((a, b) => a - b)
              pending.clear()
              const perDevice = new Map<number, number[]>()
              for (const slot of bySeq) {
                const j = slot % width
                const list = perDevice.get(j) ?? []
                list.push(Math.floor(slot / width))
                perDevice.set(j, list)
              }
              for (const [j, seqs] of perDevice) queues.requeue(j, seqs)
            },
            onConnect: () => {
              for (let j = 0; j < width; j++) if (!inOfflineWindow[j]) flush(j)
            },
          }),
        )

  const publish = (j: number, seq: number): void => {
    const due = intendedMs(schedule, from + j, seq)
    const slot = seq * width + j
    const actual = clock()
    if (sent === 0) firstSendMs = actual
    lastSendMs = actual
    if (persistent) pending.add(slot)
    link.publish(j, topics[j], encodePayload(oracle.expected(devices[j], seq), due), task.qos, () => {
      pending.delete(slot)
      if (!acked.add(j, seq)) return
      ackCount++
      metrics.acked[j].value++
      lastAckMs = clock()
      recordMs(ackLatency, lastAckMs - due)
    })
    if (!publishedOnce.add(j, seq)) {
      republished++
      return
    }
    sent++
    metrics.published[j].value++
  }
  const flush = (j: number): void => {
    if (!link.connected || queues.size(j) === 0) return
    for (const seq of queues.drain(j)) publish(j, seq)
  }
  /** A reading that is due and whose device is online: published, or queued while disconnected. */
  const emit = (j: number, seq: number): void => {
    if (!link.connected) return queues.push(j, seq)
    flush(j) // the backlog first, in seq order
    publish(j, seq)
  }
  const isOffline = (j: number, seq: number): boolean => {
    const list = offline[j]
    while (offlineAt[j] < list.length && list[offlineAt[j]][1] <= seq) offlineAt[j]++
    const w = list[offlineAt[j]]
    return w !== undefined && w[0] <= seq
  }

  await link.start(30_000)
  // The schedule starts once every thread is connected (connecting is not load): the main thread says when.
  const started = new Promise<number>((resolve) =>
    task.progress.on('message', (m: ToSim) => {
      if (m.kind === 'start') resolve(m.t0Ms)
      else limit = Math.min(limit, width * m.perDevice)
    }),
  )
  post({ kind: 'ready', worker: task.worker })
  const schedule = { ...task.schedule, t0Ms: await started }
  let lastMetrics = metrics.snapshot(false)
  const progress = (): void =>
    post({ kind: 'progress', worker: task.worker, sent, acked: ackCount, metrics: (lastMetrics = metrics.snapshot(link.open())) })
  const progressTimer = setInterval(progress, 250)
  // Every wait below ends at this deadline: the planned end of the load plus the drain timeout.
  const deadlineMs =
    schedule.t0Ms + dueSeconds(schedule.rate, schedule.devices * schedule.perDevice, schedule.spikes) * 1000 + task.drainTimeoutMs
  let unfinished: string | undefined
  /** Set at the deadline: readings from `cursor` on were never handed to the broker (they stay in `unacked`, never "lost"). */
  let stoppedAtDeadline = false
  try {
    await new Promise<void>((resolve) => {
      const stop = setTimeout(
        () => {
          unfinished = `publishing: ${limit - cursor} of ${limit} readings not yet handed to the broker at the deadline (${(task.drainTimeoutMs / 1000).toFixed(0)} s after the planned end of the load)`
          stoppedAtDeadline = true
          resolve()
        },
        Math.max(0, deadlineMs - clock()),
      )
      const tick = (): void => {
        if (cursor >= limit || stoppedAtDeadline) return
        const now = clock()
        // A slice of work, then the event loop gets its turn (acknowledgements, socket writes, progress).
        const yieldAt = now + SLICE_MS
        // Publish everything that is due; never wait for an ack before the next send (open loop) — but
        // never hand a congested connection more (back-pressure: the schedule falls behind, its lag says by how much).
        while (cursor < limit) {
          const seq = Math.floor(cursor / width)
          const j = cursor % width
          const due = intendedMs(schedule, from + j, seq)
          if (due > now) break
          if (!link.ready(j)) {
            return link.whenReady(j, tick)
          }
          cursor++
          metrics.offered[j].value++
          if (isOffline(j, seq)) {
            inOfflineWindow[j] = 1
            queues.push(j, seq)
            continue
          }
          inOfflineWindow[j] = 0
          recordMs(lag, clock() - due)
          emit(j, seq)
          if ((cursor & 63) === 0 && clock() > yieldAt) return void setImmediate(tick)
        }
        if (cursor >= limit) {
          clearTimeout(stop)
          return resolve()
        }
        const next = intendedMs(schedule, from + (cursor % width), Math.floor(cursor / width))
        setTimeout(tick, Math.max(0, Math.min(20, next - clock())))
      }
      tick()
    })
    // Devices still offline when the load ends reconnect now (once the broker connection is back).
    inOfflineWindow.fill(0)
    while (!link.connected && clock() < deadlineMs) await new Promise((r) => setTimeout(r, 20))
    for (let j = 0; j < width; j++) flush(j)
    const expected = Math.min(cursor, limit) - queues.dropped
    while (ackCount < expected && clock() < deadlineMs) await new Promise((r) => setTimeout(r, 20))
    if (ackCount < expected && !unfinished)
      unfinished = `${task.qos > 0 ? 'acknowledgements' : 'socket writes'}: ${expected - ackCount} of ${expected} published readings not ${task.qos > 0 ? 'acknowledged by the broker' : 'written to the socket'} at the deadline`
  } finally {
    clearInterval(progressTimer)
    await link.end().catch(() => undefined)
    progress() // the last one: final counts, connection closed
    metrics.thread.stopRuntime()
  }

  const unacked: UnackedRange[] = []
  const offeredPerDevice = limit / width
  for (let j = 0; j < width; j++) for (const [start, end] of acked.missing(j, offeredPerDevice)) unacked.push([from + j, start, end])
  const result: SimResult = {
    worker: task.worker,
    devices: task.devices,
    published: sent,
    acked: ackCount,
    unacked,
    scheduleLag: encodeHistogram(lag),
    ackLatency: encodeHistogram(ackLatency),
    firstSendMs,
    lastSendMs,
    lastAckMs,
    ...(unfinished && { unfinished }),
    metrics: lastMetrics,
    queueDropped: queues.dropped,
    overflow: queues.droppedAsRanges(from),
    reconnects: Math.max(0, link.connections - 1),
    republished,
  }
  lag.destroy()
  ackLatency.destroy()
  return result
}
