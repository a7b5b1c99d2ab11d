/**
 * The pass/fail rules and the words of the verdict: each property's result from its checker's report
 * and the SLOs, with no database or thread in sight, so every rule can be unit-tested on both sides of
 * its boundary (test/unit/verify-verdicts.test.ts). verify.ts gathers the reports and calls these.
 */
import { KIND_NAMES, type Kind } from '../kinds.js'
import type { SetCounts, SetReport } from './completeness.js'
import type { KindReport } from './parallel.js'
import type { PropertyResult, RunManifest, Sample } from './types.js'
import { percentiles, type AlertReport } from './alerts.js'
import type { DeadLetterReport } from './dead-letters.js'
import type { LatencyEvidence, Slo } from './slo.js'
import { must } from '../util/must.js'

export { sloOf, type LatencyEvidence, type Slo } from './slo.js'

const sumCounts = (reports: SetReport[]): SetCounts => {
  const total: SetCounts = { expected: 0, ok: 0, lost: 0, unacknowledgedLost: 0, recovered: 0, duplicated: 0, unexpected: 0, corrupted: 0 }
  for (const r of reports) for (const k of Object.keys(total) as Array<keyof SetCounts>) total[k] += r.counts[k]
  return total
}
const firstOf = (lists: Sample[][]): Sample[] => lists.flat().slice(0, 20)
/** The first offender of each failing class, for the one-line summary (the evidence lists up to 20 of each). */
const firstNamed = (
  classes: ReadonlyArray<readonly [label: string, samples: ReadonlyArray<{ device: string; seq: number; rule?: string }>]>,
): string => {
  const named = classes.flatMap(([label, xs]) =>
    xs[0] ? [`${label ? `${label} ` : ''}${xs[0].device}${xs[0].rule ? ` ${xs[0].rule}` : ''} seq ${xs[0].seq}`] : [],
  )
  return named.length ? ` (first ${named.join('; ')})` : ''
}

/** P1–P3 from the per-kind set and order reports. */
export function setProperties(
  { perKind, method }: { readonly perKind: ReadonlyMap<Kind, KindReport>; readonly method: Record<string, unknown> },
  manifest: Pick<RunManifest, 'seed' | 'perDevice'>,
  slo: Slo,
): readonly [PropertyResult, PropertyResult, PropertyResult] {
  const reports = KIND_NAMES.map((k) => must(perKind.get(k), `the ${k} report`))
  const sets = reports.map((r) => r.set)
  const orders = reports.map((r) => r.order)
  const c = sumCounts(sets)
  const byKind = Object.fromEntries(KIND_NAMES.map((k, i) => [k, sets[i].counts]))
  const reproduce = `iotbench verify <run-id> (seed ${manifest.seed}, ${manifest.perDevice} readings per device)`

  const p1Pass = c.lost <= slo.maxLost && c.duplicated === 0 && c.unexpected === 0
  // The samples the evidence lists; a failing summary names the first of each.
  const lost = firstOf(sets.map((s) => s.lost))
  const duplicated = firstOf(sets.map((s) => s.duplicated))
  const unexpected = firstOf(sets.map((s) => s.unexpected))
  const corrupted = firstOf(sets.map((s) => s.corrupted))
  const reordered = firstOf(orders.map((o) => o.samples))
  const p1: PropertyResult = {
    id: 'P1',
    name: 'completeness',
    pass: p1Pass,
    summary: `${c.ok + c.recovered} of ${c.expected} stored; lost ${c.lost} (allowed ${slo.maxLost}), duplicated ${c.duplicated}, unexpected ${c.unexpected}, recovered ${c.recovered}, never acknowledged and missing ${c.unacknowledgedLost}${
      p1Pass
        ? ''
        : firstNamed([
            ['lost', lost],
            ['duplicated', duplicated],
            ['unexpected', unexpected],
          ])
    }`,
    evidence: {
      counts: c,
      byKind,
      lost,
      lostByDevice: sets
        .flatMap((s) => s.lostByDevice)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20),
      duplicated,
      unexpected,
      checked: method,
      reproduce,
    },
  }
  const p2: PropertyResult = {
    id: 'P2',
    name: 'integrity',
    pass: c.corrupted === 0,
    summary:
      c.corrupted === 0
        ? `every stored value equals the oracle's (${c.ok + c.recovered} readings)`
        : `${c.corrupted} readings differ from the oracle${firstNamed([['', corrupted]])}`,
    evidence: { corrupted: c.corrupted, samples: corrupted, reproduce },
  }
  const outOfOrder = orders.reduce((n, o) => n + o.outOfOrder, 0)
  const worst = orders.reduce((n, o) => Math.max(n, o.worstDisplacement), 0)
  const p3: PropertyResult = {
    id: 'P3',
    name: 'ordering',
    pass: outOfOrder === 0,
    summary:
      outOfOrder === 0
        ? 'every device’s readings were received in seq order'
        : `${outOfOrder} readings received out of order, worst displacement ${worst} seqs${firstNamed([['', reordered]])}`,
    evidence: {
      outOfOrder,
      worstDisplacement: worst,
      samples: reordered,
      byKind: Object.fromEntries(
        KIND_NAMES.map((k, i) => [k, { outOfOrder: orders[i].outOfOrder, worstDisplacement: orders[i].worstDisplacement }]),
      ),
    },
  }
  return [p1, p2, p3]
}

/** P4: the end-to-end p99 against its SLO (and something must have been measured). */
export function latencyProperty(latency: LatencyEvidence, slo: Slo): PropertyResult {
  const e = latency.endToEnd
  const p4Pass = e.count > 0 && e.p99Ms <= slo.p99Ms
  return {
    id: 'P4',
    name: 'latency',
    pass: p4Pass,
    summary:
      e.count === 0
        ? 'no latency was recorded'
        : `end-to-end p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms (SLO ≤ ${slo.p99Ms} ms), max ${e.maxMs} ms; broker hop p99 ${latency.brokerHop.p99Ms} ms`,
    evidence: {
      sloP99Ms: slo.p99Ms,
      endToEnd: e,
      brokerHop: latency.brokerHop,
      scheduleLag: latency.scheduleLag,
      measuredFrom: 'intended send time (open-loop schedule)',
      measuredTo: 'commit of the batch holding the reading',
    },
  }
}

/** P5: recall and precision (1 when there is nothing to divide) and the detection p99, each against its SLO. */
export function alertsProperty(
  rep: AlertReport,
  slo: Slo,
  about: { readonly rules: unknown; readonly expectations: string; readonly reproduce: string },
): PropertyResult {
  const c = rep.counts
  const recall = c.detectable === 0 ? 1 : c.ok / c.detectable
  const precision = c.raised === 0 ? 1 : c.mapped / c.raised
  const delayMs = percentiles(rep.delaysMs.map((x) => Math.round(x * 1000) / 1000))
  const pass = recall >= slo.alertRecall && precision >= slo.alertPrecision && delayMs.p99 <= slo.detectionP99Ms
  const r3 = (x: number): number => Math.round(x * 1000) / 1000
  return {
    id: 'P5',
    name: 'alerts',
    pass,
    summary: `${c.ok} of ${c.detectable} detectable injected anomalies alerted in time (recall ${r3(recall)}, SLO ≥ ${slo.alertRecall}); ${c.mapped} of ${c.raised} alerts map to one (precision ${r3(precision)}, SLO ≥ ${slo.alertPrecision}); missed ${c.missed}, late ${c.late}, spurious ${c.spurious}, undetectable ${c.undetectable}; detection p99 ${delayMs.p99} ms (SLO ≤ ${slo.detectionP99Ms} ms)${
      pass
        ? ''
        : firstNamed([
            ['missed', rep.missed],
            ['late', rep.late],
            ['spurious', rep.spurious],
          ])
    }`,
    evidence: {
      counts: c,
      recall: r3(recall),
      precision: r3(precision),
      byRule: rep.byRule,
      missed: rep.missed,
      late: rep.late,
      spurious: rep.spurious,
      undetectable: rep.undetectable,
      detectionDelayReadings: percentiles(rep.delaysReadings),
      detectionDelayMs: delayMs,
      ...about,
    },
  }
}

/** P7: every injected malformed message dead-lettered with its reason, and no valid reading with them. */
export function badInputProperty(
  r: DeadLetterReport & { validRejectedCount: number; wrongReasonCount: number; missingCount: number },
  runId: number,
): PropertyResult {
  const pass = r.missingCount === 0 && r.wrongReasonCount === 0 && r.validRejectedCount === 0
  return {
    id: 'P7',
    name: 'bad input',
    pass,
    summary: `${r.found - r.wrongReasonCount} of ${r.injected} injected malformed messages in dead_letters with their reason; missing ${r.missingCount}, wrong reason ${r.wrongReasonCount}, valid readings rejected ${r.validRejectedCount}${r.foreign ? `, ${r.foreign} other dead letters (not this run's)` : ''}`,
    evidence: { ...r, reproduce: `SELECT reason, count(*) FROM dead_letters WHERE run_id = ${runId} GROUP BY reason` },
  }
}
