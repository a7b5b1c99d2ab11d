import type { Socket } from 'node:net'
import * as mqttPacket from 'mqtt-packet'
import { errorMessage } from '../errors.js'
import { connackReason, credentialsOf, openMqttSocket, type MqttSecurity } from './mqtt-options.js'

/**
 * A QoS 1 subscriber on raw mqtt-packet that sends PUBACKs when told to, not when a message arrives.
 *
 * Why not MQTT.js: it sends a QoS 1 PUBACK only when `handleMessage` calls back and parses no further
 * packet until then, so holding the ack until the batch commits measured 19 rows/s (DESIGN.md). Here
 * many unacknowledged messages fill a batch, the batch commits, then all its PUBACKs leave in order
 * (MQTT 3.1.1 §4.6: PUBACKs in the order the PUBLISHes were received; §4.3.2: the receiver stores
 * nothing before the ack, so unacknowledged messages are the broker's to redeliver).
 */
export interface SubscriberOptions {
  readonly url: string
  /** Credentials and TLS for mqtts:// (src/transport/mqtt-options.ts); the URL's user:password@ otherwise. */
  readonly security?: MqttSecurity
  readonly clientId: string
  readonly protocol: 'auto' | '4' | '5'
  readonly filters: readonly string[]
  /** Most QoS 1 messages unacknowledged at once (MQTT 5 Receive Maximum; pause the socket on 3.1.1). */
  readonly window: number
  readonly keepaliveSeconds?: number
  readonly onPublish: (topic: string, payload: Buffer, messageId: number | undefined, connection: number) => void
  readonly onConnectionLost?: (reason: string) => void
  readonly log?: (line: string) => void
}

/**
 * Where and how a run's component subscribes: the ingest workers and the Kafka bridge describe their
 * subscription with these fields (passed across threads as data) and open it with subscribe().
 */
export interface MqttSubscription {
  readonly mqttUrl: string
  /** Credentials and TLS (holds the password: never log it). */
  readonly mqttSecurity?: MqttSecurity
  readonly mqttProtocol: 'auto' | '4' | '5'
  readonly clientId: string
  /** MQTT filters, e.g. farm/+/+/+/telemetry. */
  readonly filters: readonly string[]
  readonly topicPrefix: string
  /** Most QoS 1 messages unacknowledged at once. */
  readonly window: number
}

/** The subscriber of a subscription, with the caller's handlers. */
export const subscribe = (
  s: MqttSubscription,
  handlers: Pick<SubscriberOptions, 'onPublish' | 'onConnectionLost' | 'log'>,
): MqttSubscriber =>
  new MqttSubscriber({
    url: s.mqttUrl,
    ...(s.mqttSecurity && { security: s.mqttSecurity }),
    clientId: s.clientId,
    protocol: s.mqttProtocol,
    filters: s.filters,
    window: s.window,
    ...handlers,
  })

export class MqttSubscriber {
  private socket: Socket | undefined
  private protocolVersion: 4 | 5 = 5
  private nextId = 1
  private keepaliveTimer: NodeJS.Timeout | undefined
  private closing = false
  private windowFull = false
  private held = false
  /** Incremented on every (re)connect: an ack for a message of an older connection must not be sent. */
  connection = 0
  unacked = 0

  constructor(private readonly opts: SubscriberOptions) {}

  get version(): 4 | 5 {
    return this.protocolVersion
  }

  /** Whether a broker connection is open now (a metric: connections the bench holds). */
  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed
  }

  async start(): Promise<void> {
    if (this.opts.protocol === '4') return this.connectOnce(4)
    try {
      await this.connectOnce(5)
    } catch (err) {
      if (this.opts.protocol === '5') throw err
      // e.g. aedes 1.2 speaks MQTT 3.1.1 only
      this.opts.log?.(`MQTT 5 refused (${errorMessage(err)}); using MQTT 3.1.1`)
      await this.connectOnce(4)
    }
  }

  private connectOnce(version: 4 | 5): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = openMqttSocket(this.opts.url, this.opts.security, () => {
        const connect: mqttPacket.IConnectPacket = {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: version,
          clientId: this.opts.clientId,
          clean: false, // persistent session: the broker keeps what we have not acknowledged
          keepalive: this.opts.keepaliveSeconds ?? 30,
          ...credentialsOf(this.opts.url, this.opts.security),
          ...(version === 5 ? { properties: { sessionExpiryInterval: 3600, receiveMaximum: this.opts.window } } : {}),
        }
        socket.write(mqttPacket.generate(connect))
      })
      socket.setNoDelay(true)
      const parser = mqttPacket.parser({ protocolVersion: version })
      let connected = false
      const failConnect = (why: string): void => {
        if (connected) return
        socket.destroy()
        reject(new Error(why))
      }
      const timer = setTimeout(() => failConnect('no CONNACK within 10 s'), 10_000)
      parser.on('packet', (packet: mqttPacket.Packet) => {
        switch (packet.cmd) {
          case 'connack': {
            const code = packet.reasonCode ?? packet.returnCode ?? 0
            if (code !== 0) return failConnect(connackReason(code))
            connected = true
            clearTimeout(timer)
            this.socket = socket
            this.protocolVersion = version
            this.connection++
            this.unacked = 0
            this.windowFull = false
            this.applyFlowControl()
            this.subscribe()
            this.startKeepalive()
            return resolve()
          }
          case 'publish': {
            const p = packet
            const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload
            if (p.qos > 0) {
              this.unacked++
              if (version === 4 && this.unacked >= this.opts.window) {
                this.windowFull = true
                this.applyFlowControl()
              }
            }
            this.opts.onPublish(p.topic, payload, p.qos > 0 ? p.messageId : undefined, this.connection)
            return
          }
          case 'suback': {
            const granted = packet.granted
            if (granted.some((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos) >= 0x80))
              this.opts.log?.('broker refused a subscription')
            return
          }
          default:
            return
        }
      })
      parser.on('error', (err: Error) => {
        this.opts.log?.(`MQTT parse error: ${err.message}`)
        socket.destroy()
      })
      socket.on('data', (chunk) => parser.parse(chunk))
      socket.on('error', (err) => failConnect(err.message))
      socket.on('close', () => {
        clearTimeout(timer)
        if (!connected) return failConnect('connection closed before CONNACK')
        this.stopKeepalive()
        if (this.socket === socket) this.socket = undefined
        if (!this.closing) {
          this.opts.onConnectionLost?.('broker connection closed')
          void this.reconnect()
        }
      })
    })
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closing; attempt++) {
      const delay = Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2)
      await new Promise((r) => setTimeout(r, delay))
      if (this.closing) return
      try {
        await this.connectOnce(this.protocolVersion)
        this.opts.log?.(`reconnected to the broker (attempt ${attempt + 1})`)
        return
      } catch (err) {
        this.opts.log?.(`reconnect failed: ${errorMessage(err)}`)
      }
    }
  }

  private subscribe(): void {
    const packet: mqttPacket.ISubscribePacket = {
      cmd: 'subscribe',
      messageId: this.allocateId(),
      subscriptions: this.opts.filters.map((topic) => ({ topic, qos: 1 as const })),
    }
    this.socket?.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }))
  }

  private allocateId(): number {
    const id = this.nextId
    this.nextId = (this.nextId % 65535) + 1
    return id
  }

  private startKeepalive(): void {
    const every = ((this.opts.keepaliveSeconds ?? 30) * 1000) / 2
    this.keepaliveTimer = setInterval(() => this.socket?.write(mqttPacket.generate({ cmd: 'pingreq' })), every)
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer)
    this.keepaliveTimer = undefined
  }

  /** Sends the PUBACKs of messages received on `connection`, in the given (receive) order. */
  ack(messageIds: readonly number[], connection: number): void {
    if (connection !== this.connection || !this.socket || messageIds.length === 0) return
    // PUBACK is 4 bytes: type 0x40, remaining length 2, packet id. MQTT 5 §3.4.2.1 lets the reason
    // code and properties be left out when the reason is Success, so the bytes are the same in 3.1.1 and 5.
    const out = Buffer.allocUnsafe(messageIds.length * 4)
    for (let i = 0; i < messageIds.length; i++) {
      out[i * 4] = 0x40
      out[i * 4 + 1] = 2
      out.writeUInt16BE(messageIds[i], i * 4 + 2)
    }
    this.socket.write(out)
    this.unacked -= messageIds.length
    if (this.windowFull && this.unacked < this.opts.window / 2) {
      this.windowFull = false
      this.applyFlowControl()
    }
  }

  /**
   * Publishes at QoS 0 on this connection (alerts, after their batch committed). QoS 0 needs no packet
   * id and no acknowledgement (MQTT 3.1.1 §4.3.1), so it cannot disturb the PUBACK order of the
   * subscription; an alert lost while disconnected is still in the alerts table.
   */
  publish(topic: string, payload: string): void {
    if (!this.socket || this.socket.destroyed) return
    this.socket.write(
      mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false }, { protocolVersion: this.protocolVersion }),
    )
  }

  /**
   * Stop (or restart) reading from the broker, e.g. while the database is down: TCP back-pressure keeps
   * the backlog in the broker, not in this process's memory.
   */
  hold(on: boolean): void {
    this.held = on
    this.applyFlowControl()
  }

  private applyFlowControl(): void {
    if (this.held || this.windowFull) this.socket?.pause()
    else this.socket?.resume()
  }

  async close(): Promise<void> {
    this.closing = true
    this.stopKeepalive()
    const socket = this.socket
    if (!socket) return
    const disconnect: mqttPacket.IDisconnectPacket =
      this.protocolVersion === 5 ? { cmd: 'disconnect', properties: { sessionExpiryInterval: 0 } } : { cmd: 'disconnect' }
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve())
      socket.end(mqttPacket.generate(disconnect, { protocolVersion: this.protocolVersion }))
      setTimeout(() => {
        socket.destroy()
        resolve()
      }, 2000).unref()
    })
  }
}
