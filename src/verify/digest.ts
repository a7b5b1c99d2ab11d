import { KINDS, type FieldType, type Kind } from '../kinds.js'

/**
 * Per-device fingerprints of a reading stream, computed the same way by the oracle (here, in
 * JavaScript) and by PostgreSQL (the SQL of `digestSelect`), so P1–P3 can be checked inside the
 * database for every device whose stored rows equal the oracle's stream, and only the others are
 * streamed out for the exact, evidence-giving check.
 *
 * Each row becomes one 64-bit hash, chained through PostgreSQL's own extended hash functions (Bob
 * Jenkins' lookup3 with a 64-bit seed, src/common/hashfn.c, reimplemented below):
 *   h = hashint4extended(seq, S)
 *   h = hashfloat8extended(epoch seconds of ts, h # K_ts)  (µs since 1970 / 10⁶, as a float8)
 *   h = hash…extended(field_i, h # K_i)          for every field, by its exact bits (bool as 0/1)
 * and the device's digest is the exact sum of its rows' hashes (a numeric in SQL, a BigInt here).
 * Seq is hashed first, so a value moved to another seq changes the row's hash; the XOR with a
 * per-column constant keeps a 0.0 (whose hash is its seed) from letting two columns trade values.
 * A changed value, timestamp or seq changes the row's hash unless 64-bit hashes collide; lost,
 * added or duplicated rows change the sum unless unrelated 64-bit hashes cancel (≈ 2⁻⁶⁴ for a fault).
 * A NULL makes the row's hash NULL, which the sum skips: the digest differs and the device is checked
 * row by row. A float takes part by its exact bits (38.62 and 38.620000001 differ; 0 and −0 are one
 * value, as in the exact checker; NaN is one value, as PostgreSQL normalises it).
 *
 * This costs the database a scan and ~8 hash calls per row, with int128 sums; it replaced a
 * digest of 31-bit modular products that cost twice as much per row (bench:verify).
 */

// ---- lookup3 (hashfn.c): mix and final on three uint32 words, as int32 here.
const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k))
let A = 0
let B = 0
let C = 0
function mix(): void {
  A = (A - C) | 0
  A ^= rot(C, 4)
  C = (C + B) | 0
  B = (B - A) | 0
  B ^= rot(A, 6)
  A = (A + C) | 0
  C = (C - B) | 0
  C ^= rot(B, 8)
  B = (B + A) | 0
  A = (A - C) | 0
  A ^= rot(C, 16)
  C = (C + B) | 0
  B = (B - A) | 0
  B ^= rot(A, 19)
  A = (A + C) | 0
  C = (C - B) | 0
  C ^= rot(B, 4)
  B = (B + A) | 0
}
function final(): void {
  C ^= B
  C = (C - rot(B, 14)) | 0
  A ^= C
  A = (A - rot(C, 11)) | 0
  B ^= A
  B = (B - rot(A, 25)) | 0
  C ^= B
  C = (C - rot(B, 16)) | 0
  A ^= C
  A = (A - rot(C, 4)) | 0
  B ^= A
  B = (B - rot(A, 14)) | 0
  C ^= B
  C = (C - rot(B, 24)) | 0
}
const INIT4 = (0x9e3779b9 + 4 + 3923095) | 0
const INIT8 = (0x9e3779b9 + 8 + 3923095) | 0

/** A 64-bit hash as two int32 halves (the result of the functions below lands here). */
export const H = { hi: 0, lo: 0 }

function start(init: number, seedHi: number, seedLo: number): void {
  A = B = C = init
  if ((seedHi | seedLo) !== 0) {
    A = (A + seedHi) | 0
    B = (B + seedLo) | 0
    mix()
  }
}

/** hashint4extended(k, seed) → H (int4 k; hash_bytes_uint32_extended). */
export function hashInt4Extended(k: number, seedHi: number, seedLo: number): void {
  start(INIT4, seedHi, seedLo)
  A = (A + k) | 0
  final()
  H.hi = B
  H.lo = C
}

const f64 = new Float64Array(1)
const u32 = new Int32Array(f64.buffer)
/** hashfloat8extended(v, seed) → H: 0 and −0 return the seed, NaN is hashed as PostgreSQL's one NaN. */
export function hashFloat8Extended(v: number, seedHi: number, seedLo: number): void {
  if (v === 0) {
    H.hi = seedHi
    H.lo = seedLo
    return
  }
  start(INIT8, seedHi, seedLo)
  if (Number.isNaN(v)) {
    A = A | 0 // low word of 0x7ff8000000000000 is 0
    B = (B + 0x7ff80000) | 0
  } else {
    f64[0] = v
    B = (B + u32[1]) | 0
    A = (A + u32[0]) | 0
  }
  final()
  H.hi = B
  H.lo = C
}

/** 64-bit constants: the chain's start and one per column (ts, then up to 15 fields). Fixed forever: stored digests use them. */
const SEED = 0x5a3c_96e1_0f2d_b847n
const KEYS = [
  0x1b87_3593_cc9e_2d51n,
  0x2f6b_a0c9_85eb_ca6bn,
  0x3c6e_f372_fe94_f82bn,
  0x4a95_2b6d_9e37_79b9n,
  0x517c_c1b7_2722_0a95n,
  0x6c8e_9cf5_7b3a_41d3n,
  0x7f4a_7c15_94d0_49bbn,
  0x0d6e_8feb_8665_9fd9n,
  0x1656_67b1_9e37_79f9n,
  0x27d4_eb2f_1656_67c5n,
  0x3243_f6a8_885a_308dn,
  0x4528_21e6_38d0_1377n,
  0x5be0_cd19_137e_2179n,
  0x6a09_e667_f3bc_c908n,
  0x7137_449a_23c6_a2f3n,
  0x0b5c_0fbc_fec4_d3b2n,
]
const hiOf = (k: bigint): number => Number(BigInt.asIntN(32, k >> 32n))
const loOf = (k: bigint): number => Number(BigInt.asIntN(32, k))
const SEED_HI = hiOf(SEED)
const SEED_LO = loOf(SEED)
const KEY_HI = KEYS.map(hiOf)
const KEY_LO = KEYS.map(loOf)

/** Accumulates the digest of one device's stream, row by row (any order: the sum commutes). */
export class DeviceDigest {
  /** Σ of the rows' hashes = big + hi·2³² + lo: two exact doubles (hi: signed halves, lo: unsigned), folded into big every 2²⁰ rows. */
  private big = 0n
  private hi = 0
  private lo = 0
  rows = 0
  /** False once a value could not take part (missing): the device must be checked the exact way. */
  exact = true
  private readonly types: readonly FieldType[]

  constructor(kind: Kind) {
    this.types = KINDS[kind].fields.map((f) => f.type)
  }

  add(seq: number, tsMs: number, values: ArrayLike<number | boolean | null | undefined>): void {
    this.rows++
    hashInt4Extended(seq, SEED_HI, SEED_LO)
    hashFloat8Extended((tsMs * 1000) / 1e6, H.hi ^ KEY_HI[0], H.lo ^ KEY_LO[0])
    for (let i = 0; i < this.types.length; i++) {
      const v = values[i]
      if (v === null || v === undefined) {
        this.exact = false
        return
      }
      const sh = H.hi ^ KEY_HI[i + 1]
      const sl = H.lo ^ KEY_LO[i + 1]
      if (this.types[i] === 'float8') hashFloat8Extended(v as number, sh, sl)
      else hashInt4Extended(typeof v === 'boolean' ? (v ? 1 : 0) : v, sh, sl)
    }
    this.hi += H.hi
    this.lo += H.lo >>> 0
    if ((this.rows & 0xfffff) === 0) this.carry()
  }

  private carry(): void {
    this.big += BigInt(this.hi) * 2n ** 32n + BigInt(this.lo)
    this.hi = 0
    this.lo = 0
  }

  /** The digest as PostgreSQL prints the sum (a decimal integer). */
  get sum(): string {
    return (this.big + BigInt(this.hi) * 2n ** 32n + BigInt(this.lo)).toString()
  }
}

/** The SQL of one row's hash: the chain above, column by column. */
function rowHashSql(kind: Kind): string {
  const key = (i: number): string => `${BigInt.asIntN(64, KEYS[i])}`
  let h = `hashint4extended(seq, ${BigInt.asIntN(64, SEED)})`
  // tstzrange_subdiff(ts, epoch) = (µs since 1970) / 10⁶ as a float8, as date_part('epoch', ts) gives it,
  // without parsing the field name on every row (which made the timestamp cost more than all the values).
  h = `hashfloat8extended(tstzrange_subdiff(ts, '1970-01-01 00:00:00+00'), ${h} # ${key(0)})`
  KINDS[kind].fields.forEach((f, i) => {
    const fn = f.type === 'float8' ? 'hashfloat8extended' : 'hashint4extended'
    const arg = f.type === 'bool' ? `${f.name}::int` : f.name
    h = `${fn}(${arg}, ${h} # ${key(i + 1)})`
  })
  return h
}

/**
 * One row per device of the run: how many rows, the digest (the sum of the rows' hashes, as text), and
 * `late` > 0 when a reading was stored after a higher seq of its device (P3: prior_seq is the highest
 * seq of the device stored before the row, −1 for its first; NULL — a row stored before prior_seq
 * existed — counts as late, so the device takes the exact path).
 */
export function digestSelect(kind: Kind, runId: number, where = ''): string {
  return `SELECT device, count(*)::int8 AS n, sum(${rowHashSql(kind)})::text AS digest, max(coalesce(prior_seq - seq, 1)) AS late
  FROM ${KINDS[kind].table} WHERE run_id = ${Number(runId)}${where}
  GROUP BY device`
}
