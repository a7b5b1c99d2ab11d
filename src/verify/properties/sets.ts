import { KIND_NAMES, type Kind } from '../../kinds.js'
import type { SetCounts, SetReport } from '../completeness.js'
import type { KindReport } from '../parallel.js'
import type { Slo } from '../slo.js'
import type { PropertyId, PropertyResult, RunManifest } from '../types.js'
import type { Property } from './types.js'
import { firstNamed, firstOf } from './evidence.js'

/** What the set-based (or row-by-row) pass over the sensor tables found, per kind. */
export interface SetsReport {
  readonly perKind: Map<Kind, KindReport>
  readonly method: Record<string, unknown>
}

const sumCounts = (reports: SetReport[]): SetCounts => {
  const total: SetCounts = { expected: 0, ok: 0, lost: 0, unacknowledgedLost: 0, recovered: 0, duplicated: 0, unexpected: 0, corrupted: 0 }
  for (const r of reports) for (const k of Object.keys(total) as Array<keyof SetCounts>) total[k] += r.counts[k]
  return total
}

/** P1–P3 from the per-kind set and order reports. */
export function setProperties({ perKind, method }: SetsReport, manifest: RunManifest, slo: Slo): readonly [PropertyResult, PropertyResult, PropertyResult] {
  const sets = KIND_NAMES.map((k) => perKind.get(k)!.set)
  const orders = KIND_NAMES.map((k) => perKind.get(k)!.order)
  const c = sumCounts(sets)
  const byKind = Object.fromEntries(KIND_NAMES.map((k) => [k, perKind.get(k)!.set.counts]))
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
      p1Pass ? '' : firstNamed([['lost', lost], ['duplicated', duplicated], ['unexpected', unexpected]])}`,
    evidence: {
      counts: c,
      byKind,
      lost,
      lostByDevice: sets.flatMap((s) => s.lostByDevice).sort((a, b) => b[1] - a[1]).slice(0, 20),
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
    summary: c.corrupted === 0 ? `every stored value equals the oracle's (${c.ok + c.recovered} readings)` : `${c.corrupted} readings differ from the oracle${firstNamed([['', corrupted]])}`,
    evidence: { corrupted: c.corrupted, samples: corrupted, reproduce },
  }
  const outOfOrder = orders.reduce((n, o) => n + o.outOfOrder, 0)
  const worst = orders.reduce((n, o) => Math.max(n, o.worstDisplacement), 0)
  const p3: PropertyResult = {
    id: 'P3',
    name: 'ordering',
    pass: outOfOrder === 0,
    summary: outOfOrder === 0 ? 'every device’s readings were received in seq order' : `${outOfOrder} readings received out of order, worst displacement ${worst} seqs${firstNamed([['', reordered]])}`,
    evidence: { outOfOrder, worstDisplacement: worst, samples: reordered, byKind: Object.fromEntries(KIND_NAMES.map((k, i) => [k, { outOfOrder: orders[i].outOfOrder, worstDisplacement: orders[i].worstDisplacement }])) },
  }
  return [p1, p2, p3]
}

const setProperty = (i: 0 | 1 | 2, id: PropertyId, name: string): Property => ({
  id,
  name,
  lane: 'main',
  check: async (ctx) => setProperties(await ctx.sets(), ctx.manifest, ctx.slo)[i],
})

/** P1 completeness: every reading acknowledged at the source is stored (lost, duplicated, unexpected, recovered). */
export const completeness = setProperty(0, 'P1', 'completeness')
/** P2 integrity: every stored value equals the oracle's. */
export const integrity = setProperty(1, 'P2', 'integrity')
/** P3 ordering: per device, receive order follows seq. */
export const ordering = setProperty(2, 'P3', 'ordering')
