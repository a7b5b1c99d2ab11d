/**
 * P6's pass rule at its boundaries, with the whole verdict pinned: a ratio exactly at the tolerance
 * passes and one reading less fails; the sent count is read between two samples by interpolation
 * (and after the last one as the last); schedule lag exactly at its limit passes. Expected values are
 * worked out by hand from the rule in rates.ts: 100 readings/s offered for 4 s, a 500 ms schedule-lag
 * limit and a 1000 ms latency budget, so sends count until 4 + 0.5 + 1.25 = 5.75 s and commits until 5 s.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { checkRates, type RateRecord } from '../../src/verify/rates.js'

const lag = { count: 100, p50Ms: 1, p90Ms: 2, p99Ms: 5, p999Ms: 6, maxMs: 7, meanMs: 1 }
const record = (sent: readonly number[], ingested: readonly number[]): RateRecord => ({
  rate: 100,
  spikes: [],
  offered: 400,
  plannedSeconds: 4,
  samples: sent.map((s, i) => ({ t: i + 1, sent: s, ingested: ingested[i]! })),
})
const SENT = [100, 200, 300, 400, 400, 400]
const check = (r: RateRecord, l = lag) => checkRates(r, l, 0.95, 500, 1000)

describe('P6 pass rule (rates.ts)', () => {
  test('committed exactly offered × tolerance in time: passes, with the whole evidence', () => {
    const v = check(record(SENT, [50, 150, 250, 350, 380, 400]))
    assert.deepEqual(v, {
      pass: true,
      summary: 'offered 100/s; sent 100.0 % on schedule, committed 95.0 % within the latency budget (76/s), schedule lag p99 5 ms',
      evidence: {
        tolerance: 0.95,
        maxScheduleLagMs: 500,
        offeredPerS: 100,
        offered: 400,
        plannedSeconds: 4,
        sentByEndOfLoad: 400,
        sendRatio: 1,
        ingestedInTime: 380,
        ingestedPerS: 76,
        ingestSeconds: 5,
        ingestRatio: 0.95,
        scheduleLag: lag,
        timeline: [
          { t: 1, offeredPerS: 100, sentPerS: 100, ingestedPerS: 50 },
          { t: 2, offeredPerS: 100, sentPerS: 100, ingestedPerS: 100 },
          { t: 3, offeredPerS: 100, sentPerS: 100, ingestedPerS: 100 },
          { t: 4, offeredPerS: 100, sentPerS: 100, ingestedPerS: 100 },
          { t: 5, offeredPerS: 0, sentPerS: 0, ingestedPerS: 30 },
          { t: 6, offeredPerS: 0, sentPerS: 0, ingestedPerS: 20 },
        ],
        rule: 'sent by the end of the load (+ maxScheduleLagMs + 1.25 s of progress sampling) ≥ offered × tolerance; committed by the end of the load + slo.p99Ms ≥ offered × tolerance; schedule lag p99 ≤ maxScheduleLagMs',
      },
    })
  })

  test('one reading fewer committed in time fails, saying by how much', () => {
    const v = check(record(SENT, [50, 150, 250, 350, 379, 400]))
    assert.equal(v.pass, false)
    assert.equal(v.summary, "ingest kept up with 94.8 % of the offered load (379 of 400 committed within 1000 ms of the load's end) < 95 %")
  })

  test('the sent count between two samples is interpolated; after the last sample it is the last', () => {
    // at 5.75 s: 360 + (376 − 360) × 0.75 = 372 < 380
    const short = check(record([100, 200, 300, 350, 360, 376], [100, 200, 300, 400, 400, 400]))
    assert.deepEqual(
      [short.pass, short.summary, short.evidence['sentByEndOfLoad']],
      [false, 'sent 372 of 400 offered by the end of the load (93.0 % < 95 %): the generator was the limit', 372],
    )
    // at 5.75 s: 370 + (394 − 370) × 0.75 = 388 ≥ 380
    const enough = check(record([100, 200, 300, 350, 370, 394], [100, 200, 300, 400, 400, 400]))
    assert.deepEqual([enough.pass, enough.evidence['sentByEndOfLoad']], [true, 388])
    const ended = check(record([100, 200, 300, 380, 381], [100, 200, 300, 400, 400]))
    assert.deepEqual([ended.pass, ended.evidence['sentByEndOfLoad'], ended.evidence['ingestedInTime']], [true, 381, 400])
  })

  test('schedule lag exactly at its limit passes; 1 ms over fails; no lag recorded passes', () => {
    const ok = record(SENT, [100, 200, 300, 400, 400, 400])
    assert.equal(check(ok, { ...lag, p99Ms: 500 }).pass, true)
    const over = check(ok, { ...lag, p99Ms: 501 })
    assert.deepEqual(
      [over.pass, over.summary],
      [false, 'back-pressure: the simulators fell behind their schedule, lag p99 501 ms > 500 ms'],
    )
    assert.equal(check(ok, { ...lag, count: 0, p99Ms: 10_000 }).pass, true)
  })

  test('both ratios exactly at the tolerance are no reason to fail: only the lag is named', () => {
    // sent 380 by 5.75 s (0.95), committed 380 by 5 s (0.95), lag 1 ms over
    const v = check(record([100, 200, 300, 380, 380, 380], [100, 200, 300, 350, 380, 400]), { ...lag, p99Ms: 501 })
    assert.deepEqual([v.pass, v.summary], [false, 'back-pressure: the simulators fell behind their schedule, lag p99 501 ms > 500 ms'])
    assert.equal(check(record([100, 200, 300, 380, 380, 380], [100, 200, 300, 350, 380, 400])).pass, true)
  })

  test('samples half a second apart: per-second rates and the interpolation divide by the real spacing', () => {
    const half: RateRecord = {
      rate: 100,
      spikes: [],
      offered: 400,
      plannedSeconds: 4,
      samples: Array.from({ length: 12 }, (_, i) => ({
        t: (i + 1) / 2,
        sent: Math.min(400, 50 * (i + 1)),
        ingested: Math.min(400, 40 * (i + 1)),
      })),
    }
    const v = check(half)
    assert.deepEqual((v.evidence['timeline'] as unknown[])[0], { t: 0.5, offeredPerS: 100, sentPerS: 100, ingestedPerS: 80 })
    // committed by 5 s: the sample at 5 s holds 400; at 4.75 s (between 4.5 and 5) 360 + 40 × 0.5 = 380
    assert.equal(v.evidence['ingestedInTime'], 400)
    assert.equal(checkRates(half, lag, 0.95, 500, 750).evidence['ingestedInTime'], 380)
  })

  test('no samples fails, naming why; nothing offered is not a failure of the ratios', () => {
    assert.equal(
      checkRates({ rate: 100, spikes: [], offered: 0, plannedSeconds: 0, samples: [] }, lag, 0.95, 500, 1000).pass,
      false,
      'no samples at all',
    )
    const none = check(record([], []))
    assert.equal(none.pass, false)
    assert.match(none.summary, /^no rate samples were recorded; sent 0 of 400/)
    const idle = checkRates(
      { rate: 100, spikes: [], offered: 0, plannedSeconds: 0, samples: [{ t: 1, sent: 0, ingested: 0 }] },
      lag,
      0.95,
      500,
      1000,
    )
    assert.deepEqual([idle.pass, idle.evidence['sendRatio'], idle.evidence['ingestRatio'], idle.evidence['offeredPerS']], [true, 1, 1, 0])
  })
})
