/**
 * Principle 9: property-test the verifier with injected faults. Each run builds a small fleet, produces
 * the stored stream an ideal pipeline would leave (from the real generator), injects faults chosen by
 * fast-check, and checks that SetChecker (P1 + P2) and OrderChecker (P3) report exactly those faults.
 * The expected report is computed here from the injected faults alone, never by calling a checker.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { deviceAt, farmId, fleetSize, type Device, type FleetShape } from '../../src/fleet.js'
import { KINDS, KIND_NAMES, type FieldValue, type Kind } from '../../src/kinds.js'
import type { FleetOutage } from '../../src/sim/context.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { ANOMALIES, loadSensorModels, type SensorModels } from '../../src/sim/models.js'
import type { UnackedRange } from '../../src/sim/messages.js'
import { SetChecker, type SetCounts, type StoredReading } from '../../src/verify/completeness.js'
import { OrderChecker } from '../../src/verify/ordering.js'
import type { RunManifest, Sample } from '../../src/verify/types.js'

const SAMPLE_CAP = 20 // how many samples a checker keeps per class (src/verify/*.ts)
const NUM_RUNS = 200
/** A seed whose 200 runs inject more lost readings than the sample cap in at least 2 % of them (checked below). */
const MANY_LOST_SEED = 20261206

const MAX = { farms: 2, cows: 4, stalls: 2, tanks: 1, perDevice: 8 }

// ---------------------------------------------------------------------------------------------------
// Scenario: fleet, manifest and the faults to inject, all chosen by fast-check. Faults are a short list
// that shrinks to the one that matters; `at` picks a (device, seq) cell modulo the fleet's cells.

type Fault =
  | { readonly type: 'drop'; readonly at: number }
  | { readonly type: 'drop-device'; readonly at: number }
  | { readonly type: 'drop-span'; readonly at: number; readonly length: number } // an outage, across devices
  | { readonly type: 'unacked'; readonly at: number; readonly length: number }
  | { readonly type: 'duplicate'; readonly at: number; readonly copies: number }
  | { readonly type: 'corrupt'; readonly at: number; readonly field: number; readonly how: 'shift' | 'null'; readonly amount: number }

const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('drop' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('drop-device' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('drop-span' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('unacked' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('duplicate' as const), at: fc.nat(), copies: fc.integer({ min: 1, max: 2 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('corrupt' as const),
      at: fc.nat(),
      field: fc.nat(), // modulo fields + 1: the extra slot is ts
      how: fc.constantFrom<'shift' | 'null'>('shift', 'null'),
      amount: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: -1000, max: -1 })),
    }),
  },
)

type UnexpectedKind = 'unknown-id' | 'other-kind' | 'beyond-published'
interface UnexpectedPick {
  readonly type: UnexpectedKind
  readonly pick: number
  readonly variant: number
  readonly seq: number
}
const unexpectedPick: fc.Arbitrary<UnexpectedPick> = fc.record({
  type: fc.constantFrom<UnexpectedKind>('unknown-id', 'other-kind', 'beyond-published'),
  pick: fc.nat(),
  variant: fc.nat(),
  seq: fc.nat(4),
})

/** Run constants the manifest carries beyond the seed; the checker's oracle must honour them. */
interface SimConstants {
  readonly models?: SensorModels
  readonly startHour?: number
  readonly outages?: readonly FleetOutage[]
}
const FREQUENT_ANOMALIES = loadSensorModels(
  Object.fromEntries(
    (Object.keys(ANOMALIES) as Kind[]).map((k) => [k, { anomalies: Object.fromEntries(ANOMALIES[k].map((a) => [a, { perDay: 50 }])) }]),
  ),
)
/** Named for counterexamples (a non-enumerable name, so spreading the constants does not copy it). */
const named = (name: string, sim: SimConstants): SimConstants =>
  Object.defineProperty(sim, fc.toStringMethod, { value: () => name, enumerable: false })
const simArb: fc.Arbitrary<SimConstants> = fc.constantFrom<SimConstants>(
  named('{}', {}),
  named('{ startHour: 15.5 }', { startHour: 15.5 }),
  named('{ models: FREQUENT_ANOMALIES, startHour: 4.75, outages: [1..5 @ 50 %] }', {
    models: FREQUENT_ANOMALIES,
    startHour: 4.75,
    outages: [{ fromSeq: 1, toSeq: 5, share: 0.5 }],
  }),
)

interface Scenario {
  readonly fleet: FleetShape
  readonly perDevice: number
  readonly seed: number
  readonly simStartMs: number
  readonly sim: SimConstants
  readonly faults: readonly Fault[]
  readonly unexpected: readonly UnexpectedPick[]
  /** Receive-order swaps for P3: [device group, i, j]. */
  readonly swaps: ReadonlyArray<readonly [number, number, number]>
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  fleet: fc.record({
    farms: fc.integer({ min: 1, max: MAX.farms }),
    cowsPerFarm: fc.integer({ min: 1, max: MAX.cows }),
    stallsPerFarm: fc.integer({ min: 0, max: MAX.stalls }),
    tanksPerFarm: fc.integer({ min: 1, max: MAX.tanks }),
  }),
  perDevice: fc.integer({ min: 1, max: MAX.perDevice }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  simStartMs: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
  sim: simArb,
  faults: fc.array(faultArb, { maxLength: 40, size: 'medium' }),
  unexpected: fc.array(unexpectedPick, { maxLength: 5 }),
  swaps: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { maxLength: 8 }),
})

// ---------------------------------------------------------------------------------------------------
// Building the stored stream and the expected report from the injected faults.

interface Key {
  readonly device: string
  readonly seq: number
}
interface Expected {
  counts: SetCounts
  lost: Key[]
  duplicated: Key[]
  unexpected: Key[]
  corrupted: Array<Key & { field: string }>
  lostByDevice: Map<string, number>
}
interface Built {
  readonly manifest: RunManifest
  /** Per kind: rows as the verifier's first query returns them, sorted by (device, seq). */
  readonly stored: Map<Kind, StoredReading[]>
  readonly expected: Map<Kind, Expected>
}

/** Byte order of UTF-8, i.e. code-point order: what ORDER BY device COLLATE "C" gives. */
const byCodePoint = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

const valuesInFieldOrder = (kind: Kind, values: Readonly<Record<string, FieldValue>>): FieldValue[] =>
  KINDS[kind].fields.map((f) => {
    const v = values[f.name]
    assert.ok(v !== undefined, `generator produced no ${kind}.${f.name}`)
    return v
  })

type Corruption = Extract<Fault, { type: 'corrupt' }>

function corrupt(kind: Kind, row: StoredReading, c: Corruption): { row: StoredReading; field: string } {
  const fields = KINDS[kind].fields
  const slot = c.field % (fields.length + 1)
  if (slot === fields.length) return { row: { ...row, ts: row.ts + c.amount }, field: 'ts' }
  const spec = fields[slot]!
  const values = [...row.values]
  const was = values[slot]
  let now: FieldValue | null
  if (c.how === 'null') now = null
  else if (spec.type === 'bool') now = !was
  else if (spec.type === 'int4') now = (was as number) + c.amount
  else now = (was as number) + c.amount / 100 // still a two-decimal value, as a plausible sensor error would be
  assert.notEqual(now, was, 'test bug: the corruption must change the value')
  values[slot] = now
  return { row: { ...row, values }, field: spec.name }
}

/** The faults of one (device, seq), merged from the fault list. */
interface CellFaults {
  dropped: boolean
  unacked: boolean
  extraCopies: number
  corruption: Corruption | undefined
}

function build(s: Scenario): Built {
  const { fleet, perDevice } = s
  const devices: Device[] = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))
  const ctx: GeneratorContext = { seed: s.seed, simStartMs: s.simStartMs, fleet, ...s.sim }
  const realIds = new Set(devices.map((d) => d.id))

  const cells: CellFaults[] = Array.from({ length: devices.length * perDevice }, () => ({
    dropped: false,
    unacked: false,
    extraCopies: 0,
    corruption: undefined,
  }))
  const unacked: UnackedRange[] = []
  for (const f of s.faults) {
    const at = f.at % cells.length
    const device = Math.floor(at / perDevice)
    const seq = at % perDevice
    switch (f.type) {
      case 'drop':
        cells[at]!.dropped = true
        break
      case 'drop-device':
        for (let q = 0; q < perDevice; q++) cells[device * perDevice + q]!.dropped = true
        break
      case 'drop-span':
        for (let q = at; q < Math.min(cells.length, at + f.length); q++) cells[q]!.dropped = true
        break
      case 'duplicate':
        cells[at]!.extraCopies += f.copies
        break
      case 'corrupt':
        cells[at]!.corruption ??= f
        break // a second shift could undo the first
      case 'unacked': {
        const to = Math.min(perDevice, seq + f.length) // ranges may overlap, never pass what was published
        unacked.push([device, seq, to])
        for (let q = seq; q < to; q++) cells[device * perDevice + q]!.unacked = true
        break
      }
    }
  }

  const stored = new Map<Kind, StoredReading[]>(KIND_NAMES.map((k) => [k, []]))
  const expected = new Map<Kind, Expected>(
    KIND_NAMES.map((k) => [
      k,
      {
        counts: { expected: 0, ok: 0, lost: 0, unacknowledgedLost: 0, recovered: 0, duplicated: 0, unexpected: 0, corrupted: 0 },
        lost: [],
        duplicated: [],
        unexpected: [],
        corrupted: [],
        lostByDevice: new Map<string, number>(),
      },
    ]),
  )

  for (const d of devices) {
    const exp = expected.get(d.kind)!
    const rows = stored.get(d.kind)!
    for (let seq = 0; seq < perDevice; seq++) {
      const c = cells[d.index * perDevice + seq]!
      exp.counts.expected++
      if (c.dropped) {
        if (c.unacked) exp.counts.unacknowledgedLost++
        else {
          exp.counts.lost++
          exp.lost.push({ device: d.id, seq })
          exp.lostByDevice.set(d.id, (exp.lostByDevice.get(d.id) ?? 0) + 1)
        }
        continue
      }
      if (c.unacked) exp.counts.recovered++
      else exp.counts.ok++ // a corrupted reading is still stored: P2 counts it, P1 does not
      const r = generateReading(ctx, d, seq)
      let row: StoredReading = { device: d.id, seq, ts: r.ts, values: valuesInFieldOrder(d.kind, r.values) }
      if (c.corruption) {
        const bad = corrupt(d.kind, row, c.corruption)
        row = bad.row
        exp.counts.corrupted++
        exp.corrupted.push({ device: d.id, seq, field: bad.field })
      }
      rows.push(row)
      // A redelivered copy is the same bytes, so the same stored row.
      for (let k = 0; k < c.extraCopies; k++) {
        rows.push(row)
        exp.counts.duplicated++
        exp.duplicated.push({ device: d.id, seq })
      }
    }
  }

  // Rows the run never published: unknown ids, devices of another kind in this kind's table, seqs ≥ perDevice.
  const injected = new Set<string>()
  for (const u of s.unexpected) {
    let kind: Kind
    let device: string
    let seq = u.seq
    if (u.type === 'beyond-published') {
      const d = devices[u.pick % devices.length]!
      kind = d.kind
      device = d.id
      seq = perDevice + u.seq
    } else if (u.type === 'other-kind') {
      const d = devices[u.pick % devices.length]!
      const others = KIND_NAMES.filter((k) => k !== d.kind)
      kind = others[u.variant % others.length]!
      device = d.id
    } else {
      kind = KIND_NAMES[u.pick % KIND_NAMES.length]!
      const countOf = { collar: fleet.cowsPerFarm, milk: fleet.stallsPerFarm, chiller: fleet.tanksPerFarm }[kind]
      const someReal = devices[u.pick % devices.length]!.id
      const candidates = [
        `${farmId(fleet, 0)}-${kind}-${String(countOf + 1).padStart(4, '0')}`, // one past the last ordinal
        `${farmId(fleet, fleet.farms)}-${kind}-0001`, // a farm the fleet does not have
        `${someReal}x`, // sorts right after a real device
        '0-sorts-before-every-device',
        '~sorts-after-every-device',
      ]
      device = candidates[u.variant % candidates.length]!
      assert.ok(!realIds.has(device), `test bug: ${device} is a real device`)
    }
    const key = `${kind} ${device} ${seq}`
    if (injected.has(key)) continue // each unexpected row once: a second copy would be a duplicate
    injected.add(key)
    const exp = expected.get(kind)!
    exp.counts.unexpected++
    exp.unexpected.push({ device, seq })
    stored.get(kind)!.push({ device, seq, ts: s.simStartMs, values: KINDS[kind].fields.map(() => 0) })
  }

  // ORDER BY device COLLATE "C", seq — stable, so copies stay together.
  for (const rows of stored.values()) rows.sort((a, b) => byCodePoint(a.device, b.device) || a.seq - b.seq)

  const manifest: RunManifest = {
    seed: s.seed,
    simStartMs: s.simStartMs,
    fleet,
    ...s.sim,
    perDevice,
    unacked,
    published: devices.length * perDevice,
  }
  return { manifest, stored, expected }
}

// ---------------------------------------------------------------------------------------------------
// Comparing samples with the injected faults.

const keyOf = (k: Key): string => `${k.device}#${k.seq}`
const multiset = (keys: readonly Key[]): Map<string, number> => {
  const m = new Map<string, number>()
  for (const k of keys) m.set(keyOf(k), (m.get(keyOf(k)) ?? 0) + 1)
  return m
}

/** Few faults: the samples name exactly the injected (device, seq)s. Many: 20 of them, each a real one. */
function assertSamples(what: string, samples: readonly Sample[], injected: readonly Key[]): void {
  if (injected.length <= SAMPLE_CAP) {
    assert.deepEqual(multiset(samples), multiset(injected), `${what} samples name the injected faults`)
    return
  }
  assert.equal(samples.length, SAMPLE_CAP, `${what}: samples are capped at ${SAMPLE_CAP}`)
  const pool = multiset(injected)
  for (const s of samples) {
    const left = pool.get(keyOf(s)) ?? 0
    assert.ok(left > 0, `${what} sample ${keyOf(s)} was not injected (or named too often)`)
    pool.set(keyOf(s), left - 1)
  }
}

// ---------------------------------------------------------------------------------------------------
// P1 + P2: SetChecker.

/** How many runs exercised each class; a property that never injects a fault proves nothing. */
type Tally = Record<keyof SetCounts | 'manyLost' | 'outOfOrder', number>
const newTally = (): Tally => ({
  expected: 0,
  ok: 0,
  lost: 0,
  unacknowledgedLost: 0,
  recovered: 0,
  duplicated: 0,
  unexpected: 0,
  corrupted: 0,
  manyLost: 0,
  outOfOrder: 0,
})

function checkSet(s: Scenario, tally: Tally): void {
  const { manifest, stored, expected } = build(s)
  const seen = new Set<keyof Tally>()
  for (const kind of KIND_NAMES) {
    const exp = expected.get(kind)!
    for (const k of Object.keys(exp.counts) as Array<keyof SetCounts>) if (exp.counts[k] > 0) seen.add(k)
    if (exp.lost.length > SAMPLE_CAP) seen.add('manyLost')
    const checker = new SetChecker(manifest, kind)
    for (const row of stored.get(kind)!) checker.add(row)
    const report = checker.finish()
    const c = report.counts

    assert.deepEqual(c, exp.counts, `${kind}: counts equal the injected faults`)
    assert.equal(c.ok + c.recovered + c.lost + c.unacknowledgedLost, c.expected, `${kind}: every expected reading is classified once`)

    assertSamples(`${kind} lost`, report.lost, exp.lost)
    assertSamples(`${kind} duplicated`, report.duplicated, exp.duplicated)
    assertSamples(`${kind} unexpected`, report.unexpected, exp.unexpected)
    assertSamples(`${kind} corrupted`, report.corrupted, exp.corrupted)
    for (const sample of report.corrupted) {
      const injected = exp.corrupted.find((k) => k.device === sample.device && k.seq === sample.seq)!
      assert.ok(
        sample.detail?.startsWith(`${injected.field} `),
        `${kind} corrupted ${keyOf(sample)} names field ${injected.field}: got "${sample.detail}"`,
      )
    }

    // Devices with losses, most first (at most 20 devices per kind here, so all of them).
    assert.deepEqual(new Map(report.lostByDevice), exp.lostByDevice, `${kind}: lost readings per device`)
    for (let i = 1; i < report.lostByDevice.length; i++) {
      assert.ok(report.lostByDevice[i - 1]![1] >= report.lostByDevice[i]![1], `${kind}: lostByDevice is sorted, most first`)
    }
  }
  for (const k of seen) tally[k]++
}

// ---------------------------------------------------------------------------------------------------
// P3: OrderChecker, against an O(n²) reference on the receive order.

interface ReceivedRow {
  readonly device: string
  readonly seq: number
}

/** Receive order: each device's stored rows, then the scenario's swaps inside one device. */
function receiveOrder(rows: readonly StoredReading[], swaps: Scenario['swaps']): ReceivedRow[] {
  const groups: ReceivedRow[][] = []
  for (const r of rows) {
    const last = groups[groups.length - 1]
    if (last && last[0]!.device === r.device) last.push({ device: r.device, seq: r.seq })
    else groups.push([{ device: r.device, seq: r.seq }])
  }
  if (groups.length > 0) {
    for (const [g, i, j] of swaps) {
      const group = groups[g % groups.length]!
      const a = i % group.length
      const b = j % group.length
      ;[group[a], group[b]] = [group[b]!, group[a]!]
    }
  }
  return groups.flat()
}

interface OrderExpectation {
  outOfOrder: number
  worstDisplacement: number
  samples: Sample[]
}

/** A row is late when an earlier row of the same device has a higher seq. Deliberately naive. */
function referenceOrder(rows: readonly ReceivedRow[]): OrderExpectation {
  const out: OrderExpectation = { outOfOrder: 0, worstDisplacement: 0, samples: [] }
  for (let p = 0; p < rows.length; p++) {
    let highestBefore = -Infinity
    for (let q = 0; q < p; q++) if (rows[q]!.device === rows[p]!.device) highestBefore = Math.max(highestBefore, rows[q]!.seq)
    if (rows[p]!.seq < highestBefore) {
      out.outOfOrder++
      out.worstDisplacement = Math.max(out.worstDisplacement, highestBefore - rows[p]!.seq)
      out.samples.push({ device: rows[p]!.device, seq: rows[p]!.seq, detail: `received after seq ${highestBefore}` })
    }
  }
  out.samples = out.samples.slice(0, SAMPLE_CAP)
  return out
}

function checkOrder(s: Scenario, tally: Tally): void {
  const { stored } = build(s)
  let late = false
  for (const kind of KIND_NAMES) {
    const received = receiveOrder(stored.get(kind)!, s.swaps)
    const checker = new OrderChecker()
    for (const r of received) checker.add(r.device, r.seq)
    const want = referenceOrder(received)
    assert.equal(checker.report.rows, received.length, `${kind}: every row counted`)
    assert.equal(checker.report.outOfOrder, want.outOfOrder, `${kind}: out-of-order rows`)
    assert.equal(checker.report.worstDisplacement, want.worstDisplacement, `${kind}: worst displacement`)
    assert.deepEqual(checker.report.samples, want.samples, `${kind}: samples name the late rows, in receive order`)
    late ||= want.outOfOrder > 0
  }
  if (late) tally.outOfOrder++
}

/** Each listed class must have been injected in at least `minShare` of the runs. */
function assertExercised(tally: Tally, classes: Array<keyof Tally>, minShare: number): void {
  for (const k of classes)
    assert.ok(tally[k] >= NUM_RUNS * minShare, `only ${tally[k]} of ${NUM_RUNS} runs injected ${k}: the generator lost its teeth`)
}

// ---------------------------------------------------------------------------------------------------

describe('SetChecker (P1 completeness, P2 integrity) finds exactly the injected faults', () => {
  test('drops, duplicates, corruptions, unexpected rows and unacknowledged seqs', () => {
    const tally = newTally()
    fc.assert(
      fc.property(scenarioArb, (s) => checkSet(s, tally)),
      { numRuns: NUM_RUNS, includeErrorInReport: true },
    )
    assertExercised(tally, ['ok', 'lost', 'unacknowledgedLost', 'recovered', 'duplicated', 'unexpected', 'corrupted'], 0.2)
    // More lost than the sample cap comes in about 2 % of random runs, so under a fresh seed the generator's
    // coverage of it failed CI now and then (1 of 200): checked on runs from a fixed seed instead, the
    // checker judged on each of them as well.
    const rare = newTally()
    fc.assert(
      fc.property(scenarioArb, (s) => checkSet(s, rare)),
      { numRuns: NUM_RUNS, seed: MANY_LOST_SEED, includeErrorInReport: true },
    )
    assertExercised(rare, ['manyLost'], 0.02)
  })

  test('an ideal stream is all ok', () => {
    const fleet: FleetShape = { farms: 2, cowsPerFarm: 3, stallsPerFarm: 2, tanksPerFarm: 1 }
    const manifest: RunManifest = { seed: 7, simStartMs: Date.UTC(2026, 0, 1), fleet, perDevice: 5, unacked: [], published: 30 * 5 }
    const ctx: GeneratorContext = { seed: manifest.seed, simStartMs: manifest.simStartMs, fleet }
    for (const kind of KIND_NAMES) {
      const devices = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i)).filter((d) => d.kind === kind)
      devices.sort((a, b) => byCodePoint(a.id, b.id))
      const checker = new SetChecker(manifest, kind)
      for (const d of devices) {
        for (let seq = 0; seq < 5; seq++) {
          const r = generateReading(ctx, d, seq)
          checker.add({ device: d.id, seq, ts: r.ts, values: valuesInFieldOrder(kind, r.values) })
        }
      }
      const n = devices.length * 5
      assert.deepEqual(checker.finish().counts, {
        expected: n,
        ok: n,
        lost: 0,
        unacknowledgedLost: 0,
        recovered: 0,
        duplicated: 0,
        unexpected: 0,
        corrupted: 0,
      })
    }
  })

  test('nothing stored: every acknowledged reading is lost, every unacknowledged one is unacknowledgedLost', () => {
    const fleet: FleetShape = { farms: 1, cowsPerFarm: 2, stallsPerFarm: 0, tanksPerFarm: 1 }
    // Device indexes: 0, 1 collars; 2 chiller. Collar 1 never acknowledged seqs 1..2.
    const manifest: RunManifest = { seed: 1, simStartMs: 0, fleet, perDevice: 4, unacked: [[1, 1, 3]], published: 12 }
    const report = new SetChecker(manifest, 'collar').finish()
    assert.deepEqual(report.counts, {
      expected: 8,
      ok: 0,
      lost: 6,
      unacknowledgedLost: 2,
      recovered: 0,
      duplicated: 0,
      unexpected: 0,
      corrupted: 0,
    })
    assert.deepEqual(report.lost.map(keyOf), [
      'farm01-collar-0001#0',
      'farm01-collar-0001#1',
      'farm01-collar-0001#2',
      'farm01-collar-0001#3',
      'farm01-collar-0002#0',
      'farm01-collar-0002#3',
    ])
    assert.deepEqual(report.lostByDevice, [
      ['farm01-collar-0001', 4],
      ['farm01-collar-0002', 2],
    ])
  })

  // Known bug (see the report): lastSeq starts at -1, so a stored seq -1 opening a device matches it and
  // is called a duplicate, though add() plainly means `row.seq < 0` to be unexpected. Unreachable from
  // the ingest today (the decoder rejects negative seqs) but not from the table (seq int, no CHECK).
  test('a negative seq is unexpected, not a duplicate', () => {
    const fleet: FleetShape = { farms: 1, cowsPerFarm: 1, stallsPerFarm: 0, tanksPerFarm: 1 }
    const manifest: RunManifest = { seed: 3, simStartMs: 0, fleet, perDevice: 2, unacked: [], published: 4 }
    const ctx: GeneratorContext = { seed: 3, simStartMs: 0, fleet }
    const d = deviceAt(fleet, 0)
    const checker = new SetChecker(manifest, 'collar')
    checker.add({ device: d.id, seq: -1, ts: 0, values: KINDS.collar.fields.map(() => 0) })
    for (let seq = 0; seq < 2; seq++) {
      const r = generateReading(ctx, d, seq)
      checker.add({ device: d.id, seq, ts: r.ts, values: valuesInFieldOrder('collar', r.values) })
    }
    const c = checker.finish().counts
    assert.equal(c.duplicated, 0)
    assert.equal(c.unexpected, 1)
  })
})

describe('OrderChecker (P3 ordering) finds exactly the reordered rows', () => {
  test('rows whose seq is below one the device delivered earlier, and the worst displacement', () => {
    const tally = newTally()
    fc.assert(
      fc.property(scenarioArb, (s) => checkOrder(s, tally)),
      { numRuns: NUM_RUNS, includeErrorInReport: true },
    )
    assertExercised(tally, ['outOfOrder'], 0.2)
  })

  test('a hand-made receive order', () => {
    const checker = new OrderChecker()
    // a: 0 2 1 3 1 5 4  → late: 1 (after 2), 1 (after 3), 4 (after 5); b restarts the watermark.
    for (const seq of [0, 2, 1, 3, 1, 5, 4]) checker.add('a', seq)
    for (const seq of [0, 1]) checker.add('b', seq)
    assert.equal(checker.report.rows, 9)
    assert.equal(checker.report.outOfOrder, 3)
    assert.equal(checker.report.worstDisplacement, 2)
    assert.deepEqual(checker.report.samples.map(keyOf), ['a#1', 'a#1', 'a#4'])
  })
})
