/**
 * SeqTracker (src/ingest/dedupe.ts) is the ingest's exactly-once effect: it must accept a reading
 * exactly when a plain set of the device's accepted seqs does not hold it yet. fast-check drives it
 * and the set side by side through duplicates, gaps (one seq wide included), late fills below the
 * first seq, several devices, and restores from what the database holds (sorted distinct seqs, as
 * IngestCore.restoreTracker reads them), after which the tracker must go on as the set does.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { SeqTracker } from '../../src/ingest/dedupe.js'

type Op =
  | { readonly kind: 'accept'; readonly device: number; readonly seq: number }
  | { readonly kind: 'restore'; readonly device: number; readonly seqs: readonly number[] }

const DEVICES = ['farm01-collar-0001', 'farm01-collar-0002', 'farm02-tank-0001']

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('accept' as const),
      device: fc.integer({ min: 0, max: 2 }),
      seq: fc.integer({ min: 0, max: 24 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restore' as const),
      device: fc.integer({ min: 0, max: 2 }),
      seqs: fc.uniqueArray(fc.integer({ min: 0, max: 24 }), { maxLength: 12 }).map((s) => [...s].sort((a, b) => a - b)),
    }),
  },
)

/** The model: per device, the set of accepted seqs and the highest seq stored so far. */
class SetModel {
  readonly accepted = new Map<string, Set<number>>()
  readonly highest = new Map<string, number>()
  accept(device: string, seq: number): boolean {
    const s = this.accepted.get(device) ?? new Set<number>()
    this.accepted.set(device, s)
    if (s.has(seq)) return false
    s.add(seq)
    return true
  }
  storing(device: string, seq: number): number {
    const prior = this.highest.get(device) ?? -1
    this.highest.set(device, Math.max(prior, seq))
    return prior
  }
  restore(device: string, seqs: readonly number[]): void {
    // A device with nothing stored is as one never seen.
    if (seqs.length) {
      this.accepted.set(device, new Set(seqs))
      this.highest.set(device, Math.max(...seqs))
    } else {
      this.accepted.delete(device)
      this.highest.delete(device)
    }
  }
}

function run(ops: readonly Op[]): void {
  const tracker = new SeqTracker()
  const model = new SetModel()
  ops.forEach((op, i) => {
    const device = DEVICES[op.device]!
    if (op.kind === 'restore') {
      tracker.restore(device, op.seqs)
      model.restore(device, op.seqs)
      return
    }
    const want = model.accept(device, op.seq)
    assert.equal(tracker.accept(device, op.seq), want, `step ${i}: accept(${device}, ${op.seq}) should be ${want}`)
    // The core stores what it accepts, and tells each stored row the device's highest seq before it.
    if (want) assert.equal(tracker.storing(device, op.seq), model.storing(device, op.seq), `step ${i}: prior_seq of ${device} ${op.seq}`)
  })
  assert.equal(tracker.size, [...model.accepted.keys()].length, 'one entry per device seen')
  // Memory is per device plus per gap, not per reading: the gaps held are exactly the runs of seqs
  // missing below the highest accepted one, none empty.
  for (const device of DEVICES) assert.deepEqual(tracker.gapsOf(device), missingRuns(model.accepted.get(device)), `gaps of ${device}`)
}

/** Runs [from, to) of the seqs below the highest that the set does not hold. */
function missingRuns(seqs: ReadonlySet<number> | undefined): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  if (!seqs || seqs.size === 0) return runs
  const max = Math.max(...seqs)
  for (let s = 0; s < max; s++) {
    if (seqs.has(s)) continue
    const last = runs[runs.length - 1]
    if (last && last[1] === s) last[1] = s + 1
    else runs.push([s, s + 1])
  }
  return runs
}

describe('SeqTracker against a set (dedupe.ts)', () => {
  test('accepts exactly the seqs the set has not seen: duplicates, gaps, late fills, restores (fast-check)', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 80 }), run), { numRuns: 400 })
  })

  // The boundaries, spelled out (each also a shape the property reaches).
  const accepts = (ops: ReadonlyArray<readonly [number, boolean]>, restored?: readonly number[]): void => {
    const t = new SeqTracker()
    if (restored) t.restore('d', restored)
    ops.forEach(([seq, want], i) => assert.equal(t.accept('d', seq), want, `step ${i}: accept(${seq})`))
  }

  test('a gap one seq wide is a gap: its seq is stored when it comes late, once', () => {
    accepts([
      [0, true],
      [2, true],
      [1, true],
      [1, false],
      [2, false],
      [3, true],
    ])
  })

  test('readings in order hold no gap at all (memory per gap, not per reading)', () => {
    const t = new SeqTracker()
    for (let seq = 0; seq < 1000; seq++) t.accept('d', seq)
    assert.deepEqual(t.gapsOf('d'), [])
    t.accept('d', 1002)
    assert.deepEqual(t.gapsOf('d'), [[1000, 1002]])
    t.accept('d', 1000)
    assert.deepEqual(t.gapsOf('d'), [[1001, 1002]], 'a fill at the gap’s start leaves no empty piece before it')
    t.accept('d', 1001)
    assert.deepEqual(t.gapsOf('d'), [], 'nor after it')
  })

  test('seqs below the first one seen are a gap too (a device whose first readings come late)', () => {
    accepts([
      [5, true],
      [0, true],
      [4, true],
      [3, true],
      [4, false],
      [5, false],
      [6, true],
    ])
    accepts([
      [1, true],
      [0, true],
      [0, false],
    ])
  })

  test('a filled gap is split around the seq, keeping both sides open', () => {
    accepts([
      [0, true],
      [10, true],
      [5, true],
      [4, true],
      [6, true],
      [9, true],
      [1, true],
      [5, false],
      [7, true],
      [8, true],
      [3, true],
      [2, true],
      [2, false],
    ])
  })

  test('restored from the database: what is stored is a duplicate, a hole in it is not', () => {
    accepts(
      [
        [0, false],
        [2, false],
        [1, true],
        [3, true],
        [4, false],
        [5, true],
        [3, false],
      ],
      [0, 2, 4],
    )
    accepts(
      [
        [0, true],
        [1, true],
        [2, false],
      ],
      [2],
    )
    accepts(
      [
        [0, true],
        [0, false],
      ],
      [],
    )
  })

  test('prior_seq: the highest seq stored before, −1 for the first, kept across a restore', () => {
    const t = new SeqTracker()
    assert.equal(t.storing('d', 3), -1)
    assert.equal(t.storing('d', 1), 3, 'a late reading: stored after a higher seq')
    assert.equal(t.storing('d', 4), 3)
    t.restore('d', [0, 7])
    assert.equal(t.storing('d', 5), 7)
    t.restore('d', [])
    assert.equal(t.storing('d', 0), -1)
  })
})
