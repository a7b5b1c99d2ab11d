import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import pg from 'pg'
import { connect } from '../../src/db/connect.js'
import { migrate, pgSession } from '../../src/db/migrate.js'
import { Batch } from '../../src/ingest/batch.js'
import { commitBatch } from '../../src/ingest/commit.js'
import { KINDS, KIND_NAMES, type FieldValue, type Kind } from '../../src/kinds.js'
import { DeviceDigest, digestSelect, hashFloat8, hashInt4, mulmod, P } from '../../src/verify/digest.js'
import { requireService, uniqueName } from '../support/services.js'

// The set-based P1–P3 pass trusts one thing: that PostgreSQL's digest of the stored rows (digestSelect)
// equals the oracle's digest (DeviceDigest) exactly when the rows are the oracle's. Both directions
// are checked here on a real PostgreSQL, for arbitrary streams of every sensor kind.

const T0 = Date.UTC(2026, 10, 1)

interface Row { seq: number; ts: number; values: (FieldValue | null)[]; prior: number }

const valueArb = (type: string): fc.Arbitrary<FieldValue | null> =>
  type === 'bool' ? fc.boolean()
  : type === 'int4' ? fc.integer({ min: -2_000_000, max: 2_000_000 })
  : fc.oneof(fc.integer({ min: -10_000_000, max: 10_000_000 }).map((k) => k / 100), fc.double({ noNaN: true, noDefaultInfinity: true })) // the generator's two decimals, or any float

/** A device's stream: distinct seqs (any order of storing), ms timestamps, values of the kind's types. */
const streamArb = (kind: Kind): fc.Arbitrary<Row[]> =>
  fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 40 }).chain((seqs) =>
    fc.tuple(...seqs.map((seq) => fc.tuple(fc.integer({ min: -86_400_000, max: 400 * 86_400_000 }), fc.tuple(...KINDS[kind].fields.map((f) => valueArb(f.type))))
      .map(([dt, values]): Row => ({ seq, ts: T0 + dt, values, prior: seq - 1 })))))

type Mutation = { what: string; apply: (rows: Row[]) => Row[] }
const mutationArb = (kind: Kind, n: number): fc.Arbitrary<Mutation> => {
  const fields = KINDS[kind].fields
  return fc.oneof(
    fc.record({ i: fc.nat(n - 1), f: fc.nat(fields.length - 1) }).map(({ i, f }): Mutation => ({
      what: `row ${i} field ${fields[f]!.name} changed`,
      apply: (rows) => rows.map((r, j) => (j !== i ? r : { ...r, values: r.values.map((v, k) => (k !== f ? v : typeof v === 'boolean' ? !v : v === null ? 0 : fields[f]!.type === 'float8' ? Math.round(v * 100 + 1) / 100 : v + 1)) })),
    })),
    fc.record({ i: fc.nat(n - 1), d: fc.constantFrom(1, -1, 60_000) }).map(({ i, d }): Mutation => ({ what: `row ${i} ts ${d} ms`, apply: (rows) => rows.map((r, j) => (j === i ? { ...r, ts: r.ts + d } : r)) })),
    fc.nat(n - 1).map((i): Mutation => ({ what: `row ${i} stored twice`, apply: (rows) => [...rows, rows[i]!] })),
    fc.nat(n - 1).map((i): Mutation => ({ what: `row ${i} lost and another stored twice`, apply: (rows) => (rows.length < 2 ? [...rows, rows[i]!] : rows.map((r, j) => (j === i ? rows[(i + 1) % rows.length]! : r))) })),
    fc.nat(n - 1).map((i): Mutation => ({ what: `row ${i} seq + 5001`, apply: (rows) => rows.map((r, j) => (j === i ? { ...r, seq: r.seq + 5001 } : r)) })),
    fc.record({ i: fc.nat(n - 1), j: fc.nat(n - 1) }).map(({ i, j }): Mutation => ({
      what: `values of rows ${i} and ${j} swapped`,
      apply: (rows) => rows.map((r, k) => (k === i ? { ...r, values: rows[j]!.values, ts: rows[j]!.ts } : k === j ? { ...r, values: rows[i]!.values, ts: rows[i]!.ts } : r)),
    })),
  )
}

const jsDigest = (kind: Kind, rows: readonly Row[]): { n: number; d1: number; d2: number } => {
  const d = new DeviceDigest(kind)
  for (const r of rows) d.add(r.seq, r.ts, r.values)
  assert.equal(d.exact, true)
  return { n: d.rows, d1: d.d1, d2: d.d2 }
}

describe('per-device digests: PostgreSQL and the oracle agree', () => {
  let client: pg.Client | undefined
  let url: string | undefined
  const schema = uniqueName('digest')
  let runId = 0

  before(async () => {
    url = process.env['IOTBENCH_TEST_DATABASE_URL']
  })
  after(async () => {
    if (client) {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
      await client.end()
    }
  })

  async function db(t: Parameters<typeof requireService>[0]): Promise<pg.Client | undefined> {
    if (client) return client
    url = await requireService(t, 'database')
    if (!url) return undefined
    client = await connect(url, schema, 'iotbench-test-digest')
    await migrate(pgSession(client), schema)
    for (const k of KIND_NAMES) await client.query('SELECT iotbench_ensure_partitions($1, $2, $3)', [KINDS[k].table, new Date(T0 - 86_400_000), new Date(T0 + 401 * 86_400_000)])
    return client
  }

  /** Stores the rows through the ingest's binary COPY path under a fresh run id; returns the database's digest row. */
  async function stored(c: pg.Client, kind: Kind, rows: readonly Row[]): Promise<{ n: number; d1: number; d2: number; late: number; min: number; max: number }> {
    const id = ++runId
    const batch = new Batch(id)
    rows.forEach((r, i) => batch.addReading({ kind, device: 'farm01-dev-0001', seq: r.seq, ts: r.ts, sent: T0, values: r.values as FieldValue[] }, T0, i, r.prior))
    await commitBatch(c, id, 0, batch)
    const q = (await c.query(digestSelect(kind, id))).rows
    assert.equal(q.length, 1)
    const x = q[0]
    return { n: Number(x.n), d1: Number(x.d1), d2: Number(x.d2), late: Number(x.late), min: x.min_seq, max: x.max_seq }
  }

  test('mulmod is a·b mod P', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: P - 1 }), fc.integer({ min: 0, max: P - 1 }), (a, b) => mulmod(a, b) === Number((BigInt(a) * BigInt(b)) % BigInt(P))), { numRuns: 10_000 })
  })

  for (const kind of KIND_NAMES) {
    test(`${kind}: the database's digest of stored rows equals the oracle's; any change to the rows changes it`, async (t) => {
      const c = await db(t)
      if (!c) return
      await fc.assert(
        fc.asyncProperty(streamArb(kind).chain((rows) => fc.tuple(fc.constant(rows), mutationArb(kind, rows.length))), async ([rows, mutation]) => {
          const want = jsDigest(kind, rows)
          const got = await stored(c, kind, rows)
          assert.deepEqual({ n: got.n, d1: got.d1, d2: got.d2 }, want, 'same rows, same digest')
          const changed = mutation.apply(rows)
          const canon = (rs: readonly Row[]): string => JSON.stringify(rs.map((r) => [r.seq, r.ts, r.values]).sort())
          fc.pre(canon(changed) !== canon(rows)) // a swap of equal rows is no change
          const bad = await stored(c, kind, changed)
          assert.ok(bad.n !== want.n || bad.d1 !== want.d1 || bad.d2 !== want.d2, `${mutation.what}: the digest did not change`)
        }),
        { numRuns: 40 },
      )
    })
  }

  test('hashInt4 and hashFloat8 equal PostgreSQL\'s hashint4 and hashfloat8 for any value', async (t) => {
    const c = await db(t)
    if (!c) return
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { minLength: 1, maxLength: 50 }), fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 50 }), async (ints, floats) => {
        const r = await c.query<{ i: number[]; f: number[] }>('SELECT array(SELECT hashint4(x) FROM unnest($1::int4[]) x) AS i, array(SELECT hashfloat8(x) FROM unnest($2::float8[]) x) AS f', [ints, floats])
        assert.deepEqual(r.rows[0]!.i.map((h) => h >>> 0), ints.map(hashInt4))
        assert.deepEqual(r.rows[0]!.f.map((h) => h >>> 0), floats.map(hashFloat8))
      }),
      { numRuns: 50 },
    )
  })

  test('a float changed in its ninth decimal changes the digest; a reading stored after a higher seq is late', async (t) => {
    const c = await db(t)
    if (!c) return
    const rows: Row[] = [
      { seq: 0, ts: T0, values: [1.25, 2, 3, 38.5, 99, -60], prior: -1 },
      { seq: 2, ts: T0 + 120_000, values: [1.25, 2, 3, 38.5, 99, -60], prior: 0 },
      { seq: 1, ts: T0 + 60_000, values: [1, 2, 3, 38.5, 99, -60], prior: 2 },
    ]
    const got = await stored(c, 'collar', rows)
    assert.deepEqual({ n: got.n, d1: got.d1, d2: got.d2 }, jsDigest('collar', rows))
    assert.equal(got.late, 1)
    assert.deepEqual([got.min, got.max], [0, 2])
    const nudged = await stored(c, 'collar', rows.map((r, i) => (i === 1 ? { ...r, values: [1.25 + 1e-9, ...r.values.slice(1)] } : r)))
    assert.notEqual(nudged.d1, got.d1)
    assert.notEqual(nudged.d2, got.d2)
  })
})
