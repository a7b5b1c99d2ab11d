/**
 * npm run bench:kafka-bridge — CPU time a reading costs on the Kafka path's own hops, one record per
 * reading (what `iotbench bridge` writes) against packed records (the run's topic, frames.ts).
 *
 * A publisher process sends IOTBENCH_BENCH_READINGS (default 100,000) QoS 1 telemetry messages of 520
 * devices into the broker as fast as it is acknowledged; the bridge in this process moves them into a
 * topic of its own; then a kafkajs consumer in this process reads them back. This process's CPU time
 * (user + system, process.cpuUsage) during each phase, per reading, is the figure: CPU time, not wall
 * time, so a busy shared machine slows the phases but changes the figures little. Per-device order of the
 * consumed readings is checked too.
 *
 * Services: IOTBENCH_TEST_MQTT_URL, IOTBENCH_TEST_KAFKA_URL (as the tests).
 * Writes bench-results/kafka-bridge-<time>.json and bench-results/kafka-bridge-latest.json.
 */
import { fork } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import mqtt from 'mqtt'
import { KafkaBridge } from '../src/transport/kafka/bridge.js'
import { FRAMES_HEADER, unpackFrames } from '../src/transport/kafka/frames.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DEVICES = 520
const PARTITIONS = 12

/** The telemetry topic and a payload of iotbench's average size (about 220 bytes). */
const message = (prefix: string, i: number): [string, string] => {
  const device = `farm01-collar-${String(i % DEVICES).padStart(4, '0')}`
  const seq = Math.floor(i / DEVICES)
  const payload = JSON.stringify({
    device,
    kind: 'collar',
    seq,
    ts: 1_800_000_000_000 + seq * 1000,
    sent: Date.now(),
    values: { temperature: 38.6123, activity: 41.25, rumination: 7.5, lying: true, battery: 3.61, rssi: -71, x: 12.5 },
  })
  return [`${prefix}farm/farm01/collar/${device}/telemetry`, payload]
}

async function publish(url: string, prefix: string, readings: number): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `${prefix}pub`.replace(/\//g, '-'), protocolVersion: 4 })
  const window = 2000
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < readings) {
      const [topic, payload] = message(prefix, next++)
      await client.publishAsync(topic, payload, { qos: 1 })
    }
  }
  await Promise.all(Array.from({ length: window }, worker))
  await client.endAsync()
}

/** The Kafka broker's JVM on this machine (infra/kafka/start-kafka.sh), when exactly one runs: its CPU goes with the figures. */
function brokerPid(): number | undefined {
  const pids = readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('kafka.Kafka')
    } catch {
      return false
    }
  })
  return pids.length === 1 ? Number(pids[0]) : undefined
}

/** CPU milliseconds a process has used (utime + stime, in clock ticks of 10 ms). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since)
  return (d.user + d.system) / 1000
}

async function phase(mqttUrl: string, brokers: string[], packed: boolean, readings: number): Promise<Record<string, unknown>> {
  const name = `bench-kb-${packed ? 'packed' : 'records'}-${Date.now().toString(36)}`
  const prefix = `${name}/`
  const kafka = new Kafka({ clientId: name, brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: name, numPartitions: PARTITIONS, replicationFactor: -1 }], waitForLeaders: true })
  const bridge = new KafkaBridge({
    mqttUrl,
    mqttProtocol: 'auto',
    clientId: `${name}-bridge`,
    filters: [`${prefix}farm/+/+/+/telemetry`],
    topicPrefix: prefix,
    brokers,
    kafkaTopic: name,
    maxBatch: 5000,
    window: 20_000,
    ...(packed && { packPartitions: PARTITIONS }),
    log: () => undefined,
  })
  await bridge.start()
  const jvm = brokerPid()
  const jvmStart = processCpuMs(jvm)
  const bridgeStart = process.cpuUsage()
  const wallStart = Date.now()
  const publisher = fork(fileURLToPath(import.meta.url), ['publish', mqttUrl, prefix, String(readings)], { stdio: 'inherit' })
  const published = new Promise<void>((resolve, reject) =>
    publisher.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`publisher exit ${code}`)))),
  )
  const deadline = Date.now() + 300_000
  while (bridge.stats.acked < readings && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const bridgeCpuMs = cpuMs(bridgeStart)
  const bridgeWallMs = Date.now() - wallStart
  const jvmBridgeMs = processCpuMs(jvm) - jvmStart
  await published
  const stats = await bridge.stop()

  const consumer = kafka.consumer({ groupId: `${name}-read`, maxWaitTimeInMs: 50 })
  await consumer.connect()
  await consumer.subscribe({ topic: name, fromBeginning: true })
  const jvmReadStart = processCpuMs(jvm)
  const readStart = process.cpuUsage()
  const readWallStart = Date.now()
  const lastSeq = new Map<string, number>()
  let read = 0
  let outOfOrder = 0
  const take = (topic: string, payload: Buffer): void => {
    const device = topic.split('/').at(-2) ?? ''
    const seq = (JSON.parse(payload.toString()) as { seq: number }).seq
    if (seq <= (lastSeq.get(device) ?? -1)) outOfOrder++
    lastSeq.set(device, seq)
    read++
  }
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const value = m.value ?? Buffer.alloc(0)
        if (m.headers?.[FRAMES_HEADER] !== undefined) unpackFrames(value, (topic, payload) => take(topic, payload))
        else take(m.headers?.['mqtt-topic']?.toString() ?? '', value)
      }
    },
  })
  while (read < readings && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const readCpuMs = cpuMs(readStart)
  const readWallMs = Date.now() - readWallStart
  const jvmReadMs = processCpuMs(jvm) - jvmReadStart
  const ends = await admin.fetchTopicOffsets(name)
  await consumer.disconnect()
  await admin.deleteTopics({ topics: [name] }).catch(() => undefined)
  await admin.disconnect()
  return {
    records: packed ? 'packed (frames.ts)' : 'one per reading',
    readings,
    produced: stats.produced,
    kafkaRecords: ends.reduce((n, p) => n + Number(p.high), 0),
    read,
    outOfOrder,
    bridgeCpuUsPerReading: Math.round((bridgeCpuMs * 1000) / readings),
    bridgeWallS: bridgeWallMs / 1000,
    consumeCpuUsPerReading: Math.round((readCpuMs * 1000) / readings),
    consumeWallS: readWallMs / 1000,
    // The broker's whole JVM: other users of the same broker add to it.
    brokerCpuUsPerReadingProduce: Math.round((jvmBridgeMs * 1000) / readings),
    brokerCpuUsPerReadingFetch: Math.round((jvmReadMs * 1000) / readings),
  }
}

if (process.argv[2] === 'publish') {
  await publish(process.argv[3], process.argv[4], Number(process.argv[5]))
} else {
  const mqttUrl = process.env['IOTBENCH_TEST_MQTT_URL']
  const kafkaUrl = process.env['IOTBENCH_TEST_KAFKA_URL']
  if (!mqttUrl || !kafkaUrl) {
    process.stderr.write('set IOTBENCH_TEST_MQTT_URL and IOTBENCH_TEST_KAFKA_URL (see docs/kafka.md)\n')
    process.exit(5)
  }
  const brokers = [kafkaUrl.includes('://') ? new URL(kafkaUrl).host : kafkaUrl]
  const readings = Number(process.env['IOTBENCH_BENCH_READINGS'] ?? 100_000)
  const phases = []
  for (const packed of [false, true]) {
    const before = loadavg()[0]
    const r = { ...(await phase(mqttUrl, brokers, packed, readings)), loadAverage: { before, after: loadavg()[0] } }
    process.stdout.write(`${JSON.stringify(r)}\n`)
    phases.push(r)
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  const summary = { bench: 'kafka-bridge', at: new Date().toISOString(), cpus: cpus().length, node: process.version, phases }
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
  writeFileSync(join(ROOT, 'bench-results', `kafka-bridge-${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`)
  writeFileSync(join(ROOT, 'bench-results', 'kafka-bridge-latest.json'), `${JSON.stringify(summary, null, 2)}\n`)
}
