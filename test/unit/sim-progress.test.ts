import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ProgressTotals } from '../../src/sim/pool.js'

describe('simulator progress totals', () => {
  test("a thread's result replaces its stale progress, and a message arriving after it is ignored", () => {
    const t = new ProgressTotals()
    assert.equal(t.progress(0, { sent: 1701, acked: 1690 }), true)
    assert.equal(t.progress(1, { sent: 50, acked: 50 }), true)
    assert.deepEqual(t.total, { sent: 1751, acked: 1740 })
    // The thread returned with every reading sent: its last progress message was 119 readings old.
    t.finish(0, { sent: 1820, acked: 1820 })
    assert.deepEqual(t.total, { sent: 1870, acked: 1870 })
    // Its last progress message, delivered after the result, must not take the total back.
    assert.equal(t.progress(0, { sent: 1701, acked: 1690 }), false)
    assert.deepEqual(t.total, { sent: 1870, acked: 1870 })
    // The other thread still reports.
    assert.equal(t.progress(1, { sent: 60, acked: 55 }), true)
    assert.deepEqual(t.total, { sent: 1880, acked: 1875 })
  })
})
