/**
 * The live feed's two policies, property-tested: resuming by cursor from the replay buffer (exactly what
 * was missed, once, or an explicit refusal, never a silent gap), the slow-client send bound (memory never
 * past the bound, every frame sent or the client disconnected and counted), and P9's comparison of a
 * client's record with the database (it names exactly the readings dropped or doubled on the way).
 * Expected outcomes are computed from the scenario alone, never by calling the code under test.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ReplayBuffer } from '../../src/live/replay-buffer.js'
import { decideSend } from '../../src/live/send-policy.js'
import { ClientRecord, type ClientReport } from '../../src/live/client-record.js'
import { compareClients, type StoredDevice } from '../../src/verify/live-feed-check.js'
import type { LiveEvent } from '../../src/live/protocol.js'

const NUM_RUNS = 300

describe('replay buffer', () => {
  test('since(cursor) returns exactly the positions after the cursor, or refuses when any of them is gone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 25 }), { maxLength: 12 }),
        fc.nat(),
        fc.integer({ min: 1, max: 60 }),
        (capacity, batches, c, limit) => {
          const buf = new ReplayBuffer<number>(capacity)
          let head = 0
          for (const n of batches) {
            const first = buf.append(Array.from({ length: n }, (_, i) => head + 1 + i)) // event value = its position
            assert.equal(first, head + 1)
            head += n
          }
          assert.equal(buf.head, head)
          const cursor = c % (head + 2) // 0 … head + 1
          const r = buf.since(cursor, limit)
          if (cursor > head) return assert.equal(r.ok ? 'ok' : r.reason, 'ahead')
          if (head - cursor > capacity) return assert.deepEqual(r.ok ? 'ok' : [r.reason, r.oldest], ['too-old', head - capacity + 1])
          assert.ok(r.ok, `cursor ${cursor}, head ${head}, capacity ${capacity}`)
          const expected = Array.from({ length: Math.min(limit, head - cursor) }, (_, i) => cursor + 1 + i)
          assert.equal(r.pos, cursor + 1)
          assert.deepEqual(r.events, expected)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})

// A farm's feed of readings: device d gets seqs 0, 1, 2 …; each frame is a slice of the stream.
const reading = (device: string, seq: number): LiveEvent => ({
  type: 'reading',
  device,
  kind: 'collar',
  seq,
  ts: seq,
  sent: seq,
  values: {},
})

describe('resume by cursor', () => {
  test('a client that drops its connection anywhere and resumes from its cursor holds every reading once, or is refused explicitly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 200 }),
        fc.array(fc.record({ devices: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 20 }) }), {
          minLength: 1,
          maxLength: 15,
        }),
        fc.array(fc.record({ atFrame: fc.nat(), missedFrames: fc.integer({ min: 0, max: 4 }) }), { maxLength: 4 }),
        (capacity, frameShapes, drops) => {
          const buf = new ReplayBuffer<LiveEvent>(capacity)
          const seqOf = new Map<string, number>()
          const frames = frameShapes.map(({ devices, n }) =>
            Array.from({ length: n }, (_, i) => {
              const d = `farm01-collar-${String(i % devices).padStart(4, '0')}`
              const s = seqOf.get(d) ?? 0
              seqOf.set(d, s + 1)
              return reading(d, s)
            }),
          )
          const rec = new ClientRecord(['farm01'])
          let connected = true
          let refused = false
          const offline = new Map(drops.map((d) => [d.atFrame % frames.length, d.missedFrames]))
          let missUntil = -1
          for (const [i, events] of frames.entries()) {
            const pos = buf.append(events)
            if (offline.has(i) && connected) {
              connected = false
              missUntil = i + offline.get(i)!
            }
            if (!connected && i >= missUntil) {
              // resume: what the server does on subscribe with a cursor
              const r = buf.since(rec.cursors.get('farm01')!)
              if (!r.ok) {
                assert.equal(r.reason, 'too-old')
                assert.ok(buf.head - rec.cursors.get('farm01')! > capacity, 'refused only when the buffer no longer holds the events')
                refused = true
                break
              }
              rec.add('farm01', r.pos, r.events)
              connected = true
              continue
            }
            if (connected) rec.add('farm01', pos, events)
          }
          if (refused) return
          if (!connected) {
            const r = buf.since(rec.cursors.get('farm01')!)
            if (!r.ok) return
            rec.add('farm01', r.pos, r.events)
          }
          assert.deepEqual(rec.positionFaults, [])
          assert.equal(rec.cursors.get('farm01'), buf.head)
          for (const [device, n] of seqOf) {
            const d = rec.devices.get(device)!
            assert.deepEqual([d.first, d.last, d.count, d.repeats, d.gaps], [0, n - 1, n, 0, []], device)
          }
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})

describe('slow-client send bound', () => {
  test('the send buffer never passes the bound (plus one frame into an empty buffer); a frame is sent or the client is disconnected and counted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('frame' as const), bytes: fc.integer({ min: 1, max: 4000 }) }),
            fc.record({ op: fc.constant('drain' as const), bytes: fc.integer({ min: 0, max: 6000 }) }),
          ),
          { maxLength: 80 },
        ),
        (max, ops) => {
          let buffered = 0
          let connected = true
          let sent = 0
          let offered = 0
          let disconnects = 0
          let biggestFrame = 0
          for (const o of ops) {
            if (!connected) break
            if (o.op === 'drain') {
              buffered = Math.max(0, buffered - o.bytes)
              continue
            }
            offered++
            biggestFrame = Math.max(biggestFrame, o.bytes)
            const fits = buffered === 0 || buffered + o.bytes <= max
            const decision = decideSend(buffered, o.bytes, max)
            assert.equal(decision, fits ? 'send' : 'disconnect')
            if (decision === 'send') {
              buffered += o.bytes
              sent++
            } else {
              disconnects++
              connected = false
            }
            assert.ok(buffered <= Math.max(max, biggestFrame), `buffered ${buffered} > bound ${max}`)
          }
          // never a silent loss: every frame offered was sent, except the one that disconnected the client
          assert.equal(sent + disconnects, offered)
          assert.ok(disconnects <= 1)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})

describe('P9 compares client records with the database', () => {
  test('names exactly the readings a client missed or got twice', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ type: fc.constantFrom('drop', 'duplicate'), device: fc.nat(), seq: fc.nat() }), { maxLength: 3 }),
        (perDevice, faults) => {
          const devices = perDevice.map((_, i) => `farm01-collar-${String(i).padStart(4, '0')}`)
          const stored = new Map<string, StoredDevice>(devices.map((d, i) => [d, { count: perDevice[i]!, min: 0, max: perDevice[i]! - 1 }]))
          const dropped = new Set<string>()
          const doubled = new Set<string>()
          for (const f of faults) {
            const di = f.device % devices.length
            const key = `${devices[di]}/${f.seq % perDevice[di]!}`
            ;(f.type === 'drop' ? dropped : doubled).add(key)
          }
          const rec = new ClientRecord(['farm01'])
          const events: LiveEvent[] = []
          for (const [i, d] of devices.entries()) {
            for (let s = 0; s < perDevice[i]!; s++) {
              const key = `${d}/${s}`
              if (dropped.has(key)) continue
              events.push(reading(d, s))
              if (doubled.has(key)) events.push(reading(d, s))
            }
          }
          rec.add('farm01', 1, events)
          const report: ClientReport = {
            client: 7,
            cls: 'steady',
            farms: ['farm01'],
            connects: 1,
            closes: {},
            events: rec.events,
            cursors: { farm01: events.length },
            ended: true,
            error: null,
            positionFaults: [],
            devices: Object.fromEntries(rec.devices),
            alerts: {},
          }
          const out = compareClients([report], stored, new Map())
          const c = out.classes.steady
          const doubledKept = [...doubled].filter((k) => !dropped.has(k))
          assert.equal(c.missing, dropped.size)
          assert.equal(c.duplicated, doubledKept.length)
          assert.equal(c.unexpected, 0)
          const firstDropPerDevice = new Map<string, number>()
          for (const k of dropped) {
            const [d, s] = k.split('/') as [string, string]
            firstDropPerDevice.set(d, Math.min(firstDropPerDevice.get(d) ?? Infinity, Number(s)))
          }
          assert.deepEqual(
            out.missing.map((m) => [m.client, m.device, m.seq]).sort(),
            [...firstDropPerDevice].map(([d, s]) => [7, d, s]).sort(),
          )
          assert.equal(out.duplicated.length, new Set(doubledKept.map((k) => k.split('/')[0])).size)
          assert.equal(out.failedClients.length, 0)
        },
      ),
      { numRuns: NUM_RUNS },
    )
  })
})
