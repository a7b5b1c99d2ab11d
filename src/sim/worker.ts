import mqtt from 'mqtt'
import { deviceAt } from '../fleet.js'
import { telemetryTopic } from '../fleet.js'
import { epochClock } from '../util/clock.js'
import { encodeHistogram, initHistograms, newHistogram, recordMs } from '../util/histogram.js'
import { offlineIntervals } from './anomalies.js'
import { encodePayload } from './generator.js'
import type { FromSim, SimResult, SimTask, ToSim, UnackedRange } from './messages.js'
import { generatorOracle, replayOracle } from './oracle.js'
import { intendedMs } from './schedule.js'
import { SimMetrics } from '../metrics/sim-metrics.js'
import { DeviceConnections } from './connections.js'

/**
 * piscina entry point: publishes one exact shard of the fleet, open loop, then waits for its acks.
 * A device in an offline window publishes nothing; on reconnect (its first reading after the window,
 * or the end of the run) it flushes the buffered readings at once, in seq order, each with its own
 * intended send time in `sent`, so the outage counts in its latency.
 */
/** How a simulator thread's devices reach the broker: one multiplexed MQTT.js client, or a connection per device. */
interface Link {
  publish(j: number, topic: string, payload: string, qos: 0 | 1, onAck: () => void): void
  /** Connections open now. */
  connected(): number
  end(): Promise<void>
}

async function openLink(task: SimTask, deviceIds: readonly string[], onError: (message: string) => void): Promise<Link> {
  if (task.connections === 'per-device') {
    const conns = new DeviceConnections({ url: task.mqttUrl, clientIds: deviceIds.map((id) => `${task.clientId}-${id}`), sourceAddresses: task.sourceAddresses ?? 1, onError: (i, m) => onError(`device ${deviceIds[i]}: ${m}`) })
    await conns.connectAll()
    return { publish: (j, topic, payload, qos, onAck) => void conns.publish(j, topic, payload, qos, onAck), connected: () => conns.open, end: () => conns.end() }
  }
  const client = await mqtt.connectAsync(task.mqttUrl, {
    clientId: task.clientId,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    keepalive: 30,
  })
  client.on('error', (err) => onError(err.message))
  return {
    publish: (_j, topic, payload, qos, onAck) => void client.publish(topic, payload, { qos }, (err) => !err && onAck()),
    connected: () => (client.connected ? 1 : 0),
    end: () => client.endAsync(true),
  }
}

export default async function publishShard(task: SimTask): Promise<SimResult> {
  await initHistograms()
  const clock = epochClock
  const [from, to] = task.devices
  const width = to - from
  const perDevice = task.schedule.perDevice
  const total = width * perDevice
  const devices = Array.from({ length: width }, (_, j) => deviceAt(task.ctx.fleet, from + j))
  const topics = devices.map((d) => telemetryTopic(task.topicPrefix, d))
  const oracle = task.replay ? replayOracle(task.replay) : generatorOracle(task.ctx)
  const offline = devices.map((d) => (task.replay ? [] : offlineIntervals(task.ctx, d, perDevice)))
  const offlineAt = new Uint32Array(width) // index of each device's next offline interval
  const buffered: number[][] = devices.map(() => [])
  const acked = new Uint8Array(total)
  const lag = newHistogram()
  const ackLatency = newHistogram()
  let cursor = 0 // next reading in schedule order: seq = ⌊cursor / width⌋, device = from + cursor mod width
  let sent = 0
  let ackCount = 0
  let firstSendMs = 0
  let lastSendMs = 0
  const post = (m: FromSim): void => task.progress.postMessage(m)
  const metrics = new SimMetrics(devices.map((d) => d.kind))

  const link = await openLink(task, devices.map((d) => d.id), (message) => post({ kind: 'error', worker: task.worker, message }))
  // The schedule starts once every thread is connected (connecting is not load): the main thread says when.
  const started = new Promise<number>((resolve) => task.progress.once('message', (m: ToSim) => resolve(m.t0Ms)))
  post({ kind: 'ready', worker: task.worker })
  const schedule = { ...task.schedule, t0Ms: await started }

  const publish = (j: number, seq: number): void => {
    const due = intendedMs(schedule, from + j, seq)
    const slot = seq * width + j
    const actual = clock()
    if (sent === 0) firstSendMs = actual
    lastSendMs = actual
    link.publish(j, topics[j]!, encodePayload(oracle.expected(devices[j]!, seq), due), task.qos, () => {
      acked[slot] = 1
      ackCount++
      metrics.acked[j]!.value++
      recordMs(ackLatency, clock() - due)
    })
    sent++
    metrics.published[j]!.value++
  }
  const flush = (j: number): void => {
    for (const seq of buffered[j]!) publish(j, seq)
    buffered[j] = []
  }
  const isOffline = (j: number, seq: number): boolean => {
    const list = offline[j]!
    while (offlineAt[j]! < list.length && list[offlineAt[j]!]![1] <= seq) offlineAt[j]!++
    const w = list[offlineAt[j]!]
    return w !== undefined && w[0] <= seq
  }

  let lastMetrics = metrics.snapshot(false)
  const progress = (): void => post({ kind: 'progress', worker: task.worker, sent, acked: ackCount, metrics: (lastMetrics = metrics.snapshot(link.connected())) })
  const progressTimer = setInterval(progress, 250)
  try {
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = clock()
        // Publish everything that is due; never wait for an ack before the next send (open loop).
        while (cursor < total) {
          const seq = Math.floor(cursor / width)
          const j = cursor % width
          const due = intendedMs(schedule, from + j, seq)
          if (due > now) break
          cursor++
          metrics.offered[j]!.value++
          if (isOffline(j, seq)) {
            buffered[j]!.push(seq)
            continue
          }
          recordMs(lag, clock() - due)
          if (buffered[j]!.length > 0) flush(j) // reconnect: the backlog first, in seq order
          publish(j, seq)
        }
        if (cursor >= total) return resolve()
        const next = intendedMs(schedule, from + (cursor % width), Math.floor(cursor / width))
        setTimeout(tick, Math.max(0, Math.min(20, next - clock())))
      }
      tick()
    })
    // Devices still offline when the load ends reconnect now.
    for (let j = 0; j < width; j++) flush(j)
    const deadline = clock() + task.drainTimeoutMs
    while (ackCount < total && clock() < deadline) await new Promise((r) => setTimeout(r, 20))
  } finally {
    clearInterval(progressTimer)
    await link.end().catch(() => undefined)
    progress() // the last one: final counts, connection closed
    metrics.thread.stopRuntime()
  }

  const unacked: UnackedRange[] = []
  for (let j = 0; j < width; j++) {
    let start = -1
    for (let seq = 0; seq <= perDevice; seq++) {
      const missing = seq < perDevice && acked[seq * width + j] === 0
      if (missing && start < 0) start = seq
      if (!missing && start >= 0) {
        unacked.push([from + j, start, seq])
        start = -1
      }
    }
  }
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
    metrics: lastMetrics,
  }
  lag.destroy()
  ackLatency.destroy()
  return result
}
