/**
 * BinaryCopyWriter against PostgreSQL's binary COPY format ("COPY — Binary Format" in the PostgreSQL
 * docs), read back by a small independent reader written here from the spec.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { BinaryCopyWriter } from '../../src/ingest/copy-binary.js'
import { connect } from '../../src/db/connect.js'
import { copyRows } from '../../src/db/copy-rows.js'
import { requireService, uniqueName } from '../support/services.js'

// ---------------------------------------------------------------------------------------------------
// A reader written from the spec: 11-byte signature, int32 flags, int32 header-extension length and the
// extension; tuples of int16 field count, then per field int32 length (−1: NULL) and the bytes; int16 −1.

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00] // "PGCOPY\n\377\r\n\0"

interface Copy {
  readonly flags: number
  readonly extension: Buffer
  readonly rows: Array<Array<Buffer | null>>
}

function readCopy(buf: Buffer): Copy {
  assert.ok(buf.length >= SIGNATURE.length + 8 + 2, `only ${buf.length} bytes`)
  assert.deepEqual([...buf.subarray(0, SIGNATURE.length)], SIGNATURE, 'signature')
  let pos = SIGNATURE.length
  const flags = buf.readInt32BE(pos)
  const extLength = buf.readInt32BE(pos + 4)
  pos += 8
  const extension = buf.subarray(pos, pos + extLength)
  pos += extLength
  const rows: Array<Array<Buffer | null>> = []
  for (;;) {
    const fields = buf.readInt16BE(pos)
    pos += 2
    if (fields === -1) break
    const row: Array<Buffer | null> = []
    for (let f = 0; f < fields; f++) {
      const len = buf.readInt32BE(pos)
      pos += 4
      if (len === -1) {
        row.push(null)
        continue
      }
      assert.ok(len >= 0 && pos + len <= buf.length, `field length ${len} at ${pos - 4} runs past the end`)
      row.push(buf.subarray(pos, pos + len))
      pos += len
    }
    rows.push(row)
  }
  assert.equal(pos, buf.length, 'nothing after the trailer')
  return { flags, extension, rows }
}

const asInt8 = (b: Buffer | null | undefined): bigint => {
  assert.ok(b && b.length === 8, 'int8 is 8 bytes')
  return b.readBigInt64BE(0)
}

/** Epoch ms → µs since 2000-01-01, in exact integer arithmetic (only for whole ms). */
const pgMicros = (epochMs: number): bigint => (BigInt(epochMs) - 946_684_800_000n) * 1000n

// ---------------------------------------------------------------------------------------------------

describe('BinaryCopyWriter framing', () => {
  test('header: the PGCOPY signature, zero flags, zero extension length; trailer: int16 −1', () => {
    const w = new BinaryCopyWriter()
    const out = w.finish()
    assert.deepEqual([...out], [...SIGNATURE, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])
    assert.equal(w.rows, 0)
    const parsed = readCopy(out)
    assert.equal(parsed.flags, 0)
    assert.equal(parsed.extension.length, 0)
    assert.deepEqual(parsed.rows, [])
  })

  test('one row of every type, byte by byte', () => {
    const w = new BinaryCopyWriter()
    w.startRow(4)
    w.int4(-2)
    w.bool(true)
    w.null()
    w.text('é')
    const body = w.finish().subarray(19)
    assert.deepEqual(
      [...body],
      [
        0x00,
        0x04, // 4 fields
        0,
        0,
        0,
        4,
        0xff,
        0xff,
        0xff,
        0xfe, // int4 −2
        0,
        0,
        0,
        1,
        0x01, // bool true
        0xff,
        0xff,
        0xff,
        0xff, // NULL
        0,
        0,
        0,
        2,
        0xc3,
        0xa9, // "é" in UTF-8
        0xff,
        0xff, // trailer
      ],
    )
  })

  test('finish() can be called again and reset() starts a new stream', () => {
    const w = new BinaryCopyWriter(64)
    for (let i = 0; i < 50; i++) {
      w.startRow(1)
      w.text(`row ${i}`)
    }
    const first = Buffer.from(w.finish())
    assert.ok(w.finish().equals(first), 'finish() is idempotent')
    assert.equal(readCopy(first).rows.length, 50)
    w.reset()
    assert.equal(w.rows, 0)
    w.startRow(1)
    w.int4(7)
    const second = readCopy(w.finish())
    assert.equal(second.rows.length, 1, 'rows of the previous stream are gone')
    assert.equal(second.rows[0]![0]!.readInt32BE(0), 7)
  })
})

describe('BinaryCopyWriter values', () => {
  test('int8 of large and negative numbers decodes exactly', () => {
    const cases = [
      0,
      1,
      -1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32 - 1,
      2 ** 32,
      -(2 ** 32),
      -(2 ** 32) - 1,
      1e15,
      -123_456_789_012,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
    ]
    const w = new BinaryCopyWriter()
    for (const v of cases) {
      w.startRow(1)
      w.int8(v)
    }
    const rows = readCopy(w.finish()).rows
    cases.forEach((v, i) => assert.equal(asInt8(rows[i]![0]), BigInt(v), `int8 ${v}`))
  })

  test('int8 of any safe integer decodes exactly (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeInteger(), { minLength: 1, maxLength: 20 }), (values) => {
        const w = new BinaryCopyWriter(64)
        w.startRow(values.length)
        for (const v of values) w.int8(v)
        const row = readCopy(w.finish()).rows[0]!
        values.forEach((v, i) => assert.equal(asInt8(row[i]), BigInt(v)))
      }),
      { numRuns: 300 },
    )
  })

  test('timestamptz of known instants, in µs since 2000-01-01T00:00:00Z', () => {
    const cases: Array<[string, number, bigint]> = [
      ['PostgreSQL epoch', Date.UTC(2000, 0, 1), 0n],
      ['Unix epoch', 0, -946_684_800_000_000n],
      // 24 years, 6 of them leap (2000, 2004, …, 2020): 8766 days of 86 400 s.
      ['2024-01-01', Date.UTC(2024, 0, 1), 8766n * 86_400n * 1_000_000n],
      ['one ms before 1970', -1, -946_684_800_001_000n],
      ['half a ms after 2000', Date.UTC(2000, 0, 1) + 0.5, 500n],
      ['a second before 2000', Date.UTC(1999, 11, 31, 23, 59, 59), -1_000_000n],
      // 3·2⁻¹² ms (exact in a double at this magnitude) is 0.732… µs: nearest µs, on both sides of 2000.
      ['0.73 µs after 2000', Date.UTC(2000, 0, 1) + 3 * 2 ** -12, 1n],
      ['0.73 µs before 2000', Date.UTC(2000, 0, 1) - 3 * 2 ** -12, -1n],
    ]
    const w = new BinaryCopyWriter()
    for (const [, ms] of cases) {
      w.startRow(1)
      w.timestamptz(ms)
    }
    const rows = readCopy(w.finish()).rows
    cases.forEach(([name, , micros], i) => assert.equal(asInt8(rows[i]![0]), micros, name))
  })

  test('timestamptz of any whole ms in 1970..2200 is exact (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7_258_118_400_000 }), (ms) => {
        const w = new BinaryCopyWriter(64)
        w.startRow(1)
        w.timestamptz(ms)
        assert.equal(asInt8(readCopy(w.finish()).rows[0]![0]), pgMicros(ms))
      }),
      { numRuns: 500 },
    )
  })
})

// ---------------------------------------------------------------------------------------------------
// Many rows of mixed fields through a writer that starts at its smallest buffer.

type Field =
  | { t: 'int4'; v: number }
  | { t: 'int8'; v: number }
  | { t: 'float8'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'text'; v: string }
  | { t: 'bytea'; v: Uint8Array }
  | { t: 'timestamptz'; v: number }
  | { t: 'null' }

const fieldArb: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ t: fc.constant('int4' as const), v: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
  fc.record({ t: fc.constant('int8' as const), v: fc.maxSafeInteger() }),
  fc.record({ t: fc.constant('float8' as const), v: fc.double() }),
  fc.record({ t: fc.constant('bool' as const), v: fc.boolean() }),
  // Unicode of every plane, and UTF-16 strings with lone surrogates (which UTF-8 cannot carry).
  fc.record({
    t: fc.constant('text' as const),
    v: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
    ),
  }),
  fc.record({ t: fc.constant('bytea' as const), v: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ t: fc.constant('timestamptz' as const), v: fc.integer({ min: 0, max: 7_258_118_400_000 }) }),
  fc.constant({ t: 'null' as const }),
)

function write(w: BinaryCopyWriter, f: Field): void {
  switch (f.t) {
    case 'int4':
      return w.int4(f.v)
    case 'int8':
      return w.int8(f.v)
    case 'float8':
      return w.float8(f.v)
    case 'bool':
      return w.bool(f.v)
    case 'text':
      return w.text(f.v)
    case 'bytea':
      return w.bytea(f.v)
    case 'timestamptz':
      return w.timestamptz(f.v)
    case 'null':
      return w.null()
  }
}

function assertField(got: Buffer | null | undefined, f: Field, where: string): void {
  if (f.t === 'null') return assert.equal(got, null, where)
  assert.ok(got, `${where}: missing or NULL`)
  switch (f.t) {
    case 'int4':
      assert.equal(got.length, 4, where)
      return assert.equal(got.readInt32BE(0), f.v, where)
    case 'int8':
      return assert.equal(asInt8(got), BigInt(f.v), where)
    case 'timestamptz':
      return assert.equal(asInt8(got), pgMicros(f.v), where)
    case 'float8':
      assert.equal(got.length, 8, where)
      return assert.ok(Object.is(got.readDoubleBE(0), f.v), `${where}: ${got.readDoubleBE(0)} ≠ ${f.v}`)
    case 'bool':
      assert.equal(got.length, 1, where)
      return assert.equal(got[0], f.v ? 1 : 0, where)
    case 'bytea':
      return assert.deepEqual([...got], [...f.v], where)
    case 'text': {
      // The bytes are the string's UTF-8 (lone surrogates become U+FFFD, as Node encodes them) …
      assert.ok(got.equals(Buffer.from(f.v, 'utf8')), `${where}: UTF-8 of ${JSON.stringify(f.v)}`)
      // … and a well-formed string comes back unchanged.
      const wellFormed = Buffer.from(f.v, 'utf8').toString('utf8') === f.v
      if (wellFormed) assert.equal(got.toString('utf8'), f.v, where)
      return
    }
  }
}

describe('BinaryCopyWriter grows its buffer', () => {
  test('many rows of mixed fields, unicode text included, read back exactly (fast-check)', () => {
    const rowsArb = fc.array(fc.array(fieldArb, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 120 })
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 0, max: 256 }), (rows, initialBytes) => {
        const w = new BinaryCopyWriter(initialBytes)
        for (const row of rows) {
          w.startRow(row.length)
          for (const f of row) write(w, f)
        }
        assert.equal(w.rows, rows.length)
        const parsed = readCopy(w.finish())
        assert.equal(parsed.rows.length, rows.length)
        rows.forEach((row, r) => {
          assert.equal(parsed.rows[r]!.length, row.length, `row ${r} field count`)
          row.forEach((f, i) => assertField(parsed.rows[r]![i], f, `row ${r} field ${i} (${f.t})`))
        })
      }),
      { numRuns: 200, includeErrorInReport: true },
    )
  })

  test('a single text far larger than the initial buffer', () => {
    const big = '🐄 milk ✓ '.repeat(50_000) // ~0.6 MB of UTF-8 from a 64-byte start
    const w = new BinaryCopyWriter(64)
    w.startRow(2)
    w.text(big)
    w.int4(1)
    const row = readCopy(w.finish()).rows[0]!
    assert.equal(row[0]!.toString('utf8'), big)
    assert.equal(row[1]!.readInt32BE(0), 1)
  })
})

// ---------------------------------------------------------------------------------------------------
// Into a real PostgreSQL table and back: the ingest's binary COPY in, and both ways the bench reads
// (a query, and the verifier's text COPY TO through copyRows). Strings of any code point, lone
// surrogates, backslashes, tabs, newlines, "\N" and NUL.

/** Text that stresses both COPY formats: their escape and separator characters, NUL, and every plane. */
const nastyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.string({
    unit: fc.constantFrom('\\', '\t', '\n', '\r', '\b', '\f', '\v', 'N', '.', '\0', '\ud800', '\udfff', '🐄', 'é', '\u2028'),
    maxLength: 30,
  }),
)

describe('text round-trips through PostgreSQL exactly', () => {
  test('arbitrary strings: COPY (FORMAT binary) in, SELECT and text COPY TO out (fast-check, real PostgreSQL)', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const schema = uniqueName('copy_rt')
    const client = await connect(url, schema, 'iotbench-copy-roundtrip')
    try {
      await client.query(`CREATE SCHEMA ${schema}`)
      await client.query('CREATE TABLE strings (id int4 NOT NULL, s text)')
      let withNul = 0
      await fc.assert(
        fc.asyncProperty(fc.array(fc.option(nastyText, { freq: 8 }), { minLength: 1, maxLength: 25 }), async (values) => {
          await client.query('TRUNCATE strings')
          const w = new BinaryCopyWriter(64)
          values.forEach((v, id) => {
            w.startRow(2)
            w.int4(id)
            if (v === null) w.null()
            else w.text(v)
          })
          const data = w.finish()
          // PostgreSQL's text cannot hold U+0000 (SQLSTATE 22021): the whole COPY is refused and nothing is stored.
          if (values.some((v) => v !== null && v.includes('\0'))) {
            withNul++
            await assert.rejects(copyInto(client, data), (err: { code?: string }) => err.code === '22021')
            assert.equal((await client.query('SELECT count(*)::int AS n FROM strings')).rows[0].n, 0)
            return
          }
          await copyInto(client, data)
          // What the encoder defines: the string's UTF-8, so a lone surrogate becomes U+FFFD (as toWellFormed does).
          const expected = values.map((v) => (v === null ? null : wellFormed(v)))
          const selected = (await client.query<{ id: number; s: string | null }>('SELECT id, s FROM strings ORDER BY id')).rows.map(
            (r) => r.s,
          )
          assert.deepEqual(selected, expected, 'SELECT')
          const copied: Array<string | null> = []
          for await (const [, s] of copyRows(client, 'SELECT id, s FROM strings ORDER BY id')) copied.push(s ?? null)
          assert.deepEqual(copied, expected, 'COPY TO (text) through copyRows')
        }),
        { numRuns: 300, includeErrorInReport: true },
      )
      assert.ok(withNul > 0, 'some cases held NUL')
      // One large value across many network chunks: multi-byte characters split between chunks come back whole.
      await client.query('TRUNCATE strings')
      const big = 'é🐄\\\t\n'.repeat(40_000)
      const w = new BinaryCopyWriter()
      for (let id = 0; id < 8; id++) {
        w.startRow(2)
        w.int4(id)
        w.text(big.slice(id))
      }
      await copyInto(client, w.finish())
      // (collected first: an assertion thrown inside the loop would leave the connection in COPY mode)
      const rows: Array<Array<string | null>> = []
      for await (const row of copyRows(client, 'SELECT id, s FROM strings ORDER BY id')) rows.push(row)
      assert.equal(rows.length, 8)
      for (const [id, s] of rows) assert.ok(s === wellFormed(big.slice(Number(id))), `row ${id}: ${s?.length} characters`)
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
      await client.end()
    }
  })
})

/** Each lone surrogate replaced by U+FFFD (String.prototype.toWellFormed, which TypeScript's ES2022 library lacks). */
const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')

function copyInto(client: pg.Client, data: Buffer): Promise<void> {
  const stream = client.query(copyFrom('COPY strings (id, s) FROM STDIN (FORMAT binary)'))
  return new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve)
    stream.on('error', reject)
    stream.end(data)
  })
}
