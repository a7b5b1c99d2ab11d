import type { Device } from '../fleet.js'
import { KINDS, type FieldValue, type Kind } from '../kinds.js'
import type { Reading } from '../sim/generator.js'

/**
 * The 1-minute aggregates the dashboards read, as data: one column per aggregate function over a
 * reading field. sql/003_aggregates.*.sql defines the same columns (a unit test holds the two in
 * step), so the verifier can recompute every bucket from the oracle's readings and from the raw rows
 * without importing anything of the ingest.
 */
export type AggFn = 'count' | 'avg' | 'sum' | 'max' | 'min'
export type AggColumn =
  | { readonly column: string; readonly fn: 'count'; readonly field?: undefined }
  /** `field`: the reading field aggregated; booleans count as 1 and 0. */
  | { readonly column: string; readonly fn: Exclude<AggFn, 'count'>; readonly field: string }
export interface AggregateSpec {
  readonly kind: Kind
  readonly view: string
  readonly table: string
  readonly columns: readonly AggColumn[]
}

export const BUCKET_MS = 60_000

export const AGGREGATES: readonly AggregateSpec[] = [
  {
    kind: 'collar',
    view: 'collar_1m',
    table: 'collar_readings',
    columns: [
      { column: 'readings', fn: 'count' },
      { column: 'activity', fn: 'avg', field: 'activity' },
      { column: 'rumination_min', fn: 'avg', field: 'rumination_min' },
      { column: 'eating_min', fn: 'avg', field: 'eating_min' },
      { column: 'neck_temp_c', fn: 'avg', field: 'neck_temp_c' },
      { column: 'neck_temp_max_c', fn: 'max', field: 'neck_temp_c' },
      { column: 'battery_pct', fn: 'min', field: 'battery_pct' },
    ],
  },
  {
    kind: 'milk',
    view: 'milk_1m',
    table: 'milk_readings',
    columns: [
      { column: 'readings', fn: 'count' },
      { column: 'yield_kg', fn: 'sum', field: 'yield_kg' },
      { column: 'conductivity_ms_cm', fn: 'avg', field: 'conductivity_ms_cm' },
      { column: 'fat_pct', fn: 'avg', field: 'fat_pct' },
      { column: 'protein_pct', fn: 'avg', field: 'protein_pct' },
    ],
  },
  {
    kind: 'chiller',
    view: 'chiller_1m',
    table: 'chiller_readings',
    columns: [
      { column: 'readings', fn: 'count' },
      { column: 'milk_temp_c', fn: 'avg', field: 'milk_temp_c' },
      { column: 'milk_temp_max_c', fn: 'max', field: 'milk_temp_c' },
      { column: 'volume_l', fn: 'max', field: 'volume_l' },
      { column: 'compressor_duty', fn: 'avg', field: 'compressor_on' },
    ],
  },
]

/** The SQL of one column of a kind's aggregate over its raw table (the same expression the migration's view uses). */
export function columnSql(c: AggColumn, kind: Kind): string {
  if (c.fn === 'count') return 'count(*)'
  const f = c.field
  const bool = KINDS[kind].fields.some((x) => x.name === f && x.type === 'bool')
  return `${c.fn}(${bool ? `CASE WHEN ${f} THEN 1.0 ELSE 0.0 END` : f})`
}

/**
 * Relative tolerance for sums and averages: PostgreSQL adds float8 values in scan order, which differs
 * between a continuous aggregate, a GROUP BY over the raw chunks and the oracle's seq order, so the last
 * bits may differ. Counts, maxima and minima are compared exactly.
 */
export const REL_TOLERANCE = 1e-9
export const TOLERANCE_NOTE =
  'count, max and min compared exactly; avg and sum within a relative 1e-9 (float8 addition order differs between the aggregate, the raw GROUP BY and the oracle)'

export const exactFn = (fn: AggFn): boolean => fn === 'count' || fn === 'max' || fn === 'min'

export function sameValue(a: number | null, b: number | null, exact: boolean): boolean {
  if (a === null || b === null) return a === b
  if (exact) return a === b
  return Math.abs(a - b) <= REL_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b))
}

/** One device's bucket: [bucket start ms, column values in spec order]. */
export interface Bucket {
  readonly t: number
  readonly values: readonly (number | null)[]
}

interface Acc {
  n: number
  sum: number[]
  nn: number[]
  max: number[]
  min: number[]
}

const numeric = (v: FieldValue | undefined | null): number | null => (typeof v === 'boolean' ? Number(v) : (v ?? null))

/** Per-minute aggregates of one device's readings, in the order of the spec's columns, sorted by bucket. */
export class BucketAccumulator {
  private readonly acc = new Map<number, Acc>()
  /** Buckets that hold a reading the source never saw acknowledged: it may or may not be stored. */
  readonly uncertain = new Set<number>()
  constructor(private readonly spec: AggregateSpec) {}

  /** `uncertain`: the reading was published but never acknowledged (its bucket may or may not be stored). */
  add(r: Pick<Reading, 'ts' | 'values'>, uncertain: boolean): void {
    const t = Math.floor(r.ts / BUCKET_MS) * BUCKET_MS
    if (uncertain) this.uncertain.add(t)
    let a = this.acc.get(t)
    const k = this.spec.columns.length
    if (!a)
      this.acc.set(
        t,
        (a = {
          n: 0,
          sum: new Array(k).fill(0),
          nn: new Array(k).fill(0),
          max: new Array(k).fill(-Infinity),
          min: new Array(k).fill(Infinity),
        }),
      )
    a.n++
    for (let i = 0; i < k; i++) {
      const c = this.spec.columns[i]
      if (c.fn === 'count') continue
      const v = numeric(r.values[c.field])
      if (v === null) continue
      a.nn[i]++
      a.sum[i] += v
      if (v > a.max[i]) a.max[i] = v
      if (v < a.min[i]) a.min[i] = v
    }
  }

  buckets(): Bucket[] {
    const out: Bucket[] = []
    for (const [t, a] of this.acc) {
      out.push({
        t,
        values: this.spec.columns.map((c, i) => {
          if (c.fn === 'count') return a.n
          if (a.nn[i] === 0) return null
          return c.fn === 'avg' ? a.sum[i] / a.nn[i] : c.fn === 'sum' ? a.sum[i] : c.fn === 'max' ? a.max[i] : a.min[i]
        }),
      })
    }
    return out.sort((x, y) => x.t - y.t)
  }
}

/** One difference between two versions of a bucket, as the evidence names it. */
export interface BucketMismatch {
  readonly aggregate: string
  readonly device: string
  readonly farm: string
  readonly bucket: string
  /** What the found side was compared with. */
  readonly against: 'raw rows' | 'oracle'
  readonly column: string
  readonly expected: number | null | 'no bucket'
  readonly found: number | null | 'no bucket'
}

/**
 * Compares one device's buckets, both sorted by time: `expected` (oracle or raw rows) and `found` (the
 * aggregate, or raw rows). Buckets that `skip` rejects are not compared (not yet refreshed, or holding a
 * reading whose storage is uncertain). Reports every differing column of every differing bucket.
 */
export function compareBuckets(
  spec: AggregateSpec,
  device: Device,
  against: BucketMismatch['against'],
  expected: readonly Bucket[],
  found: readonly Bucket[],
  skip: (t: number) => boolean,
): BucketMismatch[] {
  const out: BucketMismatch[] = []
  const at = (t: number): string => new Date(t).toISOString()
  const base = { aggregate: spec.view, device: device.id, farm: device.farm, against }
  let i = 0
  let j = 0
  while (i < expected.length || j < found.length) {
    const e = expected[i]
    const f = found[j]
    if (e && (!f || e.t < f.t)) {
      if (!skip(e.t)) out.push({ ...base, bucket: at(e.t), column: '*', expected: e.values[0] ?? null, found: 'no bucket' })
      i++
    } else if (f && (!e || f.t < e.t)) {
      if (!skip(f.t)) out.push({ ...base, bucket: at(f.t), column: '*', expected: 'no bucket', found: f.values[0] ?? null })
      j++
    } else {
      if (!skip(e.t)) {
        spec.columns.forEach((c, k) => {
          const a = e.values[k] ?? null
          const b = f.values[k] ?? null
          if (!sameValue(a, b, exactFn(c.fn))) out.push({ ...base, bucket: at(e.t), column: c.column, expected: a, found: b })
        })
      }
      i++
      j++
    }
  }
  return out
}
