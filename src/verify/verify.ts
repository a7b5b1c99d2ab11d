import type pg from 'pg'
import { KINDS, KIND_NAMES, type FieldValue, type Kind } from '../kinds.js'
import type { LatencySummary } from '../util/histogram.js'
import { SetChecker, type SetCounts, type SetReport } from './completeness.js'
import { OrderChecker, type OrderReport } from './ordering.js'
import { copyRows } from '../db/copy-rows.js'
import type { PropertyResult, RunManifest, Sample } from './types.js'

export interface Slo {
  readonly p99Ms: number
  readonly maxLost: number
}

export interface LatencyEvidence {
  readonly endToEnd: LatencySummary
  readonly brokerHop: LatencySummary
  readonly scheduleLag: LatencySummary
}

const parseValue = (type: string, s: string | null): FieldValue | null => {
  if (s === null) return null
  if (type === 'bool') return s === 't'
  return Number(s)
}

async function checkKind(client: pg.Client, runId: number, manifest: RunManifest, kind: Kind): Promise<{ set: SetReport; order: OrderReport }> {
  const spec = KINDS[kind]
  const set = new SetChecker(manifest, kind)
  const cols = spec.fields.map((f) => f.name).join(', ')
  const byDeviceSeq = `SELECT device, seq, (extract(epoch FROM ts) * 1000)::bigint, ${cols} FROM ${spec.table}
    WHERE run_id = ${Number(runId)} ORDER BY device COLLATE "C", seq, rx`
  for await (const r of copyRows(client, byDeviceSeq)) {
    const values: (FieldValue | null)[] = new Array(spec.fields.length)
    for (let i = 0; i < spec.fields.length; i++) values[i] = parseValue(spec.fields[i]!.type, r[3 + i] ?? null)
    set.add({ device: r[0]!, seq: Number(r[1]), ts: Number(r[2]), values })
  }
  const order = new OrderChecker()
  const byReceive = `SELECT device, seq FROM ${spec.table} WHERE run_id = ${Number(runId)} ORDER BY device COLLATE "C", rx`
  for await (const r of copyRows(client, byReceive)) order.add(r[0]!, Number(r[1]))
  return { set: set.finish(), order: order.report }
}

const sumCounts = (reports: SetReport[]): SetCounts => {
  const total: SetCounts = { expected: 0, ok: 0, lost: 0, unacknowledgedLost: 0, recovered: 0, duplicated: 0, unexpected: 0, corrupted: 0 }
  for (const r of reports) for (const k of Object.keys(total) as Array<keyof SetCounts>) total[k] += r.counts[k]
  return total
}
const firstOf = (lists: Sample[][]): Sample[] => lists.flat().slice(0, 20)

/** Checks P1–P4 for one run from the database (streamed, set-based) and the merged latency histograms. */
export async function verifyRun(client: pg.Client, runId: number, manifest: RunManifest, latency: LatencyEvidence, slo: Slo): Promise<PropertyResult[]> {
  const perKind = new Map<Kind, { set: SetReport; order: OrderReport }>()
  for (const kind of KIND_NAMES) perKind.set(kind, await checkKind(client, runId, manifest, kind))
  const sets = KIND_NAMES.map((k) => perKind.get(k)!.set)
  const orders = KIND_NAMES.map((k) => perKind.get(k)!.order)
  const c = sumCounts(sets)
  const byKind = Object.fromEntries(KIND_NAMES.map((k) => [k, perKind.get(k)!.set.counts]))
  const reproduce = `iotbench verify <run-id> (seed ${manifest.seed}, ${manifest.perDevice} readings per device)`

  const p1Pass = c.lost <= slo.maxLost && c.duplicated === 0 && c.unexpected === 0
  const p1: PropertyResult = {
    id: 'P1',
    name: 'completeness',
    pass: p1Pass,
    summary: `${c.ok + c.recovered} of ${c.expected} stored; lost ${c.lost} (allowed ${slo.maxLost}), duplicated ${c.duplicated}, unexpected ${c.unexpected}, recovered ${c.recovered}, never acknowledged and missing ${c.unacknowledgedLost}`,
    evidence: {
      counts: c,
      byKind,
      lost: firstOf(sets.map((s) => s.lost)),
      lostByDevice: sets.flatMap((s) => s.lostByDevice).sort((a, b) => b[1] - a[1]).slice(0, 20),
      duplicated: firstOf(sets.map((s) => s.duplicated)),
      unexpected: firstOf(sets.map((s) => s.unexpected)),
      reproduce,
    },
  }
  const p2: PropertyResult = {
    id: 'P2',
    name: 'integrity',
    pass: c.corrupted === 0,
    summary: c.corrupted === 0 ? `every stored value equals the oracle's (${c.ok + c.recovered} readings)` : `${c.corrupted} readings differ from the oracle`,
    evidence: { corrupted: c.corrupted, samples: firstOf(sets.map((s) => s.corrupted)), reproduce },
  }
  const outOfOrder = orders.reduce((n, o) => n + o.outOfOrder, 0)
  const worst = orders.reduce((n, o) => Math.max(n, o.worstDisplacement), 0)
  const p3: PropertyResult = {
    id: 'P3',
    name: 'ordering',
    pass: outOfOrder === 0,
    summary: outOfOrder === 0 ? 'every device’s readings were received in seq order' : `${outOfOrder} readings received out of order, worst displacement ${worst} seqs`,
    evidence: { outOfOrder, worstDisplacement: worst, samples: firstOf(orders.map((o) => o.samples)), byKind: Object.fromEntries(KIND_NAMES.map((k, i) => [k, { outOfOrder: orders[i]!.outOfOrder, worstDisplacement: orders[i]!.worstDisplacement }])) },
  }
  const e = latency.endToEnd
  const p4Pass = e.count > 0 && e.p99Ms <= slo.p99Ms
  const p4: PropertyResult = {
    id: 'P4',
    name: 'latency',
    pass: p4Pass,
    summary: e.count === 0 ? 'no latency was recorded' : `end-to-end p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms (SLO ≤ ${slo.p99Ms} ms), max ${e.maxMs} ms; broker hop p99 ${latency.brokerHop.p99Ms} ms`,
    evidence: { sloP99Ms: slo.p99Ms, endToEnd: e, brokerHop: latency.brokerHop, scheduleLag: latency.scheduleLag, measuredFrom: 'intended send time (open-loop schedule)', measuredTo: 'commit of the batch holding the reading' },
  }
  return [p1, p2, p3, p4]
}
