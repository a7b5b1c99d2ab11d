import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import type pg from 'pg'
import { connect } from '../../src/db/connect.js'
import { migrate, pgSession } from '../../src/db/migrate.js'
import { Batch } from '../../src/ingest/batch.js'
import { commitBatch } from '../../src/ingest/commit.js'
import { KINDS, KIND_NAMES, type FieldValue, type Kind } from '../../src/kinds.js'
import { DeviceDigest, digestSelect, H, hashFloat8Extended, hashInt4Extended } from '../../src/verify/digest.js'
import { requireService, uniqueName } from '../support/services.js'

// The set-based P1–P3 pass trusts one thing: that PostgreSQL's digest of the stored rows (digestSelect)
// equals the oracle's digest (DeviceDigest) exactly when the rows are the oracle's. Both directions
// are checked here on a real PostgreSQL, for arbitrary streams of every sensor kind.

const T0 = Date.UTC(2026, 10, 1)

interface Row {
  seq: number
  ts: number
  values: (FieldValue | null)[]
  prior: number
}

const valueArb = (type: string): fc.Arbitrary<FieldValue | null> =>
  type === 'bool'
    ? fc.boolean()
    : type === 'int4'
      ? fc.oneof(fc.integer({ min: -2_000_000, max: 2_000_000 }), fc.constant(0))
      : // the generator's two decimals, or any float, or 0 (whose hash is its seed: the case the per-column keys exist for)
        fc.oneof(
          fc.integer({ min: -10_000_000, max: 10_000_000 }).map((k) => k / 100),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constant(0),
        )

/** A device's stream: distinct seqs (any order of storing), ms timestamps, values of the kind's types. */
const streamArb = (kind: Kind): fc.Arbitrary<Row[]> =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 40 })
    .chain((seqs) =>
      fc.tuple(
        ...seqs.map((seq) =>
          fc
            .tuple(fc.integer({ min: -86_400_000, max: 400 * 86_400_000 }), fc.tuple(...KINDS[kind].fields.map((f) => valueArb(f.type))))
            .map(([dt, values]): Row => ({ seq, ts: T0 + dt, values, prior: seq - 1 })),
        ),
      ),
    )

type Mutation = { what: string; apply: (rows: Row[]) => Row[] }
const mutationArb = (kind: Kind, n: number): fc.Arbitrary<Mutation> => {
  const fields = KINDS[kind].fields
  return fc.oneof(
    fc.record({ i: fc.nat(n - 1), f: fc.nat(fields.length - 1) }).map(({ i, f }): Mutation => ({
      what: `row ${i} field ${fields[f]!.name} changed`,
      apply: (rows) =>
        rows.map((r, j) =>
          j !== i
            ? r
            : {
                ...r,
                values: r.values.map((v, k) =>
                  k !== f
                    ? v
                    : typeof v === 'boolean'
                      ? !v
                      : v === null
                        ? 0
                        : fields[f]!.type === 'float8'
                          ? Math.round(v * 100 + 1) / 100
                          : v + 1,
                ),
              },
        ),
    })),
    fc
      .record({ i: fc.nat(n - 1), f: fc.nat(fields.length - 1), g: fc.nat(fields.length - 1) })
      .filter(({ f, g }) => f !== g && fields[f]!.type === fields[g]!.type)
      .map(({ i, f, g }): Mutation => ({
        what: `row ${i}: fields ${fields[f]!.name} and ${fields[g]!.name} trade values`,
        apply: (rows) =>
          rows.map((r, j) =>
            j !== i ? r : { ...r, values: r.values.map((v, k) => (k === f ? r.values[g]! : k === g ? r.values[f]! : v)) },
          ),
      })),
    fc.record({ i: fc.nat(n - 1), d: fc.constantFrom(1, -1, 60_000) }).map(({ i, d }): Mutation => ({
      what: `row ${i} ts ${d} ms`,
      apply: (rows) => rows.map((r, j) => (j === i ? { ...r, ts: r.ts + d } : r)),
    })),
    fc.nat(n - 1).map((i): Mutation => ({ what: `row ${i} stored twice`, apply: (rows) => [...rows, rows[i]!] })),
    fc.nat(n - 1).map((i): Mutation => ({
      what: `row ${i} lost and another stored twice`,
      apply: (rows) => (rows.length < 2 ? [...rows, rows[i]!] : rows.map((r, j) => (j === i ? rows[(i + 1) % rows.length]! : r))),
    })),
    fc.nat(n - 1).map((i): Mutation => ({
      what: `row ${i} seq + 5001`,
      apply: (rows) => rows.map((r, j) => (j === i ? { ...r, seq: r.seq + 5001 } : r)),
    })),
    fc.record({ i: fc.nat(n - 1), j: fc.nat(n - 1) }).map(({ i, j }): Mutation => ({
      what: `values of rows ${i} and ${j} swapped`,
      apply: (rows) =>
        rows.map((r, k) =>
          k === i ? { ...r, values: rows[j]!.values, ts: rows[j]!.ts } : k === j ? { ...r, values: rows[i]!.values, ts: rows[i]!.ts } : r,
        ),
    })),
  )
}

const jsDigest = (kind: Kind, rows: readonly Row[]): { n: number; digest: string } => {
  const d = new DeviceDigest(kind)
  for (const r of rows) d.add(r.seq, r.ts, r.values)
  assert.equal(d.exact, true)
  return { n: d.rows, digest: d.sum }
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
    for (const k of KIND_NAMES)
      await client.query('SELECT iotbench_ensure_partitions($1, $2, $3)', [
        KINDS[k].table,
        new Date(T0 - 86_400_000),
        new Date(T0 + 401 * 86_400_000),
      ])
    return client
  }

  /** Stores the rows through the ingest's binary COPY path under a fresh run id; returns the database's digest row. */
  async function stored(c: pg.Client, kind: Kind, rows: readonly Row[]): Promise<{ n: number; digest: string; late: number }> {
    const id = ++runId
    const batch = new Batch(id)
    rows.forEach((r, i) =>
      batch.addReading(
        { kind, device: 'farm01-dev-0001', seq: r.seq, ts: r.ts, sent: T0, values: r.values as FieldValue[] },
        T0,
        i,
        r.prior,
      ),
    )
    await commitBatch(c, id, 0, batch)
    const q = (await c.query(digestSelect(kind, id))).rows
    assert.equal(q.length, 1)
    const x = q[0]
    return { n: Number(x.n), digest: x.digest, late: Number(x.late) }
  }

  for (const kind of KIND_NAMES) {
    test(`${kind}: any change to a stream changes the oracle's digest (many streams, in JavaScript)`, () => {
      // The database computes the same digest (the test below): this checks detection on far more cases.
      fc.assert(
        fc.property(
          streamArb(kind).chain((rows) => fc.tuple(fc.constant(rows), mutationArb(kind, rows.length))),
          ([rows, mutation]) => {
            const changed = mutation.apply(rows)
            const canon = (rs: readonly Row[]): string => JSON.stringify(rs.map((r) => [r.seq, r.ts, r.values]).sort())
            fc.pre(canon(changed) !== canon(rows))
            const d = new DeviceDigest(kind)
            for (const r of changed) d.add(r.seq, r.ts, r.values)
            const want = jsDigest(kind, rows)
            assert.ok(!d.exact || d.rows !== want.n || d.sum !== want.digest, `${mutation.what}: the digest did not change`)
          },
        ),
        { numRuns: 3000 },
      )
    })

    test(`${kind}: the database's digest of stored rows equals the oracle's; any change to the rows changes it`, async (t) => {
      const c = await db(t)
      if (!c) return
      await fc.assert(
        fc.asyncProperty(
          streamArb(kind).chain((rows) => fc.tuple(fc.constant(rows), mutationArb(kind, rows.length))),
          async ([rows, mutation]) => {
            const want = jsDigest(kind, rows)
            const got = await stored(c, kind, rows)
            assert.deepEqual({ n: got.n, digest: got.digest }, want, 'same rows, same digest')
            const changed = mutation.apply(rows)
            const canon = (rs: readonly Row[]): string => JSON.stringify(rs.map((r) => [r.seq, r.ts, r.values]).sort())
            fc.pre(canon(changed) !== canon(rows)) // a swap of equal rows is no change
            const bad = await stored(c, kind, changed)
            assert.ok(bad.n !== want.n || bad.digest !== want.digest, `${mutation.what}: the digest did not change`)
          },
        ),
        { numRuns: 40 },
      )
    })
  }

  test("hashInt4Extended and hashFloat8Extended equal PostgreSQL's hashint4extended and hashfloat8extended for any value and seed", async (t) => {
    const c = await db(t)
    if (!c) return
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    const js = (fn: (v: number, hi: number, lo: number) => void, v: number, seed: bigint): string => {
      fn(v, Number(BigInt.asIntN(32, seed >> 32n)), Number(BigInt.asIntN(32, seed)))
      return (BigInt(H.hi) * 2n ** 32n + BigInt(H.lo >>> 0)).toString()
    }
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer(), fc.oneof(int64, fc.constant(0n))), { minLength: 1, maxLength: 50 }),
        fc.array(fc.tuple(fc.double(), fc.oneof(int64, fc.constant(0n))), { minLength: 1, maxLength: 50 }),
        async (ints, floats) => {
          const r = await c.query<{ i: string[]; f: string[] }>(
            `SELECT array(SELECT hashint4extended(x, s)::text FROM unnest($1::int4[], $2::int8[]) u(x, s)) AS i,
                    array(SELECT hashfloat8extended(x, s)::text FROM unnest($3::float8[], $4::int8[]) u(x, s)) AS f`,
            [
              ints.map(([x]) => x),
              ints.map(([, s]) => s.toString()),
              floats.map(([x]) =>
                Number.isNaN(x) ? 'NaN' : Object.is(x, -0) ? '-0' : x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : x,
              ),
              floats.map(([, s]) => s.toString()),
            ],
          )
          const signed = (s: string): string => BigInt.asIntN(64, BigInt(s)).toString()
          assert.deepEqual(r.rows[0]!.i.map(signed), ints.map(([x, s]) => js(hashInt4Extended, x, s)).map(signed))
          assert.deepEqual(r.rows[0]!.f.map(signed), floats.map(([x, s]) => js(hashFloat8Extended, x, s)).map(signed))
        },
      ),
      { numRuns: 50 },
    )
  })

  test('a float changed in its ninth decimal or set to NULL changes the digest; a reading stored after a higher seq is late', async (t) => {
    const c = await db(t)
    if (!c) return
    const rows: Row[] = [
      { seq: 0, ts: T0, values: [1.25, 2, 3, 38.5, 99, -60], prior: -1 },
      { seq: 2, ts: T0 + 120_000, values: [1.25, 2, 3, 38.5, 99, -60], prior: 0 },
      { seq: 1, ts: T0 + 60_000, values: [1, 2, 3, 38.5, 99, -60], prior: 2 },
    ]
    const got = await stored(c, 'collar', rows)
    assert.deepEqual({ n: got.n, digest: got.digest }, jsDigest('collar', rows))
    assert.ok(got.late > 0, 'seq 1 stored after seq 2 is late')
    const inOrder = await stored(c, 'collar', [rows[0]!, { ...rows[2]!, prior: 0 }, { ...rows[1]!, prior: 1 }])
    assert.ok(inOrder.late <= 0, 'stored in seq order: nothing late')
    const nudged = await stored(
      c,
      'collar',
      rows.map((r, i) => (i === 1 ? { ...r, values: [1.25 + 1e-9, ...r.values.slice(1)] } : r)),
    )
    assert.notEqual(nudged.digest, got.digest)
    // The ingest never stores a NULL value; a row changed to hold one afterwards must still show.
    await c.query(`UPDATE collar_readings SET neck_temp_c = NULL WHERE run_id = $1 AND seq = 2`, [runId])
    const nulled = (await c.query(digestSelect('collar', runId))).rows[0]
    assert.equal(Number(nulled.n), 3)
    assert.notEqual(nulled.digest, nudged.digest)
  })
})
