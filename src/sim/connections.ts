import { connect as netConnect, type Socket } from 'node:net'
import * as mqttPacket from 'mqtt-packet'
import { SendGate } from './back-pressure.js'

/**
 * One MQTT 3.1.1 connection per device, as real collars connect: a plain TCP socket each, CONNECT
 * written by mqtt-packet, PUBLISH encoded by hand (one Buffer a reading), and a parser that reads only
 * what a publisher receives (CONNACK, PUBACK, PINGRESP). An MQTT.js client per device would cost tens
 * of kilobytes and its own timers per connection; this costs a socket and a few fields.
 *
 * Loopback source addresses: Linux gives one ephemeral port per connection per source address
 * (net.ipv4.ip_local_port_range: 32768–60999, about 28k), so tens of thousands of connections to one
 * broker address need several source addresses. All of 127.0.0.0/8 is the loopback interface, so
 * `localAddress` 127.0.0.2, 127.0.0.3, … works with no setup.
 */
export interface DeviceConnectionOptions {
  readonly url: string
  /** One client id per device (the device's own identity, as a real collar has). */
  readonly clientIds: readonly string[]
  /** Spread the connections over 127.0.0.1 … 127.0.0.n (loopback brokers only). */
  readonly sourceAddresses?: number
  /** Connection handshakes in flight at once. */
  readonly concurrency?: number
  /** MQTT keepalive in seconds (0: none; a PINGREQ per connection per interval otherwise). */
  readonly keepaliveSeconds?: number
  readonly connectTimeoutMs?: number
  /** Most QoS 1 publishes in flight at once per connection (default 1000). */
  readonly window?: number
  readonly onError?: (device: number, message: string) => void
}

interface Conn {
  socket: Socket | undefined
  up: boolean
  nextId: number
  /** Callbacks of unacknowledged QoS 1 publishes by packet id (created on first use). */
  pending: Map<number, () => void> | undefined
  rest: Buffer | undefined
  /** Back-pressure on this connection (src/sim/back-pressure.ts). */
  readonly gate: SendGate
}

const PUBLISH = 0x30
const CONNACK = 2
const PUBACK = 4

/** Remaining Length of MQTT (§2.2.3): 7 bits a byte, high bit = more. */
function remainingLengthBytes(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

/** A PUBLISH packet (§3.3): fixed header, topic, packet id when QoS 1, payload. */
export function encodePublish(topic: string, payload: Buffer, qos: 0 | 1, packetId: number): Buffer {
  const topicLen = Buffer.byteLength(topic)
  const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + payload.length
  const rl = remainingLengthBytes(remaining)
  const buf = Buffer.allocUnsafe(1 + rl.length + remaining)
  let o = 0
  buf[o++] = PUBLISH | (qos << 1)
  for (const b of rl) buf[o++] = b
  buf.writeUInt16BE(topicLen, o)
  o += 2
  o += buf.write(topic, o)
  if (qos > 0) {
    buf.writeUInt16BE(packetId, o)
    o += 2
  }
  payload.copy(buf, o)
  return buf
}

export class DeviceConnections {
  private readonly conns: Conn[]
  private readonly host: string
  private readonly port: number
  private closing = false
  private upCount = 0

  constructor(private readonly o: DeviceConnectionOptions) {
    const u = new URL(o.url)
    this.host = u.hostname
    this.port = Number(u.port || 1883)
    this.conns = o.clientIds.map(() => {
      const c: Conn = {
        socket: undefined,
        up: false,
        nextId: 1,
        pending: undefined,
        rest: undefined,
        gate: new SendGate(() => c.socket, o.window ?? 1000, 64 << 10),
      }
      return c
    })
  }

  get size(): number {
    return this.conns.length
  }

  /** Connections open now (CONNACK received, socket not closed). */
  get open(): number {
    return this.upCount
  }

  /**
   * Opens every connection, `concurrency` handshakes at a time. Rejects with the first failure, or with
   * `tolerate: true` keeps going and returns the failures (a bench counts what it could hold).
   */
  async connectAll(tolerate = false): Promise<{ failed: number; firstError: string | undefined }> {
    let next = 0
    let failed = 0
    let firstError: string | undefined
    const lane = async (): Promise<void> => {
      while (next < this.conns.length) {
        try {
          await this.connectOne(next++)
        } catch (err) {
          if (!tolerate) throw err
          failed++
          firstError ??= (err as Error).message
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 200, this.conns.length) }, lane))
    return { failed, firstError }
  }

  private localAddress(i: number): string | undefined {
    const n = this.o.sourceAddresses ?? 1
    if (n <= 1 || !/^127\./.test(this.host)) return undefined
    return `127.0.0.${1 + (i % n)}`
  }

  private connectOne(i: number): Promise<void> {
    const c = this.conns[i]
    return new Promise((resolve, reject) => {
      const local = this.localAddress(i)
      const socket = netConnect({ host: this.host, port: this.port, ...(local && { localAddress: local }) })
      socket.setNoDelay(true)
      c.socket = socket
      c.rest = undefined
      let settled = false
      const settle = (err?: Error): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err) {
          socket.destroy()
          reject(err)
        } else resolve()
      }
      const timer = setTimeout(
        () => settle(new Error(`device connection ${i}: no CONNACK within ${this.o.connectTimeoutMs ?? 15_000} ms`)),
        this.o.connectTimeoutMs ?? 15_000,
      )
      socket.once('connect', () => {
        socket.write(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clientId: this.o.clientIds[i],
            clean: true,
            keepalive: this.o.keepaliveSeconds ?? 0,
          }),
        )
      })
      socket.on('data', (chunk: Buffer) => {
        const rc = this.read(c, chunk)
        if (rc === undefined) return
        if (rc !== 0) return settle(new Error(`device connection ${i}: CONNACK return code ${rc}`))
        c.up = true
        this.upCount++
        settle()
      })
      socket.on('error', (err) => {
        if (!settled) settle(new Error(`device connection ${i} (${this.o.clientIds[i]}${local ? ` from ${local}` : ''}): ${err.message}`))
        else this.o.onError?.(i, err.message)
      })
      socket.on('close', () => {
        if (c.up) this.upCount--
        c.up = false
        // Unacknowledged publishes of a lost connection stay unacknowledged: the run records them as such.
        c.pending = undefined
        c.gate.reset()
        if (!settled) settle(new Error(`device connection ${i}: closed before CONNACK`))
        else if (!this.closing) {
          this.o.onError?.(i, 'connection closed; reconnecting in 1 s')
          setTimeout(() => void this.connectOne(i).catch((err: Error) => this.o.onError?.(i, err.message)), 1000).unref()
        }
      })
    })
  }

  /** Reads whole packets; returns a CONNACK's return code when one arrives. */
  private read(c: Conn, chunk: Buffer): number | undefined {
    let buf = c.rest ? Buffer.concat([c.rest, chunk]) : chunk
    let connack: number | undefined
    for (;;) {
      if (buf.length < 2) break
      let len = 0
      let mul = 1
      let p = 1
      let complete = false
      while (p < buf.length && p <= 4) {
        const b = buf[p++]
        len += (b & 0x7f) * mul
        mul *= 128
        if ((b & 0x80) === 0) {
          complete = true
          break
        }
      }
      if (!complete || buf.length < p + len) break
      const type = buf[0] >> 4
      if (type === CONNACK) connack = buf[p + 1]
      else if (type === PUBACK) {
        const id = buf.readUInt16BE(p)
        const cb = c.pending?.get(id)
        if (cb) {
          c.pending?.delete(id)
          c.gate.acked()
          cb()
        }
      }
      buf = buf.subarray(p + len)
    }
    c.rest = buf.length > 0 ? Buffer.from(buf) : undefined
    return connack
  }

  /** Publishes on device i's own connection; `onAck` runs at PUBACK (QoS 1) or once written (QoS 0). False when the device is offline. */
  publish(i: number, topic: string, payload: Buffer | string, qos: 0 | 1, onAck: () => void): boolean {
    const c = this.conns[i]
    if (!c.up || !c.socket) return false
    const id = c.nextId
    c.nextId = id === 65535 ? 1 : id + 1
    const packet = encodePublish(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, qos, id)
    if (qos === 1) {
      ;(c.pending ??= new Map()).set(id, onAck)
      c.gate.sent()
    }
    // QoS 0: acknowledged once the socket flushed it to the kernel (a write callback, not a 'drain' listener).
    c.socket.write(packet, qos === 0 ? () => onAck() : undefined)
    return true
  }

  /** Whether device i's connection takes another publish now (not congested, QoS 1 window not full); an offline device's is open (its publish fails). */
  ready(i: number): boolean {
    const c = this.conns[i]
    return !c.up || c.gate.open()
  }

  /** Runs `resume` once device i's connection takes publishes again (one waiter per connection). */
  whenReady(i: number, resume: () => void): void {
    this.conns[i].gate.whenOpen(resume)
  }

  /** DISCONNECT and close every connection. */
  async end(): Promise<void> {
    this.closing = true
    const disconnect = Buffer.from([0xe0, 0x00])
    await Promise.all(
      this.conns.map(
        (c) =>
          new Promise<void>((resolve) => {
            const s = c.socket
            if (!s || s.destroyed) return resolve()
            s.once('close', () => resolve())
            s.end(disconnect)
            setTimeout(() => s.destroy(), 2000).unref()
          }),
      ),
    )
  }
}
