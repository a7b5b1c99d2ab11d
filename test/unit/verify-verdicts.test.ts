/**
 * The pass/fail rules of P1–P5 and P7 (src/verify/verdicts.ts) on both sides of each boundary, and the
 * summary line a person reads first, pinned where it is the verdict's words. Reports are written by
 * hand: these rules only read counts and samples, whatever checker produced them.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Kind } from '../../src/kinds.js'
import type { AlertReport, RuleCounts } from '../../src/verify/alerts.js'
import type { SetCounts } from '../../src/verify/completeness.js'
import type { KindReport } from '../../src/verify/parallel.js'
import type { Sample } from '../../src/verify/types.js'
import { alertsProperty, badInputProperty, latencyProperty, setProperties, sloOf, type Slo } from '../../src/verify/verdicts.js'

const SLO: Slo = sloOf({ sloMaxLost: 2, sloAlertRecall: 0.75, sloAlertPrecision: 0.5, sloDetectionP99Ms: 100, sloP99Ms: 500 })
const MANIFEST = { seed: 42, perDevice: 10 }

const counts = (c: Partial<SetCounts> = {}): SetCounts => ({
  expected: 10,
  ok: 10,
  lost: 0,
  unacknowledgedLost: 0,
  recovered: 0,
  duplicated: 0,
  unexpected: 0,
  corrupted: 0,
  ...c,
})
const kindReport = (
  c: Partial<SetCounts> = {},
  samples: Partial<Record<'lost' | 'duplicated' | 'unexpected' | 'corrupted', Sample[]>> = {},
  order: Partial<KindReport['order']> = {},
  lostByDevice: Array<[string, number]> = [],
): KindReport => ({
  set: {
    counts: counts(c),
    lost: samples.lost ?? [],
    duplicated: samples.duplicated ?? [],
    unexpected: samples.unexpected ?? [],
    corrupted: samples.corrupted ?? [],
    lostByDevice,
  },
  order: { rows: 10, outOfOrder: 0, worstDisplacement: 0, samples: [], ...order },
})
function sets(collar: KindReport = kindReport(), milk: KindReport = kindReport(), chiller: KindReport = kindReport()) {
  const perKind = new Map<Kind, KindReport>([
    ['collar', collar],
    ['milk', milk],
    ['chiller', chiller],
  ])
  return setProperties({ perKind, method: { method: 'test' } }, MANIFEST, SLO)
}
const s = (device: string, seq: number, detail?: string): Sample => ({ device, seq, ...(detail !== undefined && { detail }) })

describe('P1–P3 verdicts', () => {
  test('P1 passes with lost up to the allowed count, fails one above it; its summary adds the kinds up', () => {
    const [atLimit] = sets(kindReport({ ok: 8, lost: 2 }, { lost: [s('c1', 3), s('c1', 4)] }))
    assert.equal(atLimit.pass, true)
    assert.equal(
      atLimit.summary,
      '28 of 30 stored; lost 2 (allowed 2), duplicated 0, unexpected 0, recovered 0, never acknowledged and missing 0',
    )
    const [over] = sets(
      kindReport({ ok: 8, lost: 2 }, { lost: [s('c1', 3), s('c1', 4)] }),
      kindReport({ ok: 9, lost: 1 }, { lost: [s('m1', 0)] }),
    )
    assert.equal(over.pass, false)
    assert.equal(
      over.summary,
      '27 of 30 stored; lost 3 (allowed 2), duplicated 0, unexpected 0, recovered 0, never acknowledged and missing 0 (first lost c1 seq 3)',
    )
  })

  test('P1 fails on one duplicate or one unexpected reading, and names the first of each class', () => {
    const [dup] = sets(kindReport({ duplicated: 1 }, { duplicated: [s('c2', 5)] }))
    assert.deepEqual([dup.pass, dup.summary.endsWith('(first duplicated c2 seq 5)')], [false, true])
    const [unexpected] = sets(kindReport(), kindReport({ unexpected: 1 }, { unexpected: [s('x9', 0, 'not a device of this run')] }))
    assert.deepEqual([unexpected.pass, unexpected.summary.endsWith('(first unexpected x9 seq 0)')], [false, true])
    const [both] = sets(kindReport({ ok: 7, lost: 3, duplicated: 1 }, { lost: [s('c1', 1)], duplicated: [s('c3', 2)] }))
    assert.ok(both.summary.endsWith('(first lost c1 seq 1; duplicated c3 seq 2)'), both.summary)
    const [recovered] = sets(kindReport({ ok: 8, recovered: 1, unacknowledgedLost: 1 }))
    assert.deepEqual(
      [recovered.pass, recovered.summary],
      [true, '29 of 30 stored; lost 0 (allowed 2), duplicated 0, unexpected 0, recovered 1, never acknowledged and missing 1'],
    )
  })

  test('P1 evidence: samples of all kinds, the first 20; lost per device over all kinds, worst first, 20 of them', () => {
    const lost = (p: string) => Array.from({ length: 15 }, (_, i) => s(p, i))
    const perDevice = (p: string, n: number): Array<[string, number]> => Array.from({ length: 15 }, (_, i) => [`${p}${i}`, n + i])
    const [p1] = sets(
      kindReport({ ok: 0, lost: 15 }, { lost: lost('c') }, {}, perDevice('c', 0)),
      kindReport({ ok: 0, lost: 15 }, { lost: lost('m') }, {}, perDevice('m', 100)),
    )
    const e = p1.evidence as {
      lost: Sample[]
      lostByDevice: Array<[string, number]>
      counts: SetCounts
      checked: unknown
      reproduce: string
    }
    assert.deepEqual(
      e.lost.map((x) => x.device),
      [...Array(15).fill('c'), ...Array(5).fill('m')],
    )
    assert.deepEqual(
      e.lostByDevice.map(([, n]) => n),
      [...Array.from({ length: 15 }, (_, i) => 114 - i), 14, 13, 12, 11, 10],
    )
    assert.deepEqual(e.counts, counts({ expected: 30, ok: 10, lost: 30 }))
    assert.deepEqual(e.checked, { method: 'test' })
    assert.equal(e.reproduce, 'iotbench verify <run-id> (seed 42, 10 readings per device)')
  })

  test('P2 fails on one corrupted value, P3 on one reading out of order (worst displacement over all kinds)', () => {
    const [, ok2, ok3] = sets()
    assert.deepEqual(
      [ok2.pass, ok2.summary, ok3.pass, ok3.summary],
      [true, "every stored value equals the oracle's (30 readings)", true, 'every device’s readings were received in seq order'],
    )
    const [, p2, p3] = sets(
      kindReport(
        { corrupted: 1 },
        { corrupted: [s('c1', 2, 'ts 1 ≠ expected 0')] },
        { outOfOrder: 1, worstDisplacement: 3, samples: [s('c1', 4, 'received after seq 7')] },
      ),
      kindReport({}, {}, { outOfOrder: 2, worstDisplacement: 5, samples: [s('m1', 1), s('m1', 2)] }),
    )
    assert.deepEqual([p2.pass, p2.summary], [false, '1 readings differ from the oracle (first c1 seq 2)'])
    assert.deepEqual([p3.pass, p3.summary], [false, '3 readings received out of order, worst displacement 5 seqs (first c1 seq 4)'])
    assert.deepEqual((p3.evidence as { byKind: unknown }).byKind, {
      collar: { outOfOrder: 1, worstDisplacement: 3 },
      milk: { outOfOrder: 2, worstDisplacement: 5 },
      chiller: { outOfOrder: 0, worstDisplacement: 0 },
    })
  })
})

describe('P4, P5 and P7 verdicts', () => {
  const summary = (p99Ms: number, count = 100) => ({ count, p50Ms: 1, p90Ms: 2, p99Ms, p999Ms: p99Ms, maxMs: p99Ms + 1, meanMs: 1 })

  test('P4: p99 at the SLO passes, above it fails; nothing measured fails', () => {
    const at = latencyProperty({ endToEnd: summary(500), brokerHop: summary(3), scheduleLag: summary(1) }, SLO)
    assert.deepEqual([at.pass, at.summary], [true, 'end-to-end p50 1 ms, p99 500 ms (SLO ≤ 500 ms), max 501 ms; broker hop p99 3 ms'])
    assert.equal(latencyProperty({ endToEnd: summary(500.001), brokerHop: summary(3), scheduleLag: summary(1) }, SLO).pass, false)
    const none = latencyProperty({ endToEnd: summary(0, 0), brokerHop: summary(0, 0), scheduleLag: summary(0, 0) }, SLO)
    assert.deepEqual([none.pass, none.summary], [false, 'no latency was recorded'])
  })

  const rc = (c: Partial<RuleCounts>): RuleCounts => ({
    episodes: 0,
    detectable: 0,
    ok: 0,
    late: 0,
    missed: 0,
    undetectable: 0,
    raised: 0,
    mapped: 0,
    repeated: 0,
    explained: 0,
    spurious: 0,
    ...c,
  })
  const report = (
    c: Partial<RuleCounts>,
    delaysMs: number[] = [],
    samples: Partial<Pick<AlertReport, 'missed' | 'late' | 'spurious'>> = {},
  ): AlertReport => ({
    counts: rc(c),
    byRule: {},
    missed: [],
    late: [],
    spurious: [],
    undetectable: [],
    delaysReadings: [],
    delaysMs,
    ...samples,
  })
  const about = { rules: {}, expectations: 'test', reproduce: 'r' }
  const p5 = (c: Partial<RuleCounts>, delaysMs?: number[], samples?: Parameters<typeof report>[2]) =>
    alertsProperty(report(c, delaysMs, samples), SLO, about)

  test('P5: recall and precision exactly at their SLOs pass, just below fail; nothing to divide is 1', () => {
    assert.equal(p5({ detectable: 4, ok: 3, raised: 4, mapped: 2 }).pass, true)
    assert.equal(p5({ detectable: 4, ok: 2, raised: 4, mapped: 2 }).pass, false, 'recall 0.5 < 0.75')
    assert.equal(p5({ detectable: 4, ok: 3, raised: 5, mapped: 2 }).pass, false, 'precision 0.4 < 0.5')
    const empty = p5({})
    assert.deepEqual(
      [empty.pass, (empty.evidence as { recall: number }).recall, (empty.evidence as { precision: number }).precision],
      [true, 1, 1],
    )
    assert.equal(p5({ detectable: 0, raised: 2, mapped: 1 }).pass, true, 'no detectable episode: recall 1; precision 0.5')
    assert.equal(p5({ detectable: 2, ok: 2, raised: 0 }).pass, true, 'nothing raised: precision 1')
  })

  test('P5: the detection p99 at its SLO passes, above it fails (delays rounded to the microsecond)', () => {
    const c = { detectable: 1, ok: 1, raised: 1, mapped: 1 }
    assert.equal(p5(c, [100.0004]).pass, true)
    assert.equal(p5(c, [100.0006]).pass, false)
    assert.deepEqual((p5(c, [1, 100.0006]).evidence as { detectionDelayMs: unknown }).detectionDelayMs, {
      count: 2,
      p50: 1,
      p90: 100.001,
      p99: 100.001,
      max: 100.001,
    })
  })

  test('P5: the summary line, and the first missed, late and spurious alert named when it fails', () => {
    const ok = p5({ detectable: 4, ok: 3, late: 1, raised: 4, mapped: 3, spurious: 1, undetectable: 2 }, [7])
    assert.equal(
      ok.summary,
      '3 of 4 detectable injected anomalies alerted in time (recall 0.75, SLO ≥ 0.75); 3 of 4 alerts map to one (precision 0.75, SLO ≥ 0.5); missed 0, late 1, spurious 1, undetectable 2; detection p99 7 ms (SLO ≤ 100 ms)',
    )
    const bad = p5({ detectable: 3, ok: 1, missed: 1, late: 1, raised: 3, mapped: 1, spurious: 2 }, [], {
      missed: [{ device: 'c1', rule: 'fever', seq: 12, detail: '' }],
      late: [{ device: 'c2', rule: 'heat', seq: 30, detail: '' }],
      spurious: [{ device: 'c3', rule: 'fever', seq: 1, detail: '' }],
    })
    assert.equal(
      bad.summary,
      '1 of 3 detectable injected anomalies alerted in time (recall 0.333, SLO ≥ 0.75); 1 of 3 alerts map to one (precision 0.333, SLO ≥ 0.5); missed 1, late 1, spurious 2, undetectable 0; detection p99 0 ms (SLO ≤ 100 ms) (first missed c1 fever seq 12; late c2 heat seq 30; spurious c3 fever seq 1)',
    )
    assert.deepEqual(Object.keys(bad.evidence), [
      'counts',
      'recall',
      'precision',
      'byRule',
      'missed',
      'late',
      'spurious',
      'undetectable',
      'detectionDelayReadings',
      'detectionDelayMs',
      'rules',
      'expectations',
      'reproduce',
    ])
  })

  const dl = (missingCount: number, wrongReasonCount: number, validRejectedCount: number, foreign = 0) =>
    badInputProperty(
      {
        injected: 5,
        found: 5 - missingCount,
        missing: [],
        wrongReason: [],
        validRejected: [],
        foreign,
        byReason: {},
        missingCount,
        wrongReasonCount,
        validRejectedCount,
      },
      7,
    )

  test('P7: passes only with nothing missing, no wrong reason and no valid reading rejected; foreign dead letters are allowed', () => {
    const ok = dl(0, 0, 0)
    assert.deepEqual(
      [ok.pass, ok.summary],
      [true, '5 of 5 injected malformed messages in dead_letters with their reason; missing 0, wrong reason 0, valid readings rejected 0'],
    )
    assert.deepEqual([dl(1, 0, 0).pass, dl(0, 1, 0).pass, dl(0, 0, 1).pass], [false, false, false])
    const foreign = dl(0, 1, 0, 3)
    assert.equal(
      foreign.summary,
      "4 of 5 injected malformed messages in dead_letters with their reason; missing 0, wrong reason 1, valid readings rejected 0, 3 other dead letters (not this run's)",
    )
    assert.equal(dl(0, 0, 0, 3).pass, true)
    assert.equal(
      (ok.evidence as { reproduce: string }).reproduce,
      'SELECT reason, count(*) FROM dead_letters WHERE run_id = 7 GROUP BY reason',
    )
  })

  test('ids and names; SLO defaults and fallbacks; the evidence of P1, P2 and P4; a P5 failing on delay alone names no alert', () => {
    assert.deepEqual(sloOf({}), {
      p99Ms: 2000,
      maxLost: 0,
      alertRecall: 1,
      alertPrecision: 1,
      detectionP99Ms: 2000,
      rateTolerance: 0.9,
      maxScheduleLagMs: 2000,
    })
    assert.deepEqual(sloOf({ sloP99Ms: 300, sloMaxLost: undefined, sloAlertRecall: null }), {
      p99Ms: 300,
      maxLost: 0,
      alertRecall: 1,
      alertPrecision: 1,
      detectionP99Ms: 300,
      rateTolerance: 0.9,
      maxScheduleLagMs: 300,
    })
    assert.deepEqual(sloOf({ sloP99Ms: 300, sloMaxLost: '3', sloDetectionP99Ms: 7, sloRateTolerance: 0.5, sloMaxScheduleLagMs: 9 }), {
      p99Ms: 300,
      maxLost: 3,
      alertRecall: 1,
      alertPrecision: 1,
      detectionP99Ms: 7,
      rateTolerance: 0.5,
      maxScheduleLagMs: 9,
    })
    const [p1, p2, p3] = sets(kindReport({ ok: 9, recovered: 1 }))
    assert.equal(p2.summary, "every stored value equals the oracle's (30 readings)", 'recovered readings are compared too')
    assert.deepEqual((p1.evidence as { byKind: unknown }).byKind, {
      collar: counts({ ok: 9, recovered: 1 }),
      milk: counts(),
      chiller: counts(),
    })
    const [, bad2] = sets(kindReport({ corrupted: 1 }, { corrupted: [s('c1', 2, 'd')] }))
    assert.deepEqual(bad2.evidence, {
      corrupted: 1,
      samples: [s('c1', 2, 'd')],
      reproduce: 'iotbench verify <run-id> (seed 42, 10 readings per device)',
    })
    const latency = { endToEnd: summary(5), brokerHop: summary(3), scheduleLag: summary(1) }
    const p4 = latencyProperty(latency, SLO)
    assert.deepEqual(p4.evidence, {
      sloP99Ms: 500,
      ...latency,
      measuredFrom: 'intended send time (open-loop schedule)',
      measuredTo: 'commit of the batch holding the reading',
    })
    const slow = p5({ detectable: 1, ok: 1, raised: 1, mapped: 1 }, [101])
    assert.deepEqual([slow.pass, slow.summary.endsWith('detection p99 101 ms (SLO ≤ 100 ms)')], [false, true])
    const ids = [p1, p2, p3, p4, slow, dl(0, 0, 0)].map((p) => `${p.id} ${p.name}`)
    assert.deepEqual(ids, ['P1 completeness', 'P2 integrity', 'P3 ordering', 'P4 latency', 'P5 alerts', 'P7 bad input'])
  })
})
