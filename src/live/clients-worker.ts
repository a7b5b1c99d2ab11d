import { workerData } from 'node:worker_threads'
import { WebSocket } from 'ws'
import { ThreadMetrics } from '../metrics/thread-metrics.js'
import { epochClock } from '../util/clock.js'
import { encodeHistogram, initHistograms, newHistogram, recordMs } from '../util/histogram.js'
import { ClientRecord, type ClientReport } from './client-record.js'
import type { ClientsWorkerData, ClientSpec, FromClients, ToClients } from './clients-messages.js'
import { CLOSE, type LiveEvent, type ServerFrame } from './protocol.js'
import { threadPort } from '../util/must.js'
import { frameText } from '../util/text.js'
import { nameThread } from '../metrics/cpu.js'

nameThread('live')

/** Simulated dashboard clients (P9): each subscribes to its farms from position 0, records what it gets, resumes by cursor. */
const data = workerData as ClientsWorkerData
const port = threadPort('the live-feed clients')
const post = (m: FromClients): void => port.postMessage(m)
const clock = epochClock

await initHistograms()
const latency = { steady: newHistogram(), reconnecting: newHistogram() }
const metrics = new ThreadMetrics().watchRuntime()
const metricsTimer = setInterval(() => post({ kind: 'metrics', metrics: metrics.snapshot() }), 1000)

/**
 * Clients of one thread that receive byte-identical frames (the same farm's batch) share one parse:
 * each client still gets its own bytes from its own socket, and a cached parse is used only when the
 * whole text is equal, so a frame that differs by one byte is parsed on its own. A parse per client was
 * most of what limited the clients one thread holds (bench:live: 250 → 500 within the ci p99).
 */
const parsed = new Map<string, { text: string; frame: ServerFrame }>()
function parseShared(text: string): ServerFrame {
  // A short key (length and head: type, farm, pos) finds the candidate; the whole text must then be equal.
  const key = `${text.length}:${text.slice(0, 96)}`
  const hit = parsed.get(key)
  if (hit !== undefined && hit.text === text) return hit.frame
  const frame = JSON.parse(text) as ServerFrame
  parsed.set(key, { text, frame })
  if (parsed.size > 64) {
    const oldest = parsed.keys().next()
    if (!oldest.done) parsed.delete(oldest.value)
  }
  return frame
}

class SimClient {
  readonly record: ClientRecord
  readonly cls: 'steady' | 'reconnecting'
  ws: WebSocket | undefined
  connects = 0
  readonly closes: Record<string, number> = {}
  subscribed = false
  ended = false
  finished = false
  error: string | null = null
  private heads: Record<string, number> | undefined
  private dropsScheduled = false
  private readonly timers: NodeJS.Timeout[] = []

  constructor(
    readonly spec: ClientSpec,
    private readonly onSubscribed: () => void,
  ) {
    this.record = new ClientRecord(spec.farms)
    this.cls = spec.dropsAtMs.length > 0 ? 'reconnecting' : 'steady'
  }

  connect(): void {
    const ws = new WebSocket(data.url, { perMessageDeflate: false })
    this.ws = ws
    this.connects++
    ws.on('open', () => {
      // The first subscription asks for everything from position 1; a resume sends the last positions held.
      ws.send(JSON.stringify({ type: 'subscribe', farms: this.spec.farms, cursors: Object.fromEntries(this.record.cursors) }))
    })
    ws.on('message', (raw) => this.onFrame(parseShared(frameText(raw))))
    ws.on('error', () => undefined) // 'close' follows
    ws.on('close', (code, reason) => {
      this.closes[code] = (this.closes[code] ?? 0) + 1
      if (ws !== this.ws || this.finished) return
      if (code === CLOSE.CursorTooOld || code === CLOSE.CursorAhead || code === CLOSE.BadSubscribe) {
        this.error = `closed ${code}: ${reason.toString()}`
        return
      }
      if (code === CLOSE.GoingAway && this.ended) return
      // a dropped connection (1006), a slow-client disconnect (4003) or a server going away early: resume by cursor
      this.timers.push(setTimeout(() => this.connect(), code === CLOSE.SlowClient ? 20 : data.reconnectDelayMs))
    })
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'subscribed') {
      if (!this.subscribed) {
        this.subscribed = true
        this.onSubscribed()
      }
      return
    }
    if (f.type === 'end') {
      this.heads = { ...f.heads }
      this.checkEnded()
      return
    }
    this.recordFrame(f.farm, f.pos, f.events)
    if (!this.dropsScheduled && this.spec.dropsAtMs.length > 0) {
      this.dropsScheduled = true
      for (const at of this.spec.dropsAtMs) this.timers.push(setTimeout(() => this.ws?.terminate(), at))
    }
    if (this.heads) this.checkEnded()
  }

  private recordFrame(farm: string, pos: number, events: readonly LiveEvent[]): void {
    const now = clock()
    const h = latency[this.cls]
    this.record.add(farm, pos, events, (sent) => recordMs(h, now - sent))
  }

  private checkEnded(): void {
    const heads = this.heads
    if (heads && this.spec.farms.every((f) => (this.record.cursors.get(f) ?? 0) >= (heads[f] ?? 0))) this.ended = true
  }

  close(): void {
    this.finished = true
    for (const t of this.timers) clearTimeout(t)
    this.ws?.close(1000, 'done')
  }

  report(): ClientReport {
    const r = this.record
    return {
      client: this.spec.client,
      cls: this.cls,
      farms: this.spec.farms,
      connects: this.connects,
      closes: this.closes,
      events: r.events,
      cursors: Object.fromEntries(r.cursors),
      ended: this.ended,
      error: this.error,
      positionFaults: r.positionFaults,
      devices: Object.fromEntries(r.devices),
      alerts: Object.fromEntries(r.alerts),
    }
  }
}

let subscribed = 0
const clients = data.clients.map(
  (spec) =>
    new SimClient(spec, () => {
      if (++subscribed === data.clients.length) post({ kind: 'ready' })
    }),
)
// Connect in small waves so a thousand handshakes do not arrive at once.
for (let i = 0; i < clients.length; i++) {
  clients[i].connect()
  if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10))
}

port.on('message', (m: ToClients) => {
  if (m.kind !== 'finish') return
  const deadline = clock() + m.deadlineMs
  const poll = (): void => {
    const waiting = clients.filter((c) => !c.ended && c.error === null)
    if (waiting.length > 0 && clock() < deadline) return void setTimeout(poll, 20)
    if (waiting.length > 0)
      post({
        kind: 'log',
        line: `${waiting.length} live clients had not received every event by the deadline (first: client ${waiting[0].spec.client})`,
      })
    for (const c of clients) c.close()
    post({
      kind: 'done',
      reports: clients.map((c) => c.report()),
      latency: { steady: encodeHistogram(latency.steady), reconnecting: encodeHistogram(latency.reconnecting) },
    })
    clearInterval(metricsTimer)
    metrics.stopRuntime()
    setTimeout(() => port.close(), 100)
  }
  poll()
})
