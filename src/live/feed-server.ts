import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { KINDS, type FieldValue, type Kind } from '../kinds.js'
import { chartLibrary } from '../report/chart-library.js'
import { CLOSE, farmOfDevice, type CommittedAlert, type SubscribeMessage } from './protocol.js'
import { ReplayBuffer } from './replay-buffer.js'
import { decideSend, newSendCounters, type SendCounters } from './send-policy.js'
import { livePage } from './page.js'
import { must } from '../util/must.js'
import { frameText } from '../util/text.js'

/** A committed reading as the ingest hands it over (values in the order of KINDS[kind].fields). */
export interface CommittedReading {
  readonly device: string
  readonly kind: Kind
  readonly seq: number
  readonly ts: number
  readonly sent: number
  readonly values: readonly FieldValue[]
}
export type { CommittedAlert }

export interface FeedOptions {
  readonly farms: readonly string[]
  /** Events kept per farm for resuming clients. */
  readonly replayEvents: number
  /** Bound of each client's send buffer, bytes. */
  readonly clientBufferBytes: number
  /** Events per frame when a client catches up from the replay buffer. */
  readonly replayChunk?: number
}

export interface FeedStats extends SendCounters {
  connections: number
  clients: number
  subscribes: number
  resumes: number
  refusedTooOld: number
  refusedAhead: number
  badSubscribes: number
  eventsPublished: number
}

interface Farm {
  readonly buffer: ReplayBuffer<string>
  readonly clients: Set<Client>
}
interface Client {
  readonly ws: WebSocket
  /** Per subscribed farm: the last position sent to this client. */
  readonly sent: Map<string, number>
  catchingUp: boolean
  closed: boolean
  retry: NodeJS.Timeout | undefined
}

const frameOf = (farm: string, pos: number, events: readonly string[]): string =>
  `{"type":"events","farm":${JSON.stringify(farm)},"pos":${pos},"events":[${events.join(',')}]}`

/**
 * The live feed: one per run, on the main thread. The ingest threads hand over each committed batch;
 * the feed gives every event a position per farm, keeps the last `replayEvents` per farm, and fans the
 * serialized frame out to subscribers. It also serves the live page (/), Chart.js (/chart.umd.min.js)
 * and the WebSocket endpoint (/feed).
 */
export class LiveFeed {
  private readonly farms = new Map<string, Farm>()
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 })
  private readonly http: Server
  private readonly clients = new Set<Client>()
  private ended: Record<string, number> | undefined
  readonly stats: FeedStats = {
    ...newSendCounters(),
    connections: 0,
    clients: 0,
    subscribes: 0,
    resumes: 0,
    refusedTooOld: 0,
    refusedAhead: 0,
    badSubscribes: 0,
    eventsPublished: 0,
  }
  private readonly chunk: number

  constructor(private readonly opts: FeedOptions) {
    for (const f of opts.farms) this.farms.set(f, { buffer: new ReplayBuffer<string>(opts.replayEvents), clients: new Set() })
    this.chunk = opts.replayChunk ?? 1000
    this.http = createServer((req, res) => this.serve(req, res))
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/feed') return void socket.destroy()
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws))
    })
  }

  /** Starts listening; resolves to the page's URL. */
  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen(port, host, () => resolve())
    })
    const a = this.http.address() as AddressInfo
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`
  }

  heads(): Record<string, number> {
    return Object.fromEntries([...this.farms].map(([f, s]) => [f, s.buffer.head]))
  }

  /** One committed batch: positions are assigned here, in commit order, per farm. */
  publish(readings: readonly CommittedReading[], alerts: readonly CommittedAlert[]): void {
    const byFarm = new Map<string, string[]>()
    const add = (device: string, json: string): void => {
      const farm = farmOfDevice(device)
      let list = byFarm.get(farm)
      if (!list) byFarm.set(farm, (list = []))
      list.push(json)
    }
    for (const r of readings) {
      const fields = KINDS[r.kind].fields
      let values = ''
      for (let i = 0; i < fields.length; i++) values += `${i ? ',' : ''}"${fields[i].name}":${JSON.stringify(r.values[i] ?? null)}`
      add(
        r.device,
        `{"type":"reading","device":${JSON.stringify(r.device)},"kind":"${r.kind}","seq":${r.seq},"ts":${r.ts},"sent":${r.sent},"values":{${values}}}`,
      )
    }
    for (const a of alerts) {
      add(
        a.device,
        JSON.stringify({
          type: 'alert',
          device: a.device,
          kind: a.kind,
          rule: a.rule,
          event: a.event,
          seq: a.seq,
          ts: a.ts,
          sent: a.sent,
          value: a.value,
        }),
      )
    }
    for (const [name, events] of byFarm) {
      const farm = this.farms.get(name)
      if (!farm) continue // a farm outside this run's fleet (another publisher on the topics): not ours to show
      const pos = farm.buffer.append(events)
      this.stats.eventsPublished += events.length
      // Encoded once for every subscriber (ws would encode a string again per send).
      const frame = Buffer.from(frameOf(name, pos, events))
      for (const c of farm.clients) {
        if (c.catchingUp || c.sent.get(name) !== pos - 1) {
          this.pump(c)
          continue
        }
        const buffered = c.ws.bufferedAmount
        if (decideSend(buffered, frame.length, this.opts.clientBufferBytes) === 'disconnect') {
          this.stats.slowDisconnects++
          this.drop(
            c,
            CLOSE.SlowClient,
            `slow client: send buffer ${buffered} B over ${this.opts.clientBufferBytes} B; resume from your cursor`,
          )
          continue
        }
        this.send(c, frame)
        c.sent.set(name, pos + events.length - 1)
      }
    }
  }

  /** The run committed its last batch: tell every client the final heads. */
  end(): void {
    this.ended = this.heads()
    const frame = JSON.stringify({ type: 'end', heads: this.ended })
    for (const c of this.clients) if (c.sent.size > 0 && !c.catchingUp) this.send(c, frame)
  }

  async close(): Promise<void> {
    for (const c of this.clients) this.drop(c, CLOSE.GoingAway, 'the run is over')
    await new Promise<void>((resolve) => this.wss.close(() => resolve()))
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const reply = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
      res.end(body)
    }
    if (req.method !== 'GET') return reply(405, 'text/plain; charset=utf-8', 'GET only\n')
    if (path === '/' || path === '/index.html') return reply(200, 'text/html; charset=utf-8', livePage([...this.farms.keys()]))
    if (path === '/chart.umd.min.js') return reply(200, 'text/javascript; charset=utf-8', chartLibrary().source)
    if (path === '/favicon.ico') return reply(204, 'text/plain', '')
    return reply(404, 'text/plain; charset=utf-8', 'not found: the live page is at /, the feed at /feed (WebSocket)\n')
  }

  private accept(ws: WebSocket): void {
    this.stats.connections++
    this.stats.clients++
    const c: Client = { ws, sent: new Map(), catchingUp: false, closed: false, retry: undefined }
    this.clients.add(c)
    ws.on('error', () => undefined) // a reset connection; 'close' follows
    ws.on('close', () => this.forget(c))
    ws.on('message', (data, isBinary) => {
      if (c.sent.size > 0) return this.drop(c, CLOSE.BadSubscribe, 'subscribe once per connection')
      let msg: SubscribeMessage
      try {
        msg = JSON.parse(isBinary ? '' : frameText(data)) as SubscribeMessage
      } catch {
        return this.refuse(c, 'the first message must be JSON: {"type":"subscribe","farms":[…],"cursors":{…}}')
      }
      this.subscribe(c, msg)
    })
  }

  /** A farm of the feed: every name a client gives is checked against them before it gets here. */
  private farm(name: string): Farm {
    return must(this.farms.get(name), `farm ${name} in the live feed`)
  }

  private refuse(c: Client, reason: string): void {
    this.stats.badSubscribes++
    this.drop(c, CLOSE.BadSubscribe, reason)
  }

  private subscribe(c: Client, msg: SubscribeMessage): void {
    if (msg?.type !== 'subscribe' || !Array.isArray(msg.farms) || msg.farms.length === 0)
      return this.refuse(c, 'expected {"type":"subscribe","farms":["farm01",…]}')
    const unknown = msg.farms.filter((f) => typeof f !== 'string' || !this.farms.has(f))
    if (unknown.length) return this.refuse(c, `unknown farm ${JSON.stringify(unknown[0])}`.slice(0, 120))
    const cursors = msg.cursors ?? {}
    const start = new Map<string, number>()
    for (const f of new Set(msg.farms)) {
      const buffer = this.farm(f).buffer
      const cursor = cursors[f]
      if (cursor === undefined) {
        start.set(f, buffer.head)
        continue
      }
      if (!Number.isInteger(cursor) || cursor < 0) return this.refuse(c, `cursor of ${f} must be a whole number ≥ 0`)
      if (cursor > buffer.head) {
        this.stats.refusedAhead++
        return this.drop(c, CLOSE.CursorAhead, JSON.stringify({ farm: f, cursor, head: buffer.head }))
      }
      if (cursor + 1 < buffer.oldest) {
        this.stats.refusedTooOld++
        return this.drop(c, CLOSE.CursorTooOld, JSON.stringify({ farm: f, cursor, oldest: buffer.oldest }))
      }
      start.set(f, cursor)
    }
    this.stats.subscribes++
    if (msg.cursors && Object.keys(msg.cursors).length > 0) this.stats.resumes++
    const farms = Object.fromEntries(
      [...start.keys()].map((f) => [f, { head: this.farm(f).buffer.head, oldest: this.farm(f).buffer.oldest }]),
    )
    this.send(c, JSON.stringify({ type: 'subscribed', farms }))
    for (const [f, cursor] of start) {
      c.sent.set(f, cursor)
      this.farm(f).clients.add(c)
    }
    this.pump(c)
  }

  /**
   * Catch-up: sends what the client lacks from the replay buffers, a chunk at a time, only while its
   * send buffer is under the bound (so a long replay never exceeds it); retries as the socket drains.
   */
  private pump(c: Client): void {
    if (c.closed) return
    c.catchingUp = true
    for (const [name, sent] of c.sent) {
      const buffer = this.farm(name).buffer
      let cursor = sent
      while (cursor < buffer.head) {
        if (c.ws.bufferedAmount >= this.opts.clientBufferBytes) {
          c.sent.set(name, cursor)
          c.retry ??= setTimeout(() => {
            c.retry = undefined
            this.pump(c)
          }, 5)
          return
        }
        const r = buffer.since(cursor, this.chunk)
        if (!r.ok) {
          this.stats.refusedTooOld++
          return this.drop(c, CLOSE.CursorTooOld, JSON.stringify({ farm: name, cursor, oldest: r.oldest }))
        }
        this.send(c, frameOf(name, r.pos, r.events))
        cursor += r.events.length
      }
      c.sent.set(name, cursor)
    }
    c.catchingUp = false
    if (this.ended) this.send(c, JSON.stringify({ type: 'end', heads: this.ended }))
  }

  private send(c: Client, frame: string | Buffer): void {
    c.ws.send(frame, { binary: false })
    this.stats.framesSent++
    this.stats.bytesSent += frame.length
    const buffered = c.ws.bufferedAmount
    if (buffered > this.stats.maxBufferedBytes) this.stats.maxBufferedBytes = buffered
  }

  private drop(c: Client, code: number, reason: string): void {
    if (c.closed) return
    c.ws.close(code, reason.slice(0, 123))
    this.forget(c)
    // A client that does not read will never take the close frame either.
    setTimeout(() => c.ws.terminate(), 1000).unref()
  }

  private forget(c: Client): void {
    if (c.closed) return
    c.closed = true
    if (c.retry) clearTimeout(c.retry)
    this.clients.delete(c)
    this.stats.clients--
    for (const f of c.sent.keys()) this.farms.get(f)?.clients.delete(c)
  }
}
