/**
 * The default verdict path: the set-based pass (fast.ts) clears in the database only devices whose
 * row count, digest and receive order all match the oracle, and sends each other device — for its
 * reason — to the row-by-row checkers, or the whole kind when more than a quarter fails; P7's checker
 * (dead-letters.ts) matches dead letters to the injected messages and counts each wrong reason, valid
 * reading rejected and missing message. The database is test/support/fake-pg.ts, holding exactly the
 * rows each case stores.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { deviceAt, fleetSize, type Device, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { checkDeadLetters } from '../../src/verify/dead-letters.js'
import { DeviceDigest } from '../../src/verify/digest.js'
import { checkKindsFast } from '../../src/verify/fast.js'
import { checkKindExactly } from '../../src/verify/parallel.js'
import type { OracleDigests } from '../../src/verify/oracle-digests.js'
import type { RunManifest } from '../../src/verify/types.js'
import { fakeClient, type FakeRow } from '../support/fake-pg.js'

const fleet: FleetShape = { farms: 1, cowsPerFarm: 8, stallsPerFarm: 0, tanksPerFarm: 0 }
const PER_DEVICE = 5
const ctx: GeneratorContext = { seed: 42, simStartMs: Date.UTC(2026, 3, 1), fleet }
const manifest: RunManifest = { seed: ctx.seed, simStartMs: ctx.simStartMs, fleet, perDevice: PER_DEVICE, unacked: [], published: 0 }
const devices: Device[] = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))
const reading = (d: Device, seq: number) => {
  const r = generateReading(ctx, d, seq)
  return { ts: r.ts, values: KINDS[d.kind].fields.map((f) => r.values[f.name]!) }
}
/** What an ideal pipeline stores: every reading once, received in seq order. */
const ideal = (): FakeRow[] =>
  devices.flatMap((d, i) => Array.from({ length: PER_DEVICE }, (_, seq) => ({ device: d.id, seq, ...reading(d, seq), rx: i * 100 + seq })))
const oracleDigests = (): Map<string, { rows: number; digest: string; exact: boolean }> =>
  new Map(
    devices.map((d) => {
      const g = new DeviceDigest(d.kind)
      for (let seq = 0; seq < PER_DEVICE; seq++) g.add(seq, reading(d, seq).ts, reading(d, seq).values)
      return [d.id, { rows: PER_DEVICE, digest: g.sum, exact: true }]
    }),
  )

const fast = (rows: FakeRow[], digests: OracleDigests = oracleDigests(), m: RunManifest = manifest) =>
  checkKindsFast(fakeClient({ collar: rows }), 1, m, digests)
const TOTAL = devices.length * PER_DEVICE

describe('the set-based pass (fast.ts)', () => {
  test('an ideal run is cleared in the database: every reading ok, nothing checked row by row', async () => {
    const { perKind, stats } = await fast(ideal())
    assert.deepEqual(stats, { devices: devices.length, clearedInDatabase: devices.length, checkedRowByRow: 0, reasons: {} })
    const c = perKind.get('collar')!
    assert.deepEqual(c.set.counts, {
      expected: TOTAL,
      ok: TOTAL,
      lost: 0,
      unacknowledgedLost: 0,
      recovered: 0,
      duplicated: 0,
      unexpected: 0,
      corrupted: 0,
    })
    assert.deepEqual(c.order, { rows: TOTAL, outOfOrder: 0, worstDisplacement: 0, samples: [] })
    assert.deepEqual([c.set.lost, c.set.duplicated, c.set.unexpected, c.set.corrupted, c.set.lostByDevice], [[], [], [], [], []])
  })

  test('a stranger device does not count against the run’s devices cleared in the database', async () => {
    const rows = ideal().filter((r) => !(r.device === devices[2]!.id && r.seq === 0))
    rows.push({ device: 'farm01-collar-0099', seq: 0, ...reading(devices[0]!, 0), rx: 9999 })
    const { perKind, stats } = await fast(rows)
    assert.deepEqual(stats.reasons, { 'row count': 1, 'not a device of this run': 1 })
    assert.deepEqual([stats.clearedInDatabase, stats.checkedRowByRow], [devices.length - 1, 2])
    assert.deepEqual(
      [perKind.get('collar')!.set.counts.ok, perKind.get('collar')!.set.counts.lost, perKind.get('collar')!.set.counts.unexpected],
      [TOTAL - 1, 1, 1],
    )
  })

  test('one reading received after a higher seq of its device (same rows, same digest) is found', async () => {
    const rows = ideal().map((r) => (r.device === devices[3]!.id && r.seq === 1 ? { ...r, rx: 300 + 2.5 } : r)) // seq 1 after seq 2
    const { perKind, stats } = await fast(rows)
    assert.deepEqual(stats.reasons, { 'receive order': 1 })
    assert.deepEqual([stats.clearedInDatabase, stats.checkedRowByRow], [devices.length - 1, 1])
    const c = perKind.get('collar')!
    assert.equal(c.order.outOfOrder, 1)
    assert.equal(c.order.samples[0]?.device, devices[3]!.id)
    assert.equal(c.order.rows, TOTAL)
    assert.equal(c.set.counts.ok, TOTAL)
  })

  test('each other reason sends its device row by row, where the checkers classify it', async () => {
    const [lostOne, corrupted, empty] = [devices[1]!.id, devices[5]!.id, devices[6]!.id]
    let rows = ideal().filter((r) => !(r.device === lostOne && r.seq === 2) && r.device !== empty)
    rows = rows.map((r) => (r.device === corrupted && r.seq === 4 ? { ...r, values: [Number(r.values[0]) + 1, ...r.values.slice(1)] } : r))
    rows.push({ device: 'farm01-collar-0099', seq: 0, ...reading(devices[0]!, 0), rx: 9999 })
    const { perKind, stats } = await fast(rows)
    assert.deepEqual(stats.reasons, { 'row count': 1, 'digest differs': 1, 'no rows stored': 1, 'not a device of this run': 1 })
    // 3 of 8 devices failed (the stranger is not one of the run's): more than a quarter, so the whole kind goes row by row
    assert.deepEqual([stats.clearedInDatabase, stats.checkedRowByRow], [0, devices.length + 1])
    const c = perKind.get('collar')!.set.counts
    // (a corrupted reading is stored, P1 ok, and counted again by P2)
    assert.deepEqual([c.expected, c.lost, c.corrupted, c.unexpected, c.ok], [TOTAL, 1 + PER_DEVICE, 1, 1, TOTAL - 1 - PER_DEVICE])
  })

  test('up to a quarter of the devices failing, only those go row by row; one more and the kind does', async () => {
    const lose = (ids: string[]) => ideal().filter((r) => !(ids.includes(r.device) && r.seq === 0))
    const two = await fast(lose([devices[0]!.id, devices[7]!.id]))
    assert.deepEqual([two.stats.clearedInDatabase, two.stats.checkedRowByRow], [6, 2])
    assert.deepEqual([two.perKind.get('collar')!.set.counts.lost, two.perKind.get('collar')!.set.counts.ok], [2, TOTAL - 2])
    const three = await fast(lose([devices[0]!.id, devices[4]!.id, devices[7]!.id]))
    assert.deepEqual([three.stats.clearedInDatabase, three.stats.checkedRowByRow], [0, 8])
    assert.equal(three.perKind.get('collar')!.set.counts.lost, 3)
  })

  test('a device with unacknowledged readings, or without an exact oracle digest, is never cleared in the database', async () => {
    const digests = oracleDigests()
    digests.set(devices[2]!.id, { ...digests.get(devices[2]!.id)!, exact: false })
    digests.delete(devices[4]!.id)
    const m: RunManifest = { ...manifest, unacked: [[devices[6]!.index, 3, 5]] }
    const { stats, perKind } = await fast(ideal(), digests, m)
    assert.deepEqual(stats.reasons, { 'no oracle digest': 2, 'has unacknowledged readings': 1 })
    assert.deepEqual([stats.clearedInDatabase, stats.checkedRowByRow], [0, 8])
    // stored although never acknowledged: recovered, not ok
    assert.deepEqual([perKind.get('collar')!.set.counts.ok, perKind.get('collar')!.set.counts.recovered], [TOTAL - 2, 2])
  })
})

describe('row by row over threads (parallel.ts)', () => {
  // 8 cows: 25,000 readings each make 200,000, the least worth a second thread; 50,000 make two shares.
  test('a kind below 2 × 200,000 readings is checked on this connection; from there it goes to threads', async () => {
    const here = await checkKindExactly(fakeClient({ collar: [] }), 1, { ...manifest, perDevice: 25_000 }, 'collar', 2)
    assert.equal(here.set.counts.lost, 8 * 25_000)
    // Threads open their own connections from the client's URL, which only a connect() client has.
    await assert.rejects(
      checkKindExactly(fakeClient({ collar: [] }), 1, { ...manifest, perDevice: 50_000 }, 'collar', 2),
      /opened by connect\(\)/,
    )
    // 8 × 47,000 = 376,000: still one share, so here (a ninth id would make it 423,000 and two shares)
    assert.equal(
      (await checkKindExactly(fakeClient({ collar: [] }), 1, { ...manifest, perDevice: 47_000 }, 'collar', 2)).set.counts.lost,
      8 * 47_000,
    )
    const oneThread = await checkKindExactly(fakeClient({ collar: [] }), 1, { ...manifest, perDevice: 50_000 }, 'collar', 1)
    assert.equal(oneThread.set.counts.lost, 8 * 50_000)
    const noDevices = await checkKindExactly(fakeClient({}), 1, { ...manifest, perDevice: 50_000 }, 'milk', 2)
    assert.equal(noDevices.set.counts.expected, 0)
  })
})

describe('P7 dead letters (dead-letters.ts)', () => {
  const topic = (d: Device) => `farm/${d.farm}/${d.kind}/${d.id}/telemetry`
  const injected = [
    { topic: topic(devices[0]!), payload: Buffer.from('{"device":').toString('base64'), reason: 'invalid-json', type: 'truncated' },
    { topic: topic(devices[1]!), payload: Buffer.from('[1,2]').toString('base64'), reason: 'not-an-object', type: 'not-an-object' },
    { topic: topic(devices[2]!), payload: Buffer.from('{"seq":-1}').toString('base64'), reason: 'bad-seq', type: 'bad-seq' },
    { topic: topic(devices[2]!), payload: Buffer.from('{"seq":-1}').toString('base64'), reason: 'bad-seq', type: 'bad-seq' },
  ]
  const m: RunManifest = { ...manifest, badInput: injected }
  const valid = (d: Device, seq: number) => {
    const r = generateReading(ctx, d, seq)
    return Buffer.from(JSON.stringify({ device: d.id, kind: d.kind, seq, ts: r.ts, sent: r.ts, values: r.values }))
  }
  type Counted = Awaited<ReturnType<typeof checkDeadLetters>> & {
    validRejectedCount: number
    wrongReasonCount: number
    missingCount: number
  }
  const check = async (letters: Parameters<typeof fakeClient>[1]) => (await checkDeadLetters(fakeClient({}, letters), 1, m)) as Counted

  test('every injected message with its reason: nothing missing, wrong or rejected', async () => {
    const r = await check(injected.map((x) => ({ topic: x.topic, payload: Buffer.from(x.payload, 'base64'), reason: x.reason })))
    assert.deepEqual([r.injected, r.found, r.missingCount, r.wrongReasonCount, r.validRejectedCount, r.foreign], [4, 4, 0, 0, 0, 0])
    assert.deepEqual(r.byReason, { 'invalid-json': 1, 'not-an-object': 1, 'bad-seq': 2 })
  })

  test('a wrong reason, a missing message, a valid reading rejected and someone else’s junk are each counted', async () => {
    const r = await check([
      { topic: injected[0]!.topic, payload: Buffer.from(injected[0]!.payload, 'base64'), reason: 'invalid-json' },
      { topic: injected[1]!.topic, payload: Buffer.from(injected[1]!.payload, 'base64'), reason: 'invalid-json' }, // wrong reason
      { topic: injected[2]!.topic, payload: Buffer.from(injected[2]!.payload, 'base64'), reason: 'bad-seq' }, // one of two identical
      { topic: topic(devices[3]!), payload: valid(devices[3]!, 2), reason: 'wrong-type' }, // a valid reading
      {
        topic: topic(devices[3]!),
        payload: Buffer.from('{"device":"farm01-collar-0003","kind":"collar","seq":2,"ts":1,"values":{}}'),
        reason: 'x',
      }, // not the oracle's
      { topic: 'elsewhere', payload: Buffer.from([0xff, 0xfe]), reason: 'invalid-utf8' },
    ])
    assert.deepEqual([r.found, r.wrongReasonCount, r.missingCount, r.validRejectedCount, r.foreign], [3, 1, 1, 1, 2])
    assert.deepEqual(r.wrongReason, [{ topic: injected[1]!.topic, expected: 'not-an-object', got: 'invalid-json', type: 'not-an-object' }])
    assert.deepEqual(r.missing, [{ topic: injected[3]!.topic, reason: 'bad-seq', type: 'bad-seq' }])
    assert.deepEqual(r.validRejected, [{ device: devices[3]!.id, seq: 2, reason: 'wrong-type' }])
  })

  test('only a reading exactly as the oracle has it counts as a valid reading rejected', async () => {
    const d = devices[3]!
    const doc = (seq: number, over: Record<string, unknown> = {}, dev = d) => {
      const r = generateReading(ctx, dev, seq)
      return { device: dev.id, kind: dev.kind, seq, ts: r.ts, sent: r.ts, values: { ...r.values }, ...over }
    }
    const beyond = deviceAt(fleet, fleetSize(fleet)) // the next farm's first cow: not in this run
    const values = doc(2).values as Record<string, unknown>
    const cases: Array<[string, unknown, boolean]> = [
      ['the oracle’s reading', doc(2), true],
      ['seq 0', doc(0), true],
      ['the last seq', doc(PER_DEVICE - 1), true],
      ['seq one past the last', doc(PER_DEVICE), false],
      ['seq −1', doc(2, { seq: -1 }), false],
      ['seq −1 as the generator would make it', doc(-1), false],
      ['a fractional seq', doc(2, { seq: 2.5 }), false],
      ['a seq as text', doc(2, { seq: '2' }), false],
      ['another kind', doc(2, { kind: 'milk' }), false],
      ['a device of no farm of the run', doc(2, { device: 'farm09-collar-0001' }), false],
      ['the device just past the fleet', doc(2, {}, beyond), false],
      ['a device id that is not text', doc(2, { device: 4 }), false],
      ['values null', doc(2, { values: null }), false],
      ['values as text', doc(2, { values: 'x' }), false],
      ['one value off', doc(2, { values: { ...values, activity: Number(values['activity']) + 1 } }), false],
      ['an extra value', doc(2, { values: { ...values, extra: 1 } }), false],
      ['a value missing', doc(2, { values: Object.fromEntries(Object.entries(values).slice(1)) }), false],
      ['another ts', doc(2, { ts: 1 }), false],
      ['JSON null', null, false],
      ['a JSON number', 5, false],
    ]
    for (const [what, body, isValid] of cases) {
      const r = await check([{ topic: topic(d), payload: Buffer.from(JSON.stringify(body)), reason: 'x' }])
      assert.deepEqual([r.validRejectedCount, r.foreign], isValid ? [1, 0] : [0, 1], what)
    }
    const notJson = await check([{ topic: topic(d), payload: Buffer.from('{"device":'), reason: 'invalid-json' }])
    assert.deepEqual([notJson.validRejectedCount, notJson.foreign], [0, 1], 'not JSON')
  })

  test('a dead letter with a NULL topic, payload or reason is an error, not a miscount', async () => {
    const ok = { topic: topic(devices[0]!), payload: Buffer.from('{"device":'), reason: 'invalid-json' }
    for (const nulled of ['topic', 'payload', 'reason'] as const) {
      await assert.rejects(check([ok, { ...ok, [nulled]: null }]), /a dead_letters row has a NULL topic, payload or reason/, nulled)
    }
  })

  test('a run without injected messages: every dead letter is someone else’s or a rejected reading', async () => {
    const r = (await checkDeadLetters(
      fakeClient({}, [{ topic: 'x', payload: Buffer.from('junk'), reason: 'invalid-json' }]),
      1,
      manifest,
    )) as Counted
    assert.deepEqual([r.injected, r.found, r.missingCount, r.foreign], [0, 0, 0, 1])
  })

  test('more than 20 of a class: all counted, 20 samples kept', async () => {
    const many = Array.from({ length: 25 }, (_, i) => ({
      topic: `t${i}`,
      payload: Buffer.from(`p${i}`).toString('base64'),
      reason: 'bad-seq',
      type: 'bad-seq',
    }))
    const wrong = (await checkDeadLetters(
      fakeClient(
        {},
        many.map((x) => ({ topic: x.topic, payload: Buffer.from(x.payload, 'base64'), reason: 'nan' })),
      ),
      1,
      { ...manifest, badInput: many },
    )) as Counted
    assert.deepEqual([wrong.wrongReasonCount, wrong.wrongReason.length], [25, 20])
    const missing = (await checkDeadLetters(fakeClient({}, []), 1, { ...manifest, badInput: many })) as Counted
    assert.deepEqual([missing.missingCount, missing.missing.length], [25, 20])
    const rejected = Array.from({ length: 25 }, (_, i) => ({
      topic: topic(devices[i % 8]!),
      payload: valid(devices[i % 8]!, Math.floor(i / 8)),
      reason: 'x',
    }))
    const v = await check(rejected)
    assert.deepEqual([v.validRejectedCount, v.validRejected.length], [25, 20])
  })
})
