/**
 * The ingest's only view of a reading is the wire (DESIGN.md, "Boundaries"): decodeTelemetry must give
 * back exactly what the generator sent, and reject everything else with a reason for dead_letters.
 */
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { deviceAt, fleetSize, telemetryTopic, type FleetShape } from '../../src/fleet.js'
import { KINDS, KIND_NAMES, type FieldType, type Kind } from '../../src/kinds.js'
import { decodeTelemetry, type Decoded } from '../../src/ingest/decode.js'
import { encodePayload, generateReading } from '../../src/sim/generator.js'

const FLEET: FleetShape = { farms: 2, cowsPerFarm: 3, stallsPerFarm: 2, tanksPerFarm: 1 }
const CTX = { seed: 20261123, simStartMs: Date.UTC(2026, 10, 23), fleet: FLEET }
const SENT = Date.UTC(2026, 10, 23, 12)
const firstOf = (kind: Kind) => Array.from({ length: fleetSize(FLEET) }, (_, i) => deviceAt(FLEET, i)).find((d) => d.kind === kind)!
const COLLAR = firstOf('collar')
const TOPIC = telemetryTopic('', COLLAR)

/** A valid collar document, as the generator would send it; tests break one thing at a time. */
const validDoc = (): Record<string, any> => JSON.parse(encodePayload(generateReading(CTX, COLLAR, 3), SENT))
const bytes = (x: unknown): Uint8Array => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x), 'utf8')
const reasonOf = (d: Decoded): string => (d.ok ? 'ok' : d.reason)
const decodeDoc = (doc: unknown, topic = TOPIC): string => reasonOf(decodeTelemetry(topic, bytes(doc), ''))
const withField = (patch: Record<string, unknown>): Record<string, any> => ({ ...validDoc(), ...patch })
const without = (key: string): Record<string, any> => {
  const doc = validDoc()
  delete doc[key]
  return doc
}

const FIELD_NAMES = new Set(KIND_NAMES.flatMap((k) => KINDS[k].fields.map((f) => f.name)))
const REASONS = new Set([
  'bad-topic',
  'too-large',
  'invalid-utf8',
  'invalid-json',
  'not-an-object',
  'unknown-kind',
  'topic-mismatch',
  'bad-seq',
  'bad-ts',
  'bad-sent',
  'missing-values',
  'wrong-field-set',
  'duplicate-key',
])
const isKnownReason = (r: string): boolean =>
  REASONS.has(r) || (r.startsWith('bad-field:') && FIELD_NAMES.has(r.slice('bad-field:'.length)))

describe('decodeTelemetry accepts what the generator sends', () => {
  test('a generated payload decodes to the same values, in KINDS field order (fast-check)', () => {
    const prefix = fc.constantFrom('', 'bench/', 'run-7/a.b_c/')
    fc.assert(
      // seq up to 1M: 19 years of milk-meter readings (10 min apart); much later, sensor time leaves 1970..2200.
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 1_000_000 }),
        prefix,
        (seed, pick, seq, pre) => {
          const d = deviceAt(FLEET, pick % fleetSize(FLEET))
          const r = generateReading({ ...CTX, seed }, d, seq)
          const decoded = decodeTelemetry(telemetryTopic(pre, d), bytes(encodePayload(r, SENT)), pre)
          assert.ok(decoded.ok, `rejected: ${reasonOf(decoded)}`)
          const got = decoded.reading
          assert.equal(got.kind, d.kind)
          assert.equal(got.device, d.id)
          assert.equal(got.seq, seq)
          assert.equal(got.ts, r.ts)
          assert.equal(got.sent, SENT)
          assert.deepEqual(
            got.values,
            KINDS[d.kind].fields.map((f) => r.values[f.name]),
          )
        },
      ),
      { numRuns: 300, includeErrorInReport: true },
    )
  })

  test('a payload of exactly 64 KiB is still accepted (JSON may carry whitespace)', () => {
    const json = JSON.stringify(validDoc())
    const padded = json + ' '.repeat(64 * 1024 - Buffer.byteLength(json))
    assert.equal(Buffer.byteLength(padded), 65536)
    assert.equal(decodeDoc(padded), 'ok')
  })

  test('every kind decodes: collar, milk, chiller', () => {
    for (const kind of KIND_NAMES) {
      const d = firstOf(kind)
      const r = generateReading(CTX, d, 11)
      assert.equal(reasonOf(decodeTelemetry(telemetryTopic('x/', d), bytes(encodePayload(r, SENT)), 'x/')), 'ok', kind)
    }
  })
})

describe('decodeTelemetry rejects with a reason', () => {
  test('bad-topic', () => {
    for (const topic of [
      'farm/farm01/collar/farm01-collar-0001', // four parts
      'farm/farm01/collar/farm01-collar-0001/telemetry/x',
      'farm/farm01/collar/farm01-collar-0001/status',
      'farms/farm01/collar/farm01-collar-0001/telemetry',
      'farm//collar/farm01-collar-0001/telemetry', // empty farm
      'farm/farm01/collar//telemetry', // empty device
      '',
    ])
      assert.equal(decodeDoc(validDoc(), topic), 'bad-topic', topic)
    // A prefix the topic does not carry.
    assert.equal(reasonOf(decodeTelemetry(TOPIC, bytes(validDoc()), 'bench/')), 'bad-topic')
  })

  test('too-large: one byte over 64 KiB, whatever it holds', () => {
    assert.equal(decodeDoc('x'.repeat(64 * 1024 + 1)), 'too-large')
    const json = JSON.stringify(validDoc())
    assert.equal(decodeDoc(json + ' '.repeat(64 * 1024 + 1 - Buffer.byteLength(json))), 'too-large')
  })

  test('invalid-utf8', () => {
    for (const raw of [
      [0x7b, 0xff, 0x7d],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80] /* encoded lone surrogate */,
      [0xe2, 0x82] /* truncated */,
    ]) {
      assert.equal(reasonOf(decodeTelemetry(TOPIC, Uint8Array.from(raw), '')), 'invalid-utf8', Buffer.from(raw).toString('hex'))
    }
  })

  test('invalid-json', () => {
    for (const text of ['', '{', "{'device': 1}", '{"seq": 1,}', 'NaN']) assert.equal(decodeDoc(text), 'invalid-json', JSON.stringify(text))
  })

  test('not-an-object', () => {
    for (const text of ['[]', '[{"kind":"collar"}]', 'null', '42', '"collar"', 'true']) assert.equal(decodeDoc(text), 'not-an-object', text)
  })

  test('unknown-kind', () => {
    for (const kind of ['goat', 'Collar', 'toString', '__proto__', 'constructor', 7, null])
      assert.equal(decodeDoc(withField({ kind })), 'unknown-kind', String(kind))
    assert.equal(decodeDoc(without('kind')), 'unknown-kind')
  })

  test('topic-mismatch: kind or device differs from the topic', () => {
    assert.equal(decodeDoc(withField({ kind: 'milk' })), 'topic-mismatch')
    assert.equal(decodeDoc(withField({ device: 'farm01-collar-0002' })), 'topic-mismatch')
    assert.equal(decodeDoc(withField({ device: 42 })), 'topic-mismatch')
    assert.equal(decodeDoc(without('device')), 'topic-mismatch')
  })

  test('bad-seq', () => {
    for (const seq of [-1, 1.5, '3', 2 ** 31, null, true]) assert.equal(decodeDoc(withField({ seq })), 'bad-seq', String(seq))
    assert.equal(decodeDoc(without('seq')), 'bad-seq')
    assert.equal(decodeDoc(withField({ seq: 2 ** 31 - 1 })), 'ok', 'the largest int4 is a valid seq')
  })

  test('bad-ts and bad-sent: numbers in 1970..2200', () => {
    for (const key of ['ts', 'sent'] as const) {
      for (const v of [-1, 7_258_118_400_001, '1700000000000', null])
        assert.equal(decodeDoc(withField({ [key]: v })), `bad-${key}`, `${key} ${String(v)}`)
      assert.equal(decodeDoc(`${JSON.stringify(validDoc()).slice(0, -1)},"${key}":1e400}`), `bad-${key}`, `${key} parsed as Infinity`)
      assert.equal(decodeDoc(without(key)), `bad-${key}`)
      assert.equal(decodeDoc(withField({ [key]: 0 })), 'ok', `${key} at the epoch`)
      assert.equal(decodeDoc(withField({ [key]: 7_258_118_400_000 })), 'ok', `${key} at 2200-01-01`)
    }
  })

  test('missing-values', () => {
    for (const values of [null, [], [1, 2, 3, 4, 5, 6], 'x', 5])
      assert.equal(decodeDoc(withField({ values })), 'missing-values', JSON.stringify(values))
    assert.equal(decodeDoc(without('values')), 'missing-values')
  })

  test('wrong-field-set: a field too many or too few', () => {
    const extra = validDoc()
    extra.values.extra = 1
    assert.equal(decodeDoc(extra), 'wrong-field-set')
    const fewer = validDoc()
    delete fewer.values.rssi_dbm
    assert.equal(decodeDoc(fewer), 'wrong-field-set')
    const empty = withField({ values: {} })
    assert.equal(decodeDoc(empty), 'wrong-field-set')
  })

  test('bad-field:<name> for a wrong value in each field of each kind', () => {
    const wrong: Record<FieldType, unknown[]> = {
      float8: ['1.5', null, true, {}],
      int4: [1.5, 2 ** 31, -(2 ** 31) - 1, '3', null],
      bool: [1, 'true', null],
    }
    for (const kind of KIND_NAMES) {
      const d = firstOf(kind)
      const topic = telemetryTopic('', d)
      for (const f of KINDS[kind].fields) {
        for (const bad of wrong[f.type]) {
          const doc = JSON.parse(encodePayload(generateReading(CTX, d, 5), SENT)) as Record<string, any>
          doc.values[f.name] = bad
          assert.equal(decodeDoc(doc, topic), `bad-field:${f.name}`, `${kind}.${f.name} = ${JSON.stringify(bad)}`)
        }
      }
    }
    // Bounds of int4 are inclusive.
    for (const rssi of [-(2 ** 31), 2 ** 31 - 1]) {
      const doc = validDoc()
      doc.values.rssi_dbm = rssi
      assert.equal(decodeDoc(doc), 'ok', `rssi_dbm ${rssi}`)
    }
    // A renamed field keeps the count right; the missing name is the reason.
    const renamed = validDoc()
    renamed.values.battery = renamed.values.battery_pct
    delete renamed.values.battery_pct
    assert.equal(decodeDoc(renamed), 'bad-field:battery_pct')
  })
})

describe('decodeTelemetry never throws', () => {
  /** An accepted reading is well typed, whatever the input was. */
  function assertWellFormed(d: Decoded, topic: string): void {
    if (!d.ok) {
      assert.ok(isKnownReason(d.reason), `unknown reason ${d.reason}`)
      return
    }
    const spec = KINDS[d.reading.kind]
    assert.ok(topic.endsWith(`/${d.reading.kind}/${d.reading.device}/telemetry`), 'kind and device come from the topic')
    assert.ok(Number.isInteger(d.reading.seq) && d.reading.seq >= 0)
    assert.equal(d.reading.values.length, spec.fields.length)
    spec.fields.forEach((f, i) => {
      const v = d.reading.values[i]
      if (f.type === 'bool') assert.equal(typeof v, 'boolean')
      else
        assert.ok(typeof v === 'number' && Number.isFinite(v) && (f.type === 'float8' || Number.isInteger(v)), `${f.name} = ${String(v)}`)
    })
  }

  test('arbitrary bytes on arbitrary topics (fast-check)', () => {
    const topic = fc.oneof(
      fc.constant(TOPIC),
      fc.string(),
      fc.array(fc.string({ maxLength: 6 }), { maxLength: 7 }).map((p) => p.join('/')),
    )
    fc.assert(
      fc.property(topic, fc.uint8Array({ maxLength: 300 }), (t, payload) => {
        assertWellFormed(decodeTelemetry(t, payload, ''), t)
      }),
      { numRuns: 1000, includeErrorInReport: true },
    )
  })

  test('arbitrary JSON, and valid payloads with one part replaced by arbitrary JSON (fast-check)', () => {
    const json = fc.jsonValue({ maxDepth: 3 })
    const slot = fc.constantFrom('device', 'kind', 'seq', 'ts', 'sent', 'values', ...KINDS.collar.fields.map((f) => `values.${f.name}`))
    fc.assert(
      fc.property(json, slot, json, (whole, where, part) => {
        assertWellFormed(decodeTelemetry(TOPIC, bytes(whole), ''), TOPIC)
        const doc = validDoc()
        if (where.startsWith('values.')) doc.values[where.slice(7)] = part
        else doc[where] = part
        const text = JSON.stringify(doc)
        assertWellFormed(decodeTelemetry(TOPIC, bytes(text), ''), TOPIC)
      }),
      { numRuns: 1000, includeErrorInReport: true },
    )
  })
})
