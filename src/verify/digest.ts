import { KINDS, type FieldType, type Kind } from '../kinds.js'

/**
 * Per-device fingerprints of a reading stream, computed the same way by the oracle (here, in
 * JavaScript) and by PostgreSQL (the SQL of `digestSelect`), so P1–P3 can be checked inside the
 * database for every device whose stored rows equal the oracle's stream, and only the others are
 * streamed out for the exact, evidence-giving check.
 *
 * Each value becomes a 32-bit hash of its exact bits with PostgreSQL's own hash functions (hashfloat8,
 * hashint4: Bob Jenkins' lookup3, reimplemented below), the sensor time its ms; then, modulo the
 * Mersenne prime P = 2³¹−1:
 *   r    = Σ u_i·K_i mod P                         (u_i: the column's hash or ms; K_i < 2²⁶, one per column)
 *   w(s) = (s + C)·(s + D) mod P                   (quadratic in seq, so swapped rows do not cancel)
 *   d    = Σ over the device's rows of r·w(s) mod P, for two (C, D) pairs: d1 and d2
 * Every intermediate stays below 2⁶³ in SQL and below 2⁵³ in JavaScript (mulmod splits the factor).
 * A changed value changes r unless its hash collides (about 1 in 2³¹), and a changed r changes both
 * digests; lost, added or re-seqed rows change them unless two independent sums cancel by accident.
 * A float takes part by its exact bits (38.62 and 38.620000001 differ); NaN is not hashed the same way
 * on both sides, so a device whose oracle stream holds one gets no digest and is checked row by row.
 */
export const P = 2_147_483_647
const NULL_U = 2 ** 32 + 15
/** K for ts then up to 15 fields (< 2²⁶); C and D below 2³⁰. Arbitrary constants, fixed forever (stored digests use them). */
const K = [48_271_001, 16_807_013, 62_089_911, 33_554_393, 55_555_333, 7_368_787, 41_161_739, 29_986_577, 64_951_423, 12_582_917, 50_331_653, 3_145_739, 25_165_843, 37_748_717, 58_720_253, 19_999_999]
const WEIGHTS: ReadonlyArray<{ readonly c: number; readonly d: number }> = [
  { c: 817_504_243, d: 533_000_389 },
  { c: 295_075_153, d: 463_129_095 },
]

/** a·b mod P for 0 ≤ a, b < P without leaving the exact range of a double. */
export function mulmod(a: number, b: number): number {
  return (((a * Math.floor(b / 65_536)) % P) * 65_536 + a * (b % 65_536)) % P
}

// ---- PostgreSQL's hash_uint32 and hash_any for 8 bytes (src/common/hashfn.c), unsigned 32-bit results.
const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k))
function finalC(a: number, b: number, c: number): number {
  c = ((c ^ b) - rot(b, 14)) | 0
  a = ((a ^ c) - rot(c, 11)) | 0
  b = ((b ^ a) - rot(a, 25)) | 0
  c = ((c ^ b) - rot(b, 16)) | 0
  a = ((a ^ c) - rot(c, 4)) | 0
  b = ((b ^ a) - rot(a, 14)) | 0
  c = ((c ^ b) - rot(b, 24)) | 0
  return c >>> 0
}
const INIT4 = (0x9e3779b9 + 4 + 3923095) | 0
const INIT8 = (0x9e3779b9 + 8 + 3923095) | 0
/** hashint4(k) as an unsigned number. */
export const hashInt4 = (k: number): number => finalC((INIT4 + k) | 0, INIT4, INIT4)
const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)
/** hashfloat8(v) as an unsigned number (0 and −0 hash to 0, as in PostgreSQL). */
export function hashFloat8(v: number): number {
  if (v === 0) return 0
  f64[0] = v
  return finalC((INIT8 + u32[0]!) | 0, (INIT8 + u32[1]!) | 0, INIT8)
}

/** The column's u (below 2³³) for a value; undefined when it cannot take part (NaN). */
function columnU(type: FieldType, v: number | boolean | null | undefined): number | undefined {
  if (v === null || v === undefined) return NULL_U
  switch (type) {
    case 'bool': return v ? 2 : 1
    case 'int4': return hashInt4(v as number)
    case 'float8': return Number.isNaN(v) ? undefined : hashFloat8(v as number)
  }
}

/** Accumulates the two digests of one device's stream, row by row (any order: the sum commutes). */
export class DeviceDigest {
  d1 = 0
  d2 = 0
  rows = 0
  /** False once a value could not take part: the device must be checked the exact way. */
  exact = true
  private readonly types: readonly FieldType[]

  constructor(kind: Kind) {
    this.types = KINDS[kind].fields.map((f) => f.type)
  }

  add(seq: number, tsMs: number, values: ArrayLike<number | boolean | null | undefined>): void {
    this.rows++
    let r = mulmod(tsMs % P, K[0]!)
    for (let i = 0; i < this.types.length; i++) {
      const u = columnU(this.types[i]!, values[i])
      if (u === undefined) {
        this.exact = false
        return
      }
      r = (r + mulmod(u % P, K[i + 1]!)) % P
    }
    this.d1 = (this.d1 + mulmod(r, weight(WEIGHTS[0]!, seq))) % P
    this.d2 = (this.d2 + mulmod(r, weight(WEIGHTS[1]!, seq))) % P
  }
}

const weight = (w: { c: number; d: number }, seq: number): number => mulmod((seq + w.c) % P, (seq + w.d) % P)

/** The SQL of one column's u. */
function columnSql(name: string, type: FieldType): string {
  const u = type === 'float8' ? `(hashfloat8(${name})::int8 & 4294967295)`
    : type === 'int4' ? `(hashint4(${name})::int8 & 4294967295)`
    : `(${name}::int::int8 + 1)`
  return `coalesce(${u}, ${NULL_U})`
}

/**
 * One row per device of the run: how many rows, lowest and highest seq, both digests, and the
 * readings the ingest stored after a higher seq of the same device (P3; prior_seq is the highest seq
 * of the device stored before the row, −1 for its first) with the worst displacement.
 */
export function digestSelect(kind: Kind, runId: number, where = ''): string {
  const spec = KINDS[kind]
  const terms = [`(round(date_part('epoch', ts) * 1000)::int8 % ${P}) * ${K[0]}`, ...spec.fields.map((f, i) => `${columnSql(f.name, f.type)} * ${K[i + 1]}`)]
  const digest = (w: { c: number; d: number }): string => `(sum((r * (((seq::int8 + ${w.c}) * (seq::int8 + ${w.d})) % ${P})) % ${P}) % ${P})::int8`
  return `SELECT device, count(*)::int8 AS n, min(seq) AS min_seq, max(seq) AS max_seq,
    ${digest(WEIGHTS[0]!)} AS d1, ${digest(WEIGHTS[1]!)} AS d2,
    count(*) FILTER (WHERE prior_seq IS NULL OR seq < prior_seq)::int8 AS late,
    coalesce(max(prior_seq - seq) FILTER (WHERE seq < prior_seq), 0) AS worst
  FROM (SELECT device, seq, prior_seq, (${terms.join(' + ')}) % ${P} AS r FROM ${spec.table} WHERE run_id = ${Number(runId)}${where}) rows
  GROUP BY device`
}

export interface StoredDigest {
  readonly device: string
  readonly n: number
  readonly minSeq: number
  readonly maxSeq: number
  readonly d1: number
  readonly d2: number
  readonly late: number
  readonly worst: number
}
