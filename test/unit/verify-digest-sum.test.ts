import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DeviceDigest } from '../../src/verify/digest.js'

// A device's fingerprint is the exact sum of its rows' 64-bit hashes (PostgreSQL sums them as a
// numeric). The JavaScript side keeps the sum in doubles and folds it into a BigInt every 2²⁰ rows;
// past that fold it must still equal the sum of every row's hash taken on its own.
test('the oracle digest stays the exact sum of its row hashes past 2²⁰ rows', () => {
  const rows = 2 ** 20 + 1_000
  const whole = new DeviceDigest('chiller')
  let expected = 0n
  for (let seq = 0; seq < rows; seq++) {
    const values = [4 + (seq % 97) / 100, seq % 3 === 0, seq % 5 === 0, 1000 + seq, -(seq % 40) / 4]
    const ts = Date.UTC(2026, 10, 1) + seq * 60_000
    whole.add(seq, ts, values)
    const one = new DeviceDigest('chiller')
    one.add(seq, ts, values)
    expected += BigInt(one.sum)
  }
  assert.equal(whole.rows, rows)
  assert.equal(whole.sum, expected.toString())
})
