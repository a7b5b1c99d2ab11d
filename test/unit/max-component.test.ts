import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { limitingComponent } from '../../src/max/component.js'
import { CPU_COMPONENTS, type CpuFigure, type CpuReport } from '../../src/metrics/cpu.js'
import { runRates } from '../../src/report/result.js'
import type { LatencySummary } from '../../src/util/histogram.js'

const SLO = 1000
const lat = (p99Ms: number): LatencySummary => ({
  count: 1000,
  p50Ms: p99Ms / 4,
  p90Ms: p99Ms / 2,
  p99Ms,
  p999Ms: p99Ms,
  maxMs: p99Ms,
  meanMs: p99Ms / 4,
})

/** The CPU report of a run whose broker used `brokerSeconds` (null: not measured) and whose load took 10 s. */
const cpu = (brokerSeconds: number | null): CpuReport => ({
  wallSeconds: 20,
  readings: 200_000,
  totalSeconds: 30,
  components: Object.fromEntries(
    CPU_COMPONENTS.map((c): [string, CpuFigure] => [
      c,
      c === 'broker'
        ? { seconds: brokerSeconds, per100kReadings: brokerSeconds === null ? null : brokerSeconds / 2, coreShare: null }
        : { seconds: 2, per100kReadings: 1, coreShare: 0.1 },
    ]),
  ) as unknown as CpuReport['components'],
})

/**
 * A run at `offered`/s over a 10-s load (first publish to last acknowledgement), its latency split by hop, P6's send
 * ratio, the ingest's COPY share, and the broker's CPU.
 */
function run(o: {
  offered: number
  brokerSeconds?: number | null
  e2e?: number
  hop?: number
  lag?: number
  sendRatio?: number
  copyShare?: number
}): Parameters<typeof limitingComponent>[0] {
  const t0 = 1_700_000_000_000
  return {
    latency: { endToEnd: lat(o.e2e ?? 300), brokerHop: lat(o.hop ?? 250), scheduleLag: lat(o.lag ?? 5), publishAck: lat(10) },
    properties: [
      { id: 'P1', name: 'completeness', pass: true, summary: '', evidence: { counts: { lost: 0 } } },
      { id: 'P6', name: 'rate', pass: true, summary: '', evidence: { sendRatio: o.sendRatio ?? 1, tolerance: 0.95 } },
    ],
    stages: {
      copySeconds: 1,
      batches: 10,
      meanCopyMs: 10,
      meanBatchRows: 5000,
      copyShare: o.copyShare ?? 0.1,
      ingestThreads: 2,
      seconds: 10,
    },
    rates: runRates(o.offered, 1, { published: o.offered * 10, acked: o.offered * 10 }, t0, t0 + 9_900, t0 + 10_000),
    ...(o.brokerSeconds !== undefined && { cpu: cpu(o.brokerSeconds) }),
  }
}

describe('limitingComponent names the broker', () => {
  test('when its process was busy ≥ 90 % of a core over the load, with the numbers', () => {
    const v = limitingComponent(run({ offered: 20_000, brokerSeconds: 9.5 }), SLO)
    assert.equal(v.component, 'broker')
    assert.match(v.why, /broker busy 95 % of a core over the 10-s load \(9\.5 CPU s/)
  })

  test("from the load's own window when the run has one (schedule start to drained)", () => {
    const r = run({ offered: 20_000, brokerSeconds: 6, e2e: 500, hop: 50, copyShare: 0.4 })
    const busy = (seconds: number): CpuReport => ({ ...cpu(6), load: { ...cpu(seconds), wallSeconds: 5 } })
    const v = limitingComponent({ ...r, cpu: busy(4.6) }, SLO)
    assert.equal(v.component, 'broker')
    assert.match(v.why, /broker busy 92 % of a core over the 5-s load/)
    assert.equal(limitingComponent({ ...r, cpu: busy(4.4) }, SLO).component, 'ingest')
  })

  test('before the generator, whose QoS 1 window waits on a saturated broker', () => {
    const behind = run({ offered: 20_000, brokerSeconds: 9.2, lag: 900, sendRatio: 0.7 })
    assert.equal(limitingComponent(behind, SLO).component, 'broker')
    assert.equal(limitingComponent({ ...behind, cpu: cpu(3) }, SLO).component, 'generator')
  })

  test('not at 85 % of a core, nor when its CPU was not measured', () => {
    // The same run, ingest-bound by its latency split (after receipt 250 ms > in the broker 45 ms).
    const base = { offered: 20_000, e2e: 500, hop: 50, copyShare: 0.4 }
    assert.equal(limitingComponent(run({ ...base, brokerSeconds: 8.5 }), SLO).component, 'ingest')
    assert.equal(limitingComponent(run({ ...base, brokerSeconds: null }), SLO).component, 'ingest')
    assert.equal(limitingComponent(run(base), SLO).component, 'ingest')
  })

  test("when the offered rate is ≥ 95 % of the broker's measured fan-out ceiling", () => {
    const r = run({ offered: 25_000, brokerSeconds: 6, e2e: 1500, hop: 300, copyShare: 0.4 })
    const v = limitingComponent(r, SLO, 26_000)
    assert.equal(v.component, 'broker')
    assert.match(v.why, /offered 25000\/s is 96\.2 % of the broker's fan-out ceiling 26000\/s/)
    // 25,000 of 27,000 is 92.6 %: the latency split names the ingest, as without a ceiling.
    assert.equal(limitingComponent(r, SLO, 27_000).component, 'ingest')
    assert.equal(limitingComponent(r, SLO).component, 'ingest')
  })
})
