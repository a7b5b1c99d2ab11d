import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { shareOf, splitRange } from '../../src/util/shares.js'

// Principle 5: a device lost in the split is a wrong "expected" count in the loss check.
const nAndParts = fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 256 }))

test('splitRange covers 0..n-1 exactly once, in contiguous ranges', () => {
  fc.assert(
    fc.property(nAndParts, ([n, parts]) => {
      const ranges = splitRange(n, parts)
      assert.equal(ranges.length, parts)
      let next = 0
      for (const [from, to] of ranges) {
        assert.ok(Number.isInteger(from) && Number.isInteger(to), `integer bounds, got [${from}, ${to})`)
        assert.equal(from, next, 'each range starts where the previous one ended')
        assert.ok(to >= from, `range [${from}, ${to}) is not reversed`)
        next = to
      }
      assert.equal(next, n, 'the last range ends at n')
    }),
    { numRuns: 500 },
  )
})

test('every item lands in exactly one range (checked item by item on small n)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), (n, parts) => {
      const hits = new Array<number>(n).fill(0)
      for (const [from, to] of splitRange(n, parts)) for (let i = from; i < to; i++) hits[i]!++
      assert.deepEqual(hits, new Array<number>(n).fill(1))
    }),
    { numRuns: 300 },
  )
})

test('sizes differ by at most 1, sum to n, and agree with shareOf', () => {
  fc.assert(
    fc.property(nAndParts, ([n, parts]) => {
      const sizes = splitRange(n, parts).map(([from, to]) => to - from)
      assert.equal(
        sizes.reduce((a, b) => a + b, 0),
        n,
      )
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${Math.min(...sizes)}..${Math.max(...sizes)}`)
      // Nobody is idle while another part holds two more; and the ideal size is floor/ceil of n/parts.
      for (const s of sizes) assert.ok(s === Math.floor(n / parts) || s === Math.ceil(n / parts))
      sizes.forEach((s, i) => assert.equal(s, shareOf(n, parts, i)))
    }),
    { numRuns: 500 },
  )
})

test('more parts than items: the extra parts are empty, none is negative', () => {
  const ranges = splitRange(3, 5)
  assert.deepEqual(
    ranges.map(([f, t]) => [f, t]),
    [
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 3],
      [3, 3],
    ],
  )
  assert.deepEqual(
    splitRange(0, 2).map(([f, t]) => [f, t]),
    [
      [0, 0],
      [0, 0],
    ],
  )
})
