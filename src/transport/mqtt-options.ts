import { readFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import * as mqttPacket from 'mqtt-packet'
import { errorMessage, InfraError } from '../errors.js'
import { redactUrl } from '../util/redact.js'

/**
 * How every MQTT client of the bench reaches an external broker beyond its URL: credentials and TLS.
 * Built once from the config (mqttSecurityOf) and handed as plain data to the simulators, the ingest
 * subscriber, the Kafka bridge and the bad-input publisher, so they all connect the same way.
 * Holds the password and the client key: never log it, never put it in a result.
 */
export interface MqttSecurity {
  readonly username?: string
  readonly password?: string
  /** PEM text of the CA certificate(s) the broker's certificate must chain to (default: Node's roots). */
  readonly ca?: string
  /** PEM text of the client certificate and its key (brokers that require client certificates). */
  readonly cert?: string
  readonly key?: string
}

/** The options that configure MQTT security (a subset of RunConfig, and of the bridge's options). */
export interface MqttSecurityConfig {
  readonly mqttUrl: string | undefined
  readonly mqttUsername?: string | undefined
  readonly mqttPassword?: string | undefined
  readonly mqttCa?: string | undefined
  readonly mqttCert?: string | undefined
  readonly mqttKey?: string | undefined
}

export const TLS_PROTOCOLS = ['mqtts:', 'ssl:', 'tls:'] as const
export const isTlsUrl = (url: string): boolean => (TLS_PROTOCOLS as readonly string[]).includes(new URL(url).protocol)
export const defaultPort = (url: string): number => (isTlsUrl(url) ? 8883 : 1883)

/** Problems with the security options, for the config's all-at-once report (exit 4). */
export function mqttSecurityChecks(c: MqttSecurityConfig): string[] {
  const problems: string[] = []
  const tlsFiles = (['mqttCa', 'mqttCert', 'mqttKey'] as const).filter((k) => c[k] !== undefined)
  let tls = false
  try {
    tls = c.mqttUrl !== undefined && isTlsUrl(c.mqttUrl)
  } catch {
    // a bad URL is reported by the option's own check
  }
  if (tlsFiles.length > 0 && !tls)
    problems.push(
      `--mqtt-ca, --mqtt-cert and --mqtt-key need a TLS broker URL (mqtts://host:8883)${c.mqttUrl ? '' : ': the embedded broker speaks plain MQTT on loopback'}`,
    )
  if ((c.mqttCert === undefined) !== (c.mqttKey === undefined))
    problems.push('--mqtt-cert and --mqtt-key go together (a client certificate and its private key)')
  for (const [flag, file] of [
    ['--mqtt-ca', c.mqttCa],
    ['--mqtt-cert', c.mqttCert],
    ['--mqtt-key', c.mqttKey],
  ] as const) {
    if (file === undefined) continue
    try {
      readFileSync(file)
    } catch (err) {
      problems.push(`${flag} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`)
    }
  }
  if (c.mqttPassword !== undefined && c.mqttUsername === undefined && !userOf(c.mqttUrl))
    problems.push('--mqtt-password needs a user name (--mqtt-username, or user@ in --mqtt-url)')
  return problems
}

function userOf(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    const u = new URL(url)
    return u.username ? decodeURIComponent(u.username) : undefined
  } catch {
    return undefined
  }
}

/** Reads the certificate files and merges the credentials (flags and variables win over the URL's). */
export function mqttSecurityOf(c: MqttSecurityConfig): MqttSecurity {
  let urlUser: string | undefined
  let urlPassword: string | undefined
  if (c.mqttUrl) {
    const u = new URL(c.mqttUrl)
    urlUser = u.username ? decodeURIComponent(u.username) : undefined
    urlPassword = u.password ? decodeURIComponent(u.password) : undefined
  }
  const username = c.mqttUsername ?? urlUser
  const password = c.mqttPassword ?? urlPassword
  const read = (f: string | undefined): string | undefined => (f === undefined ? undefined : readFileSync(f, 'utf8'))
  const ca = read(c.mqttCa)
  const cert = read(c.mqttCert)
  const key = read(c.mqttKey)
  return {
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
  }
}

/** The MQTT.js options for the same security (MQTT.js takes TLS from an mqtts:// URL itself). */
export function mqttJsOptions(s: MqttSecurity | undefined): {
  username?: string
  password?: string
  ca?: string
  cert?: string
  key?: string
} {
  if (!s) return {}
  return { ...s }
}

/**
 * Opens the transport for a raw mqtt-packet client: TCP, or TLS for mqtts:// (server name for SNI
 * and the certificate check, the CA, the client certificate). Calls `onOpen` once the socket is
 * ready for the CONNECT packet (after the TLS handshake).
 */
export function openMqttSocket(url: string, s: MqttSecurity | undefined, onOpen: () => void): Socket {
  const u = new URL(url)
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = Number(u.port || defaultPort(url))
  if (!isTlsUrl(url)) {
    const socket = netConnect({ host, port })
    socket.once('connect', onOpen)
    return socket
  }
  const socket = tlsConnect({
    host,
    port,
    ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
    ...(s?.ca && { ca: s.ca }),
    ...(s?.cert && { cert: s.cert }),
    ...(s?.key && { key: s.key }),
  })
  socket.once('secureConnect', onOpen)
  return socket
}

/** The CONNECT fields for credentials: the flags' over the URL's. */
export function credentialsOf(url: string, s: MqttSecurity | undefined): Pick<mqttPacket.IConnectPacket, 'username' | 'password'> {
  const u = new URL(url)
  const username = s?.username ?? (u.username ? decodeURIComponent(u.username) : undefined)
  const password = s?.password ?? (u.password ? decodeURIComponent(u.password) : undefined)
  return { ...(username !== undefined && { username }), ...(password !== undefined && { password: Buffer.from(password) }) }
}

/** CONNACK codes a user can act on (MQTT 3.1.1 §3.2.2.3, MQTT 5 §3.2.2.2). */
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
  0x84: 'unsupported protocol version',
  0x85: 'client identifier not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x8a: 'banned',
  0x8c: 'bad authentication method',
}

export const connackReason = (code: number): string =>
  `CONNACK refused with code ${code}${CONNACK_REASONS[code] ? ` (${CONNACK_REASONS[code]})` : ''}`

/** Whether an error message is about the credentials (as opposed to the network or TLS). */
const isAuthRefusal = (message: string): boolean => /bad user name or password|not authori[sz]ed|code (4|5|134|135)\b/i.test(message)

/** TLS failures a user can act on, by Node's error code. */
const TLS_HINTS: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'the broker’s certificate chains to a CA that is not trusted: give that CA with --mqtt-ca FILE',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the broker’s certificate is self-signed and not trusted: give it (or its CA) with --mqtt-ca FILE',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the broker’s certificate is not signed by a trusted CA: give its CA with --mqtt-ca FILE',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the broker’s certificate is not signed by a trusted CA: give its CA with --mqtt-ca FILE',
  CERT_HAS_EXPIRED: 'the broker’s certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the broker’s certificate does not name the host in --mqtt-url: connect by a name the certificate holds',
}

/**
 * Connects once with the run's security and disconnects: turns a wrong password, an untrusted
 * certificate or a refused client certificate into one clear InfraError (exit 5) before any thread
 * starts, instead of a failure in each of them. The message never holds the password.
 */
export async function checkBroker(url: string, s: MqttSecurity | undefined, timeoutMs = 10_000): Promise<void> {
  try {
    await cleanConnect(url, s, `iotbench-check-${process.pid}-${Date.now() % 1e6}`, timeoutMs)
  } catch (err) {
    throw brokerError(redactUrl(url), err, isTlsUrl(url))
  }
}

/**
 * Removes the persistent sessions of these client ids from the broker: a connect with clean session 1
 * discards the previous session (MQTT 3.1.1 §3.1.2.4; a broker keeps one session per client id whatever
 * the protocol version that made it), and the new one ends with the connection. Returns the ids that
 * could not be cleaned, with why.
 */
export async function discardSessions(
  url: string,
  s: MqttSecurity | undefined,
  clientIds: Iterable<string>,
  timeoutMs = 5_000,
): Promise<string[]> {
  const results = await Promise.all(
    [...clientIds].map((id) =>
      cleanConnect(url, s, id, timeoutMs).then(
        () => undefined,
        (err: unknown) => `${id}: ${errorMessage(err)}`,
      ),
    ),
  )
  return results.filter((r): r is string => r !== undefined)
}

/** CONNECT with clean session 1, wait for a CONNACK, DISCONNECT. */
function cleanConnect(url: string, s: MqttSecurity | undefined, clientId: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = openMqttSocket(url, s, () => {
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId,
          clean: true,
          keepalive: 10,
          ...credentialsOf(url, s),
        }),
      )
    })
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    const timer = setTimeout(() => done(new Error(`no CONNACK within ${timeoutMs / 1000} s`)), timeoutMs)
    const done = (err?: Error): void => {
      clearTimeout(timer)
      socket.removeAllListeners()
      socket.on('error', () => undefined)
      if (err) {
        socket.destroy()
        reject(err)
      } else {
        socket.end(mqttPacket.generate({ cmd: 'disconnect' }))
        resolve()
      }
    }
    parser.on('packet', (p: mqttPacket.Packet) => {
      if (p.cmd !== 'connack') return
      const code = p.returnCode ?? p.reasonCode ?? 0
      done(code === 0 ? undefined : new Error(connackReason(code)))
    })
    socket.on('data', (chunk: Buffer) => parser.parse(chunk))
    socket.on('error', (err) => done(err))
    socket.on('close', () => done(new Error('the broker closed the connection before CONNACK')))
  })
}

/** One clear InfraError for a failed broker connection. */
export function brokerError(where: string, err: unknown, tls: boolean): InfraError {
  const code = (err as NodeJS.ErrnoException).code
  const message = errorMessage(err)
  if (code && TLS_HINTS[code]) return new InfraError(`TLS to the broker at ${where} failed: ${message}`, TLS_HINTS[code], { cause: err })
  if (isAuthRefusal(message)) {
    return new InfraError(
      `the broker at ${where} refused the credentials: ${message}`,
      'check --mqtt-username and the password (IOTBENCH_MQTT_PASSWORD, --mqtt-password or user:password@ in --mqtt-url)',
      { cause: err },
    )
  }
  const hint = tls
    ? 'is the broker up, does its TLS listener accept this client (a client certificate with --mqtt-cert/--mqtt-key when it requires one)?'
    : 'is the broker running and is --mqtt-url right (mqtts:// for a TLS listener)? Leave out --mqtt-url to use the embedded broker.'
  return new InfraError(`cannot connect to the broker at ${where}: ${message}`, hint, { cause: err })
}
