import mqtt from 'mqtt'
import { deviceAt } from '../fleet.js'
import { telemetryTopic } from '../fleet.js'
import { epochClock } from '../util/clock.js'
import { encodeHistogram, initHistograms, newHistogram, recordMs } from '../util/histogram.js'
import { encodePayload, generateReading } from './generator.js'
import type { FromSim, SimResult, SimTask, UnackedRange } from './messages.js'
import { intendedMs } from './schedule.js'

/** piscina entry point: publishes one exact shard of the fleet, open loop, then waits for its acks. */
export default async function publishShard(task: SimTask): Promise<SimResult> {
  await initHistograms()
  const clock = epochClock
  const [from, to] = task.devices
  const width = to - from
  const total = width * task.schedule.perDevice
  const devices = Array.from({ length: width }, (_, j) => deviceAt(task.ctx.fleet, from + j))
  const topics = devices.map((d) => telemetryTopic(task.topicPrefix, d))
  const acked = new Uint8Array(total)
  const lag = newHistogram()
  const ackLatency = newHistogram()
  let sent = 0
  let ackCount = 0
  let firstSendMs = 0
  let lastSendMs = 0
  const post = (m: FromSim): void => task.progress.postMessage(m)

  const client = await mqtt.connectAsync(task.mqttUrl, {
    clientId: task.clientId,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    keepalive: 30,
  })
  client.on('error', (err) => post({ kind: 'error', worker: task.worker, message: err.message }))

  const progressTimer = setInterval(() => post({ kind: 'progress', worker: task.worker, sent, acked: ackCount }), 250)
  try {
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = clock()
        // Publish everything that is due; never wait for an ack before the next send (open loop).
        while (sent < total) {
          const seq = Math.floor(sent / width)
          const j = sent % width
          const due = intendedMs(task.schedule, from + j, seq)
          if (due > now) break
          const reading = generateReading(task.ctx, devices[j]!, seq)
          const slot = sent
          const actual = clock()
          if (sent === 0) firstSendMs = actual
          lastSendMs = actual
          recordMs(lag, actual - due)
          client.publish(topics[j]!, encodePayload(reading, due), { qos: task.qos }, (err) => {
            if (err) return
            acked[slot] = 1
            ackCount++
            recordMs(ackLatency, clock() - due)
          })
          sent++
        }
        if (sent >= total) return resolve()
        const next = intendedMs(task.schedule, from + (sent % width), Math.floor(sent / width))
        setTimeout(tick, Math.max(0, Math.min(20, next - clock())))
      }
      tick()
    })
    const deadline = clock() + task.drainTimeoutMs
    while (ackCount < total && clock() < deadline) await new Promise((r) => setTimeout(r, 20))
  } finally {
    clearInterval(progressTimer)
    post({ kind: 'progress', worker: task.worker, sent, acked: ackCount })
    await client.endAsync(true).catch(() => undefined)
  }

  const unacked: UnackedRange[] = []
  for (let j = 0; j < width; j++) {
    let start = -1
    for (let seq = 0; seq <= task.schedule.perDevice; seq++) {
      const missing = seq < task.schedule.perDevice && acked[seq * width + j] === 0
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
  }
  lag.destroy()
  ackLatency.destroy()
  return result
}
