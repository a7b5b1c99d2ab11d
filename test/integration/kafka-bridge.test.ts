import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import mqtt from 'mqtt'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { KafkaBridge } from '../../src/transport/kafka/bridge.js'
import { FRAMES_HEADER, partitionOf, unpackFrames } from '../../src/transport/kafka/frames.js'
import { ROOT, runCli } from '../support/cli.js'
import { requireService, testKafkaTopic, uniqueName } from '../support/services.js'

// MQTT → Kafka through a real Mosquitto and a real Apache Kafka (infra/kafka/start-kafka.sh).
/**
 * Publishes 40 devices × 250 QoS 1 messages interleaved through a bridge into a 4-partition topic and
 * reads them back: every one once, acknowledged only after Kafka had it, in seq order per device, in the
 * partition its key gives. Packed, several messages share a record (frames.ts).
 */
async function bridgeKeepsOrder(t: TestContext, packed: boolean): Promise<void> {
  const broker = await requireService(t, 'mqtt')
  const kafkaUrl = await requireService(t, 'kafka')
  if (!broker || !kafkaUrl) return
  const prefix = `${uniqueName('kb')}/`
  const { brokers, kafka, kafkaTopic } = await testKafkaTopic(kafkaUrl, 'telemetry', 4)

  const bridge = new KafkaBridge({
    mqttUrl: broker,
    mqttProtocol: 'auto',
    clientId: uniqueName('bridge'),
    filters: [`${prefix}farm/+/+/+/telemetry`],
    topicPrefix: prefix,
    brokers,
    kafkaTopic,
    maxBatch: 2000,
    window: 20_000,
    ...(packed && { packPartitions: 4 }),
    log: () => undefined,
  })
  await bridge.start()
  const devices = 40
  const perDevice = 250
  const publisher = await mqtt.connectAsync(broker, { clientId: uniqueName('pub'), protocolVersion: 4 })
  let acked = 0
  await Promise.all(
    Array.from({ length: perDevice * devices }, (_, i) => {
      const device = `farm01-collar-${String(i % devices).padStart(4, '0')}`
      const seq = Math.floor(i / devices)
      return publisher
        .publishAsync(`${prefix}farm/farm01/collar/${device}/telemetry`, JSON.stringify({ device, seq }), { qos: 1 })
        .then(() => acked++)
    }),
  )
  await publisher.endAsync()
  assert.equal(acked, devices * perDevice)
  const stats = await bridge.stop()
  assert.equal(stats.produced, devices * perDevice, 'every message received was produced')
  assert.equal(stats.acked, stats.produced, 'and acknowledged to MQTT only then')

  const consumer = kafka.consumer({ groupId: uniqueName('check'), sessionTimeout: 10_000 })
  await consumer.connect()
  await consumer.subscribe({ topic: kafkaTopic, fromBeginning: true })
  const lastSeq = new Map<string, number>()
  const partitionOfKey = partitionOf(4)
  let received = 0
  let records = 0
  let outOfOrder = 0
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        const take = (topic: string, payload: Buffer, key: string): void => {
          const { device, seq } = JSON.parse(payload.toString()) as { device: string; seq: number }
          assert.equal(key, device, 'keyed by the device named in the topic')
          assert.equal(partition, partitionOfKey(device), 'in the partition of its key')
          assert.equal(topic, `${prefix}farm/farm01/collar/${device}/telemetry`)
          if (seq <= (lastSeq.get(device) ?? -1)) outOfOrder++
          lastSeq.set(device, seq)
          if (++received === devices * perDevice) resolve()
        }
        records++
        if (!packed) return take(message.headers?.['mqtt-topic']?.toString() ?? '', message.value!, message.key!.toString())
        assert.equal(message.key, null)
        const frames = unpackFrames(message.value!, (topic, payload) => take(topic, payload, topic.split('/').at(-2)!))
        assert.equal(String(frames), message.headers?.[FRAMES_HEADER]?.toString())
      },
    })
  })
  const deadline = setTimeout(() => undefined, 60_000)
  await Promise.race([
    done,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${received} records in 60 s`)), 60_000).unref()),
  ])
  clearTimeout(deadline)
  await consumer.disconnect()
  assert.equal(outOfOrder, 0, 'per-device order holds through the key')
  assert.equal(lastSeq.size, devices)
  for (const s of lastSeq.values()) assert.equal(s, perDevice - 1)
  if (packed) assert.ok(records < received / 10, `${received} messages in ${records} records`)
  else assert.equal(records, received)
}

describe('the MQTT → Kafka bridge', () => {
  test('moves every QoS 1 message into Kafka keyed by device, in order per device, acknowledging after Kafka has it', (t) =>
    bridgeKeepsOrder(t, false))

  test('packed (the run’s topic): many messages a record, the same per-device order and partitions', (t) => bridgeKeepsOrder(t, true))

  test('iotbench bridge: invalid options all at once (exit 4); runs until SIGINT, then drains (exit 0)', async (t) => {
    const bad = await runCli(['bridge', '--mqtt-url', 'http://x', '--kafka-brokers', 'nohost', '--partitions', '0'])
    assert.equal(bad.code, 4)
    assert.match(bad.stderr, /--mqtt-url must look like mqtt:\/\/host:port/)
    assert.match(bad.stderr, /--kafka-brokers: "nohost" is not host:port/)
    assert.match(bad.stderr, /--partitions must be a whole number/)

    const broker = await requireService(t, 'mqtt')
    const kafkaUrl = await requireService(t, 'kafka')
    if (!broker || !kafkaUrl) return
    const prefix = `${uniqueName('kbc')}/`
    const kafkaTopic = uniqueName('cli')
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'iotbench.js'),
        'bridge',
        '--mqtt-url',
        broker,
        '--kafka-brokers',
        new URL(kafkaUrl).host,
        '--kafka-topic',
        kafkaTopic,
        '--topic-prefix',
        prefix,
        '--partitions',
        '2',
      ],
      { cwd: ROOT },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString()
        if (/bridging /.test(stderr)) resolve()
      })
      child.once('exit', () => reject(new Error(`bridge exited early: ${stderr}`)))
    })
    await ready
    const publisher = await mqtt.connectAsync(broker, { clientId: uniqueName('pub'), protocolVersion: 4 })
    for (let seq = 0; seq < 50; seq++)
      await publisher.publishAsync(`${prefix}farm/farm02/milk/farm02-milk-0001/telemetry`, JSON.stringify({ seq }), { qos: 1 })
    await publisher.endAsync()
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGINT')
    assert.equal(await exited, 0, stderr)
    assert.match(stdout, /bridge stopped: received 50, in Kafka 50, acknowledged 50/)
  })
})
