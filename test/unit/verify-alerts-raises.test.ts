/**
 * raisesOf, the verifier's own reading of the rules (src/alerts/rules.ts gives the semantics), one
 * small rule at a time over a hand-made oracle: each case lists a device's values seq by seq and the
 * seqs where the rule must raise, worked out by hand from the rule text. P5 decides "missed" and
 * "undetectable" from these seqs, so a wrong raise here is a wrong verdict there.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { AlertRule, Op } from '../../src/alerts/rules.js'
import { deviceAt } from '../../src/fleet.js'
import type { FieldValue } from '../../src/kinds.js'
import type { Oracle } from '../../src/sim/oracle.js'
import { raisesOf } from '../../src/verify/alerts.js'

const DEVICE = deviceAt({ farms: 1, cowsPerFarm: 1, stallsPerFarm: 0, tanksPerFarm: 0 }, 0)

/** An oracle whose reading at seq i has the values rows[i] (past the end: the last row). */
function oracleOf(rows: ReadonlyArray<Readonly<Record<string, FieldValue>>>): Oracle {
  return { expected: (device, seq) => ({ device, seq, ts: seq, values: rows[Math.min(seq, rows.length - 1)]! }) }
}
/** Rows of one field `x` (and `ok`, true unless given). */
const xs = (values: readonly number[], ok: readonly boolean[] = []): Array<Record<string, FieldValue>> =>
  values.map((x, i) => ({ x, ok: ok[i] ?? true }))
const raises = (
  rule: AlertRule,
  rows: ReadonlyArray<Readonly<Record<string, FieldValue>>>,
  from = 0,
  to = rows.length,
  stopAt?: number,
): number[] => raisesOf(rule, DEVICE, oracleOf(rows), from, to, stopAt)

const threshold = (
  op: Op,
  value: number,
  forReadings: number,
  clear: { op: Op; value: number },
  extra: Partial<AlertRule> = {},
): AlertRule =>
  ({ type: 'threshold', anomaly: 'fever', field: 'x', op, value, forReadings, clear, maxDelayReadings: 0, ...extra }) as AlertRule

describe('raisesOf: threshold rules', () => {
  test('raises on the forReadings-th consecutive reading that meets the rule, not before', () => {
    const rule = threshold('>=', 5, 3, { op: '<', value: 2 })
    assert.deepEqual(raises(rule, xs([5, 5, 5, 5])), [2])
    assert.deepEqual(raises(rule, xs([5, 5, 4, 5, 5, 5])), [5], 'a reading that does not meet the rule restarts the count')
    assert.deepEqual(raises(rule, xs([5, 5])), [], 'two of three readings')
  })

  test('each comparison at its boundary: met at the value for >= and <=, not for > and <', () => {
    const at = (op: Op, x: number) => raises(threshold(op, 5, 1, { op: '==', value: -1 }), xs([x])).length === 1
    assert.deepEqual([at('>=', 5), at('>=', 4.9), at('>', 5), at('>', 5.1)], [true, false, false, true])
    assert.deepEqual([at('<=', 5), at('<=', 5.1), at('<', 5), at('<', 4.9)], [true, false, false, true])
    assert.deepEqual([at('==', 5), at('==', 5.1)], [true, false])
  })

  test('stays raised while active; clears only when the clear condition holds, then can raise again', () => {
    const rule = threshold('>=', 5, 1, { op: '<', value: 2 })
    // 5 raises; 3 neither meets nor clears (between the thresholds); 5 again is the same alert;
    // 2 is not below 2, so no clear; 1 clears; 6 raises anew.
    assert.deepEqual(raises(rule, xs([5, 3, 5, 2, 5, 1, 6])), [0, 6])
    assert.deepEqual(raises(rule, xs([5, 1, 5])), [0, 2], 'a clear reading right after the raise')
  })

  test('a clear condition that holds on the raising reading itself does not clear it', () => {
    // x >= 5 raises, and x > 4 "clears": the reading that raises never clears, the next one does.
    const rule = threshold('>=', 5, 1, { op: '>', value: 4 })
    assert.deepEqual(raises(rule, xs([5, 5, 5, 5])), [0, 2])
  })

  test('when guards: a guarded-out reading neither counts, nor resets the count, nor clears', () => {
    const guarded = threshold('>=', 5, 2, { op: '<', value: 2 }, { when: [{ field: 'ok', op: '==', value: true }] })
    assert.deepEqual(raises(guarded, xs([5, 9, 5], [true, false, true])), [2], 'the middle reading is skipped: 5, 5 raise at seq 2')
    assert.deepEqual(raises(guarded, xs([5, 9], [false, true])), [], 'a guarded-out reading that meets the rule does not count')
    assert.deepEqual(raises(guarded, xs([5, 5, 0, 5, 5], [true, true, false, true, true])), [1], 'a guarded-out clear value does not clear')
    assert.deepEqual(raises(guarded, xs([5, 5, 0, 5, 5])), [1, 4], 'the same clear value not guarded out clears')
    const numeric = threshold(
      '>=',
      5,
      1,
      { op: '<', value: 2 },
      {
        when: [
          { field: 'y', op: '>', value: 0 },
          { field: 'x', op: '<', value: 100 },
        ],
      },
    )
    assert.deepEqual(
      raises(numeric, [
        { x: 5, y: 0 },
        { x: 5, y: 1 },
      ]),
      [1],
      'every guard must hold',
    )
    assert.deepEqual(
      raises(numeric, [
        { x: 500, y: 1 },
        { x: 50, y: 1 },
      ]),
      [1],
      'the second guard',
    )
    assert.deepEqual(
      raises(numeric, [
        { x: 5, y: true },
        { x: 5, y: 1 },
      ]),
      [1],
      'a boolean never meets a numeric comparison',
    )
  })

  test('resetAfterReadings: an active alert clears after exactly that many readings without the condition', () => {
    const rule = threshold('>=', 5, 1, { op: '<', value: -100 }, { resetAfterReadings: 3 })
    assert.deepEqual(raises(rule, xs([5, 0, 0, 0, 5])), [0, 4], 'three readings without it: cleared')
    assert.deepEqual(raises(rule, xs([5, 0, 0, 5, 0, 0, 5])), [0], 'two, then the condition again: still the same alert')
    const guarded = threshold(
      '>=',
      5,
      1,
      { op: '<', value: -100 },
      { resetAfterReadings: 3, when: [{ field: 'ok', op: '==', value: true }] },
    )
    assert.deepEqual(
      raises(guarded, xs([5, 9, 9, 9, 5], [true, false, false, false, true])),
      [0, 4],
      'guarded-out readings (even ones that would meet it) count toward the reset',
    )
    assert.deepEqual(raises(guarded, xs([5, 9, 9, 5], [true, false, false, true])), [0], 'two guarded-out readings do not reset it')
    assert.deepEqual(
      raises(threshold('>=', 5, 1, { op: '<', value: -100 }), xs([5, 0, 0, 0, 0, 0, 5])),
      [0],
      'without resetAfterReadings it stays raised',
    )
  })

  test('from and to bound the readings; stopAt ends at the first raise at or after it', () => {
    const rule = threshold('>=', 5, 1, { op: '<', value: 2 })
    const rows = xs([5, 0, 5, 0, 5, 0, 5, 0])
    assert.deepEqual(raises(rule, rows), [0, 2, 4, 6])
    assert.deepEqual(raises(rule, rows, 2, 6), [2, 4], 'seq from is read; seq to is not')
    assert.deepEqual(raises(rule, rows, 0, 8, 4), [0, 2, 4], 'stops at the raise at stopAt')
    assert.deepEqual(raises(rule, rows, 0, 8, 3), [0, 2, 4], 'or the first after it')
    assert.deepEqual(raises(rule, rows, 0, 8, 7), [0, 2, 4, 6], 'none at or after stopAt: to the end')
  })
})

describe('raisesOf: stuck and mean rules', () => {
  const stuck: AlertRule = { type: 'stuck', anomaly: 'stuck', field: 'x', forReadings: 3, maxDelayReadings: 0 }

  test('stuck: raises on the forReadings-th equal reading in a row, clears when the value changes', () => {
    assert.deepEqual(raises(stuck, xs([1, 2, 2, 2, 2])), [3])
    assert.deepEqual(raises(stuck, xs([2, 2])), [], 'two equal readings of three')
    assert.deepEqual(raises(stuck, xs([7, 7, 7, 7, 8, 8, 8])), [2, 6], 'a change clears; the new value is stuck in its turn')
    assert.deepEqual(raises(stuck, xs([7, 7, 7, 8, 7, 7, 7])), [2, 6])
  })

  test('stuck: a guarded-out reading is skipped, so it neither breaks nor extends the run', () => {
    const guarded: AlertRule = { ...stuck, when: [{ field: 'ok', op: '==', value: true }] }
    assert.deepEqual(raises(guarded, xs([4, 9, 4, 4], [true, false, true, true])), [3])
    assert.deepEqual(raises(guarded, xs([4, 4, 4], [true, false, true])), [], 'only two considered readings')
    assert.deepEqual(
      raises(guarded, xs([4, 4, 4, 9, 4, 4], [true, true, true, false, true, true])),
      [2],
      'a guarded-out change does not clear',
    )
  })

  test('stuck: with resetAfterReadings, a value that keeps repeating holds the condition', () => {
    const reset: AlertRule = { ...stuck, resetAfterReadings: 2 }
    assert.deepEqual(raises(reset, xs([3, 3, 3, 3, 3, 3, 3])), [2], 'the condition holds on every reading: no reset')
  })

  const mean: AlertRule = {
    type: 'mean',
    anomaly: 'yieldDrop',
    fields: ['a', 'b'],
    window: 3,
    op: '<',
    value: 10,
    clear: { op: '>=', value: 12 },
    maxDelayReadings: 0,
  }
  const ab = (pairs: ReadonlyArray<readonly [number, number]>) => pairs.map(([a, b]) => ({ a, b, ok: true }))

  test('mean: the mean over the last window readings of the summed fields, only once the window is full', () => {
    // sums 3, 3, 3: the first window is full at seq 2 (mean 3 < 10).
    assert.deepEqual(
      raises(
        mean,
        ab([
          [1, 2],
          [1, 2],
          [1, 2],
        ]),
      ),
      [2],
    )
    // sums 30, 0, 0 → mean 10, not < 10; then 0, 0, 0 (the 30 left the window) → raise at seq 3.
    assert.deepEqual(
      raises(
        mean,
        ab([
          [15, 15],
          [0, 0],
          [0, 0],
          [0, 0],
        ]),
      ),
      [3],
    )
    assert.deepEqual(
      raises(
        mean,
        ab([
          [4.9, 5],
          [4.9, 5],
          [4.9, 5],
        ]),
      ),
      [2],
      'mean 9.9',
    )
    assert.deepEqual(
      raises(
        mean,
        ab([
          [5, 5],
          [5, 5],
          [5, 5],
        ]),
      ),
      [],
      'mean exactly 10 is not < 10 (and both fields count: a alone is 5)',
    )
  })

  test('mean: clears when the mean meets the clear condition (not between the two), then raises again', () => {
    // sums 0,0,0 raise (mean 0); 33 → mean 11 (between: no clear); 33 → 22 ≥ 12: clear; then
    // 0, 0 → mean 11 (no raise), 0 → mean 0 < 10: raise at seq 7.
    assert.deepEqual(
      raises(
        mean,
        ab([
          [0, 0],
          [0, 0],
          [0, 0],
          [33, 0],
          [33, 0],
          [0, 0],
          [0, 0],
          [0, 0],
        ]),
      ),
      [2, 7],
    )
    assert.deepEqual(
      raises(
        mean,
        ab([
          [0, 0],
          [0, 0],
          [0, 0],
          [33, 0],
          [0, 0],
          [0, 0],
          [0, 0],
        ]),
      ),
      [2],
      'mean 11 does not clear, so mean 0 again is the same alert',
    )
  })

  test('mean: a window of one is the reading itself', () => {
    const one: AlertRule = { ...mean, window: 1 }
    assert.deepEqual(
      raises(
        one,
        ab([
          [20, 0],
          [9, 0],
          [9, 0],
          [12, 0],
          [1, 0],
        ]),
      ),
      [1, 4],
    )
  })
})
