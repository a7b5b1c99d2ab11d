/**
 * The live feed over real WebSocket connections on loopback (no other service): a client dropped
 * mid-stream resumes by cursor with nothing missing or doubled (asserted from its own record), a client
 * that stops reading is disconnected with 4003 and counted, then resumes, and a cursor older than the
 * replay buffer is refused with 4001, never skipped.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { WebSocket } from 'ws'
import { ClientRecord } from '../../src/live/client-record.js'
import { LiveFeed, type CommittedReading } from '../../src/live/feed-server.js'
import type { ServerFrame } from '../../src/live/protocol.js'
import { frameText } from '../../src/util/text.js'

const FARMS = ['farm01', 'farm02']
const DEVICES = ['farm01-collar-0001', 'farm01-chiller-0001', 'farm02-collar-0001']
const seqs = new Map<string, number>()

function batch(n: number, pad = 0): CommittedReading[] {
  return Array.from({ length: n }, (_, i) => {
    const device = DEVICES[i % DEVICES.length]!
    const seq = seqs.get(device) ?? 0
    seqs.set(device, seq + 1)
    const values = device.includes('chiller') ? [3.9 + pad, true, false, 1000, 12] : [40, 300, 100, 38.6, 90, -60 - (pad % 10)]
    return { device, kind: device.includes('chiller') ? 'chiller' : 'collar', seq, ts: seq * 60_000, sent: Date.now(), values }
  })
}

/** A client that records what it gets (the same record P9 uses) and can resume from its cursors. */
class TestClient {
  readonly record = new ClientRecord(FARMS)
  ws!: WebSocket
  closes: number[] = []
  reasons: string[] = []
  ended = false
  constructor(private readonly url: string) {}
  connect(resume: boolean): Promise<void> {
    this.ws = new WebSocket(this.url)
    this.ws.on('message', (raw) => {
      const f = JSON.parse(frameText(raw)) as ServerFrame
      if (f.type === 'events') this.record.add(f.farm, f.pos, f.events)
      else if (f.type === 'end') this.ended = true
    })
    this.ws.on('close', (code, reason) => {
      this.closes.push(code)
      this.reasons.push(reason.toString())
    })
    return new Promise((resolve, reject) => {
      this.ws.once('error', reject)
      this.ws.once('message', () => resolve()) // "subscribed"
      this.ws.on('open', () =>
        this.ws.send(
          JSON.stringify({
            type: 'subscribe',
            farms: FARMS,
            cursors: resume ? Object.fromEntries(this.record.cursors) : { farm01: 0, farm02: 0 },
          }),
        ),
      )
    })
  }
  closed(): Promise<number> {
    return new Promise((resolve) =>
      this.ws.readyState === WebSocket.CLOSED ? resolve(this.closes.at(-1)!) : this.ws.once('close', (code) => resolve(code)),
    )
  }
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function assertComplete(record: ClientRecord): void {
  assert.deepEqual(record.positionFaults, [])
  for (const d of DEVICES) {
    const r = record.devices.get(d)
    assert.ok(r, `${d}: received`)
    const n = seqs.get(d)!
    assert.deepEqual(
      { first: r.first, last: r.last, count: r.count, repeats: r.repeats, gaps: r.gaps },
      { first: 0, last: n - 1, count: n, repeats: 0, gaps: [] },
      d,
    )
  }
}

describe('live feed over WebSocket', () => {
  test('a client dropped mid-stream resumes by cursor with nothing missing or doubled', async () => {
    seqs.clear()
    const feed = new LiveFeed({ farms: FARMS, replayEvents: 10_000, clientBufferBytes: 1 << 20 })
    const url = `${(await feed.listen('127.0.0.1', 0)).replace(/^http/, 'ws')}feed`
    try {
      const c = new TestClient(url)
      await c.connect(false)
      for (let i = 0; i < 20; i++) feed.publish(batch(30), [])
      await until('the first 600 events', () => c.record.events === 600)
      c.ws.terminate() // abrupt, like a lost network
      await c.closed()
      for (let i = 0; i < 20; i++) feed.publish(batch(30), []) // missed while away
      await c.connect(true)
      for (let i = 0; i < 20; i++)
        feed.publish(batch(30), [
          { device: 'farm01-collar-0001', kind: 'collar', rule: 'fever', event: 'raise', seq: i, ts: 0, sent: Date.now(), value: 39.8 },
        ])
      feed.end()
      await until('the end frame', () => c.ended)
      assert.equal(c.record.events, 1800 + 20)
      assertComplete(c.record)
      assert.equal(c.record.alerts.get('farm01-collar-0001')?.count, 20)
      assert.deepEqual(Object.fromEntries(c.record.cursors), feed.heads())
      assert.equal(feed.stats.resumes, 2) // the first subscribe sent cursors too (from 0)
      c.ws.close()
    } finally {
      await feed.close()
    }
  })

  test('a client that stops reading is disconnected with 4003 (counted), resumes, and ends complete', async () => {
    seqs.clear()
    const feed = new LiveFeed({ farms: FARMS, replayEvents: 100_000, clientBufferBytes: 64 * 1024, replayChunk: 200 })
    const url = `${(await feed.listen('127.0.0.1', 0)).replace(/^http/, 'ws')}feed`
    try {
      const c = new TestClient(url)
      await c.connect(false)
      c.ws.pause() // a dashboard whose tab froze: the kernel buffers fill, then the server's
      let published = 0
      while (c.closes.length === 0 && feed.stats.slowDisconnects === 0 && published < 400) {
        feed.publish(batch(100, published), [])
        published++
        await new Promise((r) => setImmediate(r))
      }
      assert.equal(feed.stats.slowDisconnects, 1, 'the slow client was disconnected once')
      assert.ok(
        feed.stats.maxBufferedBytes <= 64 * 1024 + 40_000,
        `send buffer stayed near its bound (max ${feed.stats.maxBufferedBytes} B)`,
      )
      c.ws.resume()
      assert.equal(await c.closed(), 4003)
      assert.match(c.reasons.at(-1)!, /slow client/)
      await c.connect(true) // resume: the replay comes in chunks as the socket drains, never past the bound
      for (let i = 0; i < 5; i++) feed.publish(batch(100), [])
      feed.end()
      await until('the end frame', () => c.ended, 30_000)
      assertComplete(c.record)
      c.ws.close()
    } finally {
      await feed.close()
    }
  })

  test('a cursor older than the replay buffer is refused with 4001, never skipped', async () => {
    seqs.clear()
    const feed = new LiveFeed({ farms: FARMS, replayEvents: 100, clientBufferBytes: 1 << 20 })
    const url = `${(await feed.listen('127.0.0.1', 0)).replace(/^http/, 'ws')}feed`
    try {
      const c = new TestClient(url)
      await c.connect(false)
      feed.publish(batch(30), [])
      await until('30 events', () => c.record.events === 30)
      c.ws.terminate()
      await c.closed()
      for (let i = 0; i < 10; i++) feed.publish(batch(60), [])
      const ws = new WebSocket(url)
      const closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])))
      ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', farms: FARMS, cursors: Object.fromEntries(c.record.cursors) })))
      const [code, reason] = await closed
      assert.equal(code, 4001)
      assert.match(reason, /"oldest":\d+/)
      assert.equal(feed.stats.refusedTooOld, 1)
      const bad = new WebSocket(url)
      const badClosed = new Promise<number>((resolve) => bad.on('close', (code2) => resolve(code2)))
      bad.on('open', () => bad.send(JSON.stringify({ type: 'subscribe', farms: ['farm99'] })))
      assert.equal(await badClosed, 4000)
    } finally {
      await feed.close()
    }
  })
})
