/**
 * P8's oracle side (src/verify/dashboard-aggregates.ts) against an independent model: the 1-minute
 * buckets of a device's readings computed with plain array operations, column by column, booleans as
 * 1 and 0 and NULLs left out; the tolerance on both sides of its boundary; which functions are exact.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  AGGREGATES,
  BucketAccumulator,
  BUCKET_MS,
  exactFn,
  REL_TOLERANCE,
  sameValue,
  TOLERANCE_NOTE,
} from '../../src/verify/dashboard-aggregates.js'
import { modelBuckets as model } from '../support/bucket-model.js'

test('BucketAccumulator equals the model on every column of every aggregate (booleans, NULLs, negative values)', () => {
  for (const spec of AGGREGATES) {
    const fields = spec.columns.flatMap((c) => (c.field ? [c.field] : []))
    const value = fc.oneof(fc.constant(null), fc.boolean(), fc.integer({ min: -50, max: 50 }))
    const reading = fc.record({
      ts: fc.integer({ min: -3 * BUCKET_MS, max: 4 * BUCKET_MS }),
      values: fc.dictionary(fc.constantFrom(...fields), value),
    })
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 30 }), fc.array(fc.nat(29)), (readings, unsure) => {
        const acc = new BucketAccumulator(spec)
        readings.forEach((r, i) => acc.add(r as unknown as Parameters<BucketAccumulator['add']>[0], unsure.includes(i)))
        assert.deepEqual(acc.buckets(), model(spec, readings))
        const uncertain = readings.filter((_, i) => unsure.includes(i)).map((r) => Math.floor(r.ts / BUCKET_MS) * BUCKET_MS)
        assert.deepEqual(
          [...acc.uncertain].sort((a, b) => a - b),
          [...new Set(uncertain)].sort((a, b) => a - b),
        )
      }),
      { numRuns: 100 },
    )
  }
})

test('sameValue: exact functions compare exactly; avg and sum within the relative tolerance, on both sides of it', () => {
  assert.deepEqual((['count', 'max', 'min', 'avg', 'sum'] as const).map(exactFn), [true, true, true, false, false])
  assert.equal(sameValue(null, null, true), true)
  assert.equal(sameValue(null, 0, false), false)
  assert.equal(sameValue(0, null, false), false)
  assert.equal(sameValue(5, 5, true), true)
  assert.equal(sameValue(5, 5 + 1e-12, true), false)
  // |a − b| ≤ 1e-9 × max(1, |a|, |b|): at 1000 the allowance is 1e-6.
  assert.equal(sameValue(1000, 1000 + 0.9e-6, false), true)
  assert.equal(sameValue(1000, 1000 + 1.1e-6, false), false)
  assert.equal(sameValue(-1000, -1000 - 0.9e-6, false), true)
  // Below 1 the allowance stays 1e-9 (absolute).
  assert.equal(sameValue(0.001, 0.001 + 0.9 * REL_TOLERANCE, false), true)
  assert.equal(sameValue(0.001, 0.001 + 1.1 * REL_TOLERANCE, false), false)
  assert.equal(sameValue(0, REL_TOLERANCE, false), true)
  // The evidence states the tolerance the comparison applies.
  assert.match(TOLERANCE_NOTE, new RegExp(`within a relative ${String(REL_TOLERANCE)} `))
})
