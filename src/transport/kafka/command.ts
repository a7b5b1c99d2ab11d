import { Kafka, logLevel } from 'kafkajs'
import { ConfigError, InfraError, errorMessage } from '../../errors.js'
import { KafkaBridge, type BridgeStats } from './bridge.js'
import { redactUrl } from '../../util/redact.js'
import { checkBroker, mqttSecurityChecks, mqttSecurityOf, type MqttSecurity } from '../mqtt-options.js'
import { envName } from '../../config/options.js'

export interface BridgeCommandOptions {
  readonly mqttUrl?: string
  readonly mqttProtocol?: string
  readonly mqttUsername?: string
  readonly mqttPassword?: string
  readonly mqttCa?: string
  readonly mqttCert?: string
  readonly mqttKey?: string
  readonly topicPrefix?: string
  readonly kafkaBrokers?: string
  readonly kafkaTopic?: string
  readonly partitions?: string
}

export interface ResolvedBridge {
  readonly mqttUrl: string
  readonly mqttSecurity: MqttSecurity
  readonly mqttProtocol: 'auto' | '4' | '5'
  readonly topicPrefix: string
  readonly brokers: string[]
  readonly kafkaTopic: string
  readonly partitions: number
}

/** Validates `iotbench bridge` options, every problem at once. */
export function resolveBridge(o: BridgeCommandOptions, env: NodeJS.ProcessEnv = {}): ResolvedBridge {
  const problems: string[] = []
  if (!o.mqttUrl) problems.push('--mqtt-url is required (the broker whose telemetry to bridge)')
  else if (!/^(mqtts?|tcp|ssl|tls):\/\/[^/]+/.test(o.mqttUrl))
    problems.push(`--mqtt-url must look like mqtt://host:port or mqtts://host:port (got ${JSON.stringify(redactUrl(o.mqttUrl))})`)
  const security = {
    mqttUrl: o.mqttUrl,
    mqttUsername: o.mqttUsername ?? env[envName('mqttUsername')],
    mqttPassword: o.mqttPassword ?? env[envName('mqttPassword')],
    mqttCa: o.mqttCa,
    mqttCert: o.mqttCert,
    mqttKey: o.mqttKey,
  }
  if (o.mqttUrl && problems.length === 0) problems.push(...mqttSecurityChecks(security))
  const protocol = o.mqttProtocol ?? 'auto'
  if (!['auto', '4', '5'].includes(protocol)) problems.push(`--mqtt-protocol must be auto, 4 or 5 (got ${JSON.stringify(protocol)})`)
  const brokers = (o.kafkaBrokers ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean)
  if (brokers.length === 0) problems.push('--kafka-brokers is required, e.g. 127.0.0.1:9092')
  for (const b of brokers) if (!/^[^:\s]+:\d+$/.test(b)) problems.push(`--kafka-brokers: ${JSON.stringify(b)} is not host:port`)
  const topic = o.kafkaTopic ?? 'iotbench-telemetry'
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic))
    problems.push(`--kafka-topic must be 1–249 characters of [A-Za-z0-9._-] (got ${JSON.stringify(topic)})`)
  const partitions = Number(o.partitions ?? 8)
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000)
    problems.push(`--partitions must be a whole number from 1 to 10000 (got ${JSON.stringify(o.partitions)})`)
  const prefix = o.topicPrefix ?? ''
  if (!/^([A-Za-z0-9_.-]+\/)*$/.test(prefix))
    problems.push(`--topic-prefix must be empty or segments ending in "/" (got ${JSON.stringify(prefix)})`)
  if (problems.length || !o.mqttUrl) throw new ConfigError(problems)
  return {
    mqttUrl: o.mqttUrl,
    mqttSecurity: mqttSecurityOf(security),
    mqttProtocol: protocol as 'auto' | '4' | '5',
    topicPrefix: prefix,
    brokers,
    kafkaTopic: topic,
    partitions,
  }
}

/** `iotbench bridge`: runs until SIGINT/SIGTERM, then drains what it received into Kafka. */
export async function runBridgeCommand(b: ResolvedBridge, log: (line: string) => void, signal: AbortSignal): Promise<BridgeStats> {
  await checkBroker(b.mqttUrl, b.mqttSecurity)
  const kafka = new Kafka({ clientId: 'iotbench-bridge-admin', brokers: b.brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  try {
    await admin.connect()
    const created = await admin.createTopics({
      topics: [{ topic: b.kafkaTopic, numPartitions: b.partitions, replicationFactor: -1 }],
      waitForLeaders: true,
    })
    log(created ? `created Kafka topic ${b.kafkaTopic} (${b.partitions} partitions)` : `Kafka topic ${b.kafkaTopic} exists`)
  } catch (err) {
    throw new InfraError(
      `cannot reach Kafka at ${b.brokers.join(',')}: ${errorMessage(err)}`,
      'is the broker running? (bash infra/kafka/start-kafka.sh starts one on 127.0.0.1:19092)',
      { cause: err },
    )
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
  const bridge = new KafkaBridge({
    mqttUrl: b.mqttUrl,
    mqttSecurity: b.mqttSecurity,
    mqttProtocol: b.mqttProtocol,
    clientId: `iotbench-bridge-${process.pid}`,
    filters: [`${b.topicPrefix}farm/+/+/+/telemetry`],
    topicPrefix: b.topicPrefix,
    brokers: b.brokers,
    kafkaTopic: b.kafkaTopic,
    maxBatch: 5000,
    window: 20_000,
    log,
  })
  try {
    await bridge.start()
  } catch (err) {
    throw new InfraError(`the bridge could not start: ${errorMessage(err)}`, 'check --mqtt-url and --kafka-brokers', { cause: err })
  }
  log(`bridging ${redactUrl(b.mqttUrl)} ${b.topicPrefix}farm/+/+/+/telemetry → Kafka ${b.kafkaTopic}; Ctrl-C to stop`)
  const timer = setInterval(
    () =>
      log(
        `bridge: received ${bridge.stats.received}, in Kafka ${bridge.stats.produced}, acknowledged ${bridge.stats.acked}, produce errors ${bridge.stats.sendErrors}`,
      ),
    5000,
  )
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
  clearInterval(timer)
  return bridge.stop()
}
