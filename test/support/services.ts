// Locating the real services (PostgreSQL, an MQTT broker) that integration tests run against.
//
// URLs come from the environment:
//   IOTBENCH_TEST_DATABASE_URL  e.g. postgres://postgres:postgres@127.0.0.1:5432/iotbench_test
//                               (bash infra/services/start-postgres.sh)
//   IOTBENCH_TEST_MQTT_URL      e.g. mqtt://127.0.0.1:1884
//                               (bash infra/services/start-mosquitto.sh)
// Outside CI a missing or unreachable service skips the test; with CI=true it fails it, so a
// broken CI environment can never pass by skipping everything.

import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import type { TestContext } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'

export type ServiceName = 'database' | 'mqtt' | 'kafka'

interface ServiceInfo {
  envVar: string
  label: string
  startCommand: string
  defaultPorts: Record<string, number>
}

const SERVICES: Record<ServiceName, ServiceInfo> = {
  database: {
    envVar: 'IOTBENCH_TEST_DATABASE_URL',
    label: 'PostgreSQL',
    startCommand: 'bash infra/services/start-postgres.sh',
    defaultPorts: { 'postgres:': 5432, 'postgresql:': 5432 },
  },
  mqtt: {
    envVar: 'IOTBENCH_TEST_MQTT_URL',
    label: 'MQTT broker',
    startCommand: 'bash infra/services/start-mosquitto.sh',
    defaultPorts: { 'mqtt:': 1883, 'tcp:': 1883, 'mqtts:': 8883, 'ssl:': 8883, 'tls:': 8883 },
  },
  kafka: {
    envVar: 'IOTBENCH_TEST_KAFKA_URL',
    label: 'Apache Kafka',
    startCommand: 'bash infra/kafka/start-kafka.sh',
    defaultPorts: { 'kafka:': 9092 },
  },
}

const CONNECT_DEADLINE_MS = 3_000

/** The configured URL of a test service, or undefined when its environment variable is unset or empty. */
export function serviceUrl(name: ServiceName): string | undefined {
  const value = process.env[SERVICES[name].envVar]?.trim()
  return value === undefined || value === '' ? undefined : value
}

/**
 * The URL of a reachable test service. When the service is not configured or does not answer
 * within 3 s (TCP connect plus a one-packet protocol check, see `probe`): with CI=true it throws,
 * so the test fails; otherwise it skips the test via `t.skip(...)` and returns undefined, and the
 * caller must then return without doing anything.
 */
export async function requireService(t: TestContext, name: ServiceName): Promise<string | undefined> {
  const info = SERVICES[name]
  const url = serviceUrl(name)
  let problem: string | undefined
  if (url === undefined) {
    problem = `${info.envVar} is not set`
  } else {
    const target = hostAndPort(url, info)
    if (typeof target === 'string') {
      problem = `${info.envVar} is not a usable URL (${target})`
    } else {
      const failure = await probe(name, target.host, target.port, target.tls, CONNECT_DEADLINE_MS)
      if (failure !== undefined) {
        problem = `${info.envVar} points at ${target.host}:${target.port}, which is not reachable (${failure})`
      }
    }
  }
  if (problem === undefined) return url

  if (process.env['CI'] === 'true') {
    throw new Error(
      `${info.label} required (CI=true): ${problem}. Start it with \`${info.startCommand}\` ` +
        `and export ${info.envVar} (the script prints the URL); .ci/run does both.`,
    )
  }
  t.skip(`${info.label} not reachable: set ${info.envVar} (see README; ${problem})`)
  return undefined
}

/**
 * A test cannot run here because `what` is missing: with CI=true that fails the test (CI installs
 * everything the suite needs, so a skip there would hide a broken machine); elsewhere it skips.
 * Returns undefined, so callers can `return unavailable(t, …)`.
 */
export function unavailable(t: TestContext, what: string, problem: string): undefined {
  if (process.env['CI'] === 'true') throw new Error(`${what} required (CI=true): ${problem}`)
  t.skip(problem)
  return undefined
}

/**
 * A name unique to this process and call: lowercase `[a-z0-9_]`, starting with a letter, at most
 * 63 characters — usable unquoted as a PostgreSQL schema/table name and as an MQTT topic segment.
 */
export function uniqueName(prefix: string): string {
  let clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
  if (!/^[a-z]/.test(clean)) clean = `t${clean === '' ? '' : '_'}${clean}`
  const suffix = `_${process.pid}_${randomBytes(6).toString('hex')}`
  return clean.slice(0, 63 - suffix.length) + suffix
}

const TLS_SCHEMES = new Set(['mqtts:', 'ssl:', 'tls:'])

function hostAndPort(url: string, info: ServiceInfo): { host: string; port: number; tls: boolean } | string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'cannot parse it'
  }
  const port = parsed.port !== '' ? Number(parsed.port) : info.defaultPorts[parsed.protocol]
  if (port === undefined) return `unexpected scheme ${parsed.protocol}`
  // URL keeps IPv6 literals in brackets; net.connect wants them bare. An empty host (a Unix
  // socket URL such as postgres:///db) is probed on localhost.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost'
  return { host, port, tls: TLS_SCHEMES.has(parsed.protocol) }
}

/**
 * Connects to host:port and, unless the service speaks TLS there, checks that the expected protocol
 * answers: a PostgreSQL server answers an SSLRequest with one byte, 'S' or 'N'; an MQTT broker answers
 * an MQTT 3.1.1 CONNECT with a CONNACK (whatever its return code). A bare TCP connect is not enough:
 * some other program may hold the port, and some sandboxes' proxies accept every connection.
 * Resolves to undefined on success, else to a short reason.
 */
function probe(name: ServiceName, host: string, port: number, tls: boolean, deadlineMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    let received = Buffer.alloc(0)
    const finish = (failure: string | undefined): void => {
      clearTimeout(timer)
      socket.removeAllListeners()
      socket.on('error', () => {})
      if (failure === undefined && name === 'mqtt' && !tls) socket.end(MQTT_DISCONNECT)
      else socket.destroy()
      resolve(failure)
    }
    const timer = setTimeout(() => {
      const what = socket.readyState === 'opening' ? 'no connection' : 'no protocol answer'
      finish(`${what} within ${deadlineMs} ms`)
    }, deadlineMs)
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message))
    socket.once('close', () => finish('connection closed without a protocol answer'))
    socket.once('connect', () => {
      if (tls) {
        finish(undefined)
        return
      }
      socket.write(name === 'database' ? PG_SSL_REQUEST : name === 'kafka' ? KAFKA_API_VERSIONS : mqttConnectPacket())
    })
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (name === 'database') {
        const answer = received[0]
        finish(answer === 0x53 || answer === 0x4e ? undefined : 'the server did not answer like PostgreSQL')
      } else if (name === 'kafka') {
        // Response: int32 size, int32 correlation id (ours: 0x1b07), …
        if (received.length >= 8) finish(received.readInt32BE(4) === 0x1b07 ? undefined : 'the server did not answer like Kafka')
      } else if (received.length >= 2) {
        finish(received[0] === 0x20 && received[1] === 0x02 ? undefined : 'the server did not answer like an MQTT broker')
      }
    })
  })
}

// Int32 length 8, Int32 code 80877103.
const PG_SSL_REQUEST = Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f])
const MQTT_DISCONNECT = Buffer.from([0xe0, 0x00])
// ApiVersions v0: int32 size 14, int16 api key 18, int16 version 0, int32 correlation id, int16 client id length 4, "prob".
const KAFKA_API_VERSIONS = Buffer.from([0, 0, 0, 14, 0, 18, 0, 0, 0, 0, 0x1b, 0x07, 0, 4, 0x70, 0x72, 0x6f, 0x62])

function mqttConnectPacket(): Buffer {
  const clientId = Buffer.from(`iotbench-probe-${randomBytes(4).toString('hex')}`) // 23 bytes
  const variableHeader = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]) // "MQTT", 3.1.1, clean session, keep-alive 10 s
  const payload = Buffer.concat([Buffer.from([clientId.length >> 8, clientId.length & 0xff]), clientId])
  const remaining = variableHeader.length + payload.length // < 128: one length byte
  return Buffer.concat([Buffer.from([0x10, remaining]), variableHeader, payload])
}

/** A Kafka client of the broker at `kafkaUrl` and a topic of the test's own with `partitions` partitions. */
export async function testKafkaTopic(
  kafkaUrl: string,
  name: string,
  partitions: number,
): Promise<{ brokers: string[]; kafka: Kafka; kafkaTopic: string }> {
  const brokers = [new URL(kafkaUrl).host]
  const kafkaTopic = uniqueName(name)
  const kafka = new Kafka({ clientId: uniqueName('test'), brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: kafkaTopic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  return { brokers, kafka, kafkaTopic }
}
