import { BUCKET_MS, type AggregateSpec } from '../../src/verify/dashboard-aggregates.js'
import type { FieldValue } from '../../src/kinds.js'

export type ModelValues = Readonly<Record<string, FieldValue | null | undefined>>

/**
 * An independent model of a device's 1-minute buckets (what sql/003_aggregates computes): group by
 * minute, then each column over the readings that have the field, booleans as 1 and 0, NULLs left out.
 * Plain array operations, so tests can hold BucketAccumulator and P8's check against it.
 */
export function modelBuckets(
  spec: AggregateSpec,
  readings: ReadonlyArray<{ readonly ts: number; readonly values: ModelValues }>,
): Array<{ t: number; values: Array<number | null> }> {
  const minutes = [...new Set(readings.map((r) => Math.floor(r.ts / BUCKET_MS) * BUCKET_MS))].sort((a, b) => a - b)
  return minutes.map((t) => {
    const inBucket = readings.filter((r) => Math.floor(r.ts / BUCKET_MS) * BUCKET_MS === t)
    return {
      t,
      values: spec.columns.map((c) => {
        if (c.fn === 'count') return inBucket.length
        const xs = inBucket
          .map((r) => r.values[c.field])
          .filter((v): v is FieldValue => v !== null && v !== undefined)
          .map(Number)
        if (xs.length === 0) return null
        const sum = xs.reduce((a, b) => a + b, 0)
        return { avg: sum / xs.length, sum, max: Math.max(...xs), min: Math.min(...xs) }[c.fn]
      }),
    }
  })
}
