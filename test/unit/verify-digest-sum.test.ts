import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeviceDigest } from '../../src/verify/digest.js'

// A device's fingerprint is the exact sum of its rows' 64-bit hashes (PostgreSQL sums them as a
// numeric). DeviceDigest keeps the sum as two doubles (the hashes' high and low 32-bit halves) and
// folds them into a BigInt every 2²⁰ rows. The fold matters where doubles stop being exact: a low
// half just under 2³² added 2²¹ times passes 2⁵³. One row whose low half is 4294808267 (odd, so a
// double past 2⁵³ must round it) is added 2²¹ + 2¹⁹ times; the digest must be that many times the
// row's own hash, exactly. (The row's hash itself is pinned to PostgreSQL in verify-digest-pinned.)
const ROW = { seq: 1220, tsMs: Date.UTC(2026, 10, 1), values: [4, true, false, 1000, -1] } as const
const ROW_HASH = -4941159415039552821n // = high half −1150453328 · 2³² + low half 4294808267
const ROWS = 2 ** 21 + 2 ** 19

test('one row’s digest is its hash; its low half is where doubles run out first', () => {
  const one = new DeviceDigest('chiller')
  one.add(ROW.seq, ROW.tsMs, ROW.values)
  assert.equal(one.sum, ROW_HASH.toString())
  // The same additions in plain doubles, without the fold, are no longer exact: the test sits past
  // the point where the fold is needed, not before it.
  const lo = Number(BigInt.asUintN(32, ROW_HASH))
  let naive = 0
  for (let i = 0; i < ROWS; i++) naive += lo
  assert.notEqual(BigInt(naive), BigInt(lo) * BigInt(ROWS), 'the unfolded low half must be inexact here')
})

test('the digest stays the exact sum of its row hashes past the point where doubles stop being exact', () => {
  const whole = new DeviceDigest('chiller')
  for (let i = 0; i < ROWS; i++) whole.add(ROW.seq, ROW.tsMs, ROW.values)
  assert.equal(whole.rows, ROWS)
  assert.equal(whole.sum, (ROW_HASH * BigInt(ROWS)).toString())
})
