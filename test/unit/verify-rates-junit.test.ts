import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { badInputs } from '../../src/sim/bad-input.js'
import { junitXml } from '../../src/report/junit.js'
import { checkRates, type RateRecord } from '../../src/verify/rates.js'

const lag = { count: 100, p50Ms: 1, p90Ms: 2, p99Ms: 5, p999Ms: 6, maxMs: 7, meanMs: 1 }
const run = (ingestedAt: (t: number) => number): RateRecord => ({
  rate: 1000,
  spikes: [],
  offered: 10_000,
  plannedSeconds: 10,
  samples: Array.from({ length: 13 }, (_, i) => ({
    t: i + 1,
    sent: Math.min(10_000, (i + 1) * 1000),
    ingested: Math.min(10_000, ingestedAt(i + 1)),
  })),
})

describe('P6 checkRates', () => {
  test('a pipeline that keeps up passes', () => {
    const v = checkRates(
      run((t) => (t - 0.2) * 1000),
      lag,
      0.95,
      1000,
      1000,
    )
    assert.equal(v.pass, true, v.summary)
    assert.equal((v.evidence.timeline as unknown[]).length, 13)
  })
  test('an ingest that stalls fails, with the timeline', () => {
    const v = checkRates(
      run((t) => (t < 8 ? t * 1000 : 7000 + (t - 8) * 100)),
      lag,
      0.95,
      1000,
      1000,
    )
    assert.equal(v.pass, false)
    assert.match(v.summary, /ingest kept up with/)
  })
  test('back-pressure is never silent: schedule lag over the SLO fails', () => {
    const v = checkRates(
      run((t) => t * 1000),
      { ...lag, p99Ms: 1500 },
      0.95,
      1000,
      1000,
    )
    assert.equal(v.pass, false)
    assert.match(v.summary, /back-pressure/)
  })
})

describe('JUnit XML', () => {
  test('one test case per property, evidence as failure text, escaped', () => {
    const xml = junitXml('r1', 'ci', [
      { id: 'P1', name: 'completeness', pass: true, summary: 'ok', evidence: {} },
      {
        id: 'P5',
        name: 'alerts',
        pass: false,
        summary: 'missed 1 <fever> & "x"',
        evidence: { missed: [{ device: 'farm01-collar-0001', seq: 3 }] },
      },
    ])
    assert.equal((xml.match(/<testcase /g) ?? []).length, 2)
    assert.match(xml, /failures="1"/)
    assert.match(xml, /<failure message="missed 1 &lt;fever&gt; &amp; &quot;x&quot;"/)
    assert.match(xml, /farm01-collar-0001/)
  })
})

describe('bad input (P7 injection)', () => {
  test('deterministic from the seed, every kind of malformation, each with its reason', () => {
    const fleet = { farms: 2, cowsPerFarm: 3, stallsPerFarm: 1, tanksPerFarm: 1 }
    const a = badInputs(5, fleet, 'p/', 20)
    assert.deepEqual(a, badInputs(5, fleet, 'p/', 20))
    assert.notDeepEqual(a, badInputs(6, fleet, 'p/', 20))
    assert.equal(new Set(a.map((m) => m.type)).size, 10)
    for (const m of a) assert.match(m.topic, /^p\/farm\/farm\d+\/(collar|milk|chiller)\/farm\d+-\w+-\d{4}\/telemetry$/)
  })
})
