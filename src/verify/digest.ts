import { KINDS, type FieldType, type Kind } from '../kinds.js'

/**
 * Per-device fingerprints of a reading stream, computed the same way by the oracle (here, in
 * JavaScript) and by PostgreSQL (the SQL of `digestSelect`), so P1–P3 can be checked inside the
 * database for every device whose stored rows equal the oracle's stream, and only the others are
 * streamed out for the exact, evidence-giving check.
 *
 * A row's fingerprint is arithmetic modulo the Mersenne prime P = 2³¹−1:
 *   q_i  = the row's values as integers: ts in ms, float8 × 100 (the generator's two decimals),
 *          int4 as is, bool 0/1, NULL a sentinel; each q_i + 2⁴¹ mod P
 *   r    = Σ q_i·K_i mod P                         (K_i: a constant per column, < 2²⁷)
 *   w(s) = (s + C)·(s + D) mod P                   (quadratic in seq, so swapped rows do not cancel)
 *   row  = r·w(s) mod P
 * and a device's digest is Σ row mod P, with two independent constant sets (d1, d2). Every
 * intermediate stays below 2⁶³ in SQL and below 2⁵³ in JavaScript (mulmod splits the factor).
 * A changed, lost, added or reseqed row changes a digest unless its change is ≡ 0 (mod P) by
 * accident: about 1 in 2³¹ for each digest, so 1 in 2⁶² for the pair, per faulty device.
 *
 * Float values take part as value × 100, which is exact only for values with two decimals (every
 * float the generator produces, see round2 in src/sim/generator.ts); the SQL also counts stored floats
 * that are not exactly such a value (`inexact`), and a device whose oracle values are not all
 * two-decimal (a replayed trace) gets no digest, so it always takes the exact path.
 */
export const P = 2_147_483_647
const OFFSET = 2 ** 41
const NULL_Q = 2 ** 42
const SCALE = 100

interface Constants { readonly k: readonly number[]; readonly c: number; readonly d: number }
/** K for ts then up to 15 fields; C and D below 2³⁰. Arbitrary odd constants, fixed forever (stored digests use them). */
const SETS: readonly Constants[] = [
  { k: [104_729_023, 86_028_121, 122_949_829, 53_471_161, 99_194_853, 15_485_863, 67_867_967, 32_452_843, 49_979_687, 98_965_387, 115_249_019, 71_234_567, 83_492_791, 20_996_011, 40_960_001, 127_773_049], c: 817_504_243, d: 533_000_389 },
  { k: [91_145_681, 7_368_787, 130_563_677, 60_625_937, 28_629_151, 111_009_913, 45_836_009, 78_969_169, 2_750_159, 103_245_997, 57_885_161, 12_345_701, 94_418_953, 36_893_489, 118_818_001, 64_268_999], c: 295_075_153, d: 1_000_000_007 - 2 ** 29 },
]

/** a·b mod P for 0 ≤ a, b < P without leaving the exact range of a double. */
export function mulmod(a: number, b: number): number {
  return (((a * Math.floor(b / 65_536)) % P) * 65_536 + a * (b % 65_536)) % P
}

const reduce = (q: number): number => (q + OFFSET) % P

/** The integer a value takes part as, or undefined when a float is not an exact two-decimal value. */
function quantize(type: FieldType, v: number | boolean | null | undefined): number | undefined {
  if (v === null || v === undefined) return NULL_Q
  switch (type) {
    case 'bool': return v ? 1 : 0
    case 'int4': return v as number
    case 'float8': {
      const q = Math.round((v as number) * SCALE)
      return q / SCALE === v ? q : undefined
    }
  }
}

/** Accumulates the two digests of one device's stream, row by row (any order: the sum commutes). */
export class DeviceDigest {
  d1 = 0
  d2 = 0
  rows = 0
  /** False once a value could not take part exactly: the device must be checked the exact way. */
  exact = true
  private readonly types: readonly FieldType[]

  constructor(kind: Kind) {
    this.types = KINDS[kind].fields.map((f) => f.type)
  }

  add(seq: number, tsMs: number, values: ArrayLike<number | boolean | null | undefined>): void {
    this.rows++
    const qs = [reduce(tsMs)]
    for (let i = 0; i < this.types.length; i++) {
      const q = quantize(this.types[i]!, values[i])
      if (q === undefined) {
        this.exact = false
        return
      }
      qs.push(reduce(q))
    }
    this.d1 = (this.d1 + rowTerm(SETS[0]!, seq, qs)) % P
    this.d2 = (this.d2 + rowTerm(SETS[1]!, seq, qs)) % P
  }
}

function rowTerm(s: Constants, seq: number, qs: readonly number[]): number {
  let r = 0
  for (let i = 0; i < qs.length; i++) r = (r + mulmod(qs[i]!, s.k[i]!)) % P
  return mulmod(r, mulmod((seq + s.c) % P, (seq + s.d) % P))
}

/** The SQL expression of one column's q_i + 2⁴¹ mod P. */
function columnSql(name: string, type: FieldType | 'ts'): string {
  const q = type === 'ts'
    ? `round(date_part('epoch', ts) * 1000)::int8`
    : type === 'float8' ? `round(${name} * ${SCALE})::int8`
    : type === 'int4' ? `${name}::int8`
    : `${name}::int::int8`
  return `((coalesce(${q}, ${NULL_Q}) + ${OFFSET}) % ${P})`
}

function digestSql(kind: Kind, s: Constants): string {
  const cols: Array<[string, FieldType | 'ts']> = [['ts', 'ts'], ...KINDS[kind].fields.map((f): [string, FieldType] => [f.name, f.type])]
  const r = `((${cols.map(([n, t], i) => `${columnSql(n, t)} * ${s.k[i]}`).join(' + ')}) % ${P})`
  return `(sum((${r} * (((seq::int8 + ${s.c}) * (seq::int8 + ${s.d})) % ${P})) % ${P}) % ${P})::int8`
}

/**
 * One row per device of the run (optionally only devices in `where`): how many rows, lowest and
 * highest seq, both digests, stored floats that are not two-decimal values, and the readings the
 * ingest stored after a higher seq of the same device (P3; prior_seq is the highest seq of the
 * device stored before the row, −1 for its first) with the worst displacement.
 */
export function digestSelect(kind: Kind, runId: number, where = ''): string {
  const spec = KINDS[kind]
  const floats = spec.fields.filter((f) => f.type === 'float8').map((f) => `${f.name} <> round(${f.name} * ${SCALE}) / ${SCALE}`)
  return `SELECT device, count(*)::int8 AS n, min(seq) AS min_seq, max(seq) AS max_seq,
    ${digestSql(kind, SETS[0]!)} AS d1, ${digestSql(kind, SETS[1]!)} AS d2,
    count(*) FILTER (WHERE ${floats.length ? floats.join(' OR ') : 'false'})::int8 AS inexact,
    count(*) FILTER (WHERE prior_seq IS NULL OR seq < prior_seq)::int8 AS late,
    coalesce(max(prior_seq - seq) FILTER (WHERE seq < prior_seq), 0) AS worst
  FROM ${spec.table} WHERE run_id = ${Number(runId)}${where} GROUP BY device`
}

export interface StoredDigest {
  readonly device: string
  readonly n: number
  readonly minSeq: number
  readonly maxSeq: number
  readonly d1: number
  readonly d2: number
  readonly inexact: number
  readonly late: number
  readonly worst: number
}
