import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { ConfigError } from '../../src/errors.js'
import { loadSinkMap, sinkMapProblems } from '../../src/external/sink-map.js'
import { alertImportSql, deadLetterImportSql, importSql, notApplicableOf } from '../../src/external/sink.js'
import { markNotApplicable, propertyStatus } from '../../src/verify/status.js'
import { junitXml } from '../../src/report/junit.js'
import { ROOT } from '../support/cli.js'
import { limitingComponent } from '../../src/max/component.js'

const dir = mkdtempSync(join(tmpdir(), 'iotbench-sinkmap-'))
const write = (name: string, doc: unknown): string => {
  const f = join(dir, name)
  writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc))
  return f
}
const kind = (table: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  table,
  device: 'device',
  seq: 'seq',
  ts: 'time',
  ...extra,
})
const full = { sentMs: 'sent', insertedAt: 'inserted_at', receiveOrder: 'stored_order' }

describe('sink map (--sink-map)', () => {
  test('the shipped Telegraf map is valid once ${IOTBENCH_SINK_SCHEMA} is set, and refused while it is not', () => {
    const file = join(ROOT, 'examples/telegraf/sink-map.json')
    const map = loadSinkMap(file, { IOTBENCH_SINK_SCHEMA: 'telegraf' })
    assert.equal(map.schema, 'telegraf')
    assert.equal(map.kinds.chiller.receiveOrder, 'stored_order')
    assert.deepEqual(sinkMapProblems(file, {}).filter((p) => p.includes('IOTBENCH_SINK_SCHEMA')).length, 1)
  })

  test('every problem at once: a missing kind, an unknown key, a column that is no identifier, an unknown value field', () => {
    const f = write('bad.json', { kinds: { collar: kind('c', { rx: 'x' }), milk: kind('m; DROP TABLE runs'), values: {} }, extra: 1 })
    const problems = sinkMapProblems(f, {})
    const text = problems.join('\n')
    assert.match(text, /must have required property 'chiller'/)
    assert.match(text, /\/kinds\/collar must NOT have additional properties "rx"/)
    assert.match(text, /\/kinds\/milk\/table must match pattern/)
    assert.match(text, /must NOT have additional properties "extra"/)
    const f2 = write('badfield.json', {
      kinds: { collar: kind('c', { values: { temperature: 't' } }), milk: kind('m'), chiller: kind('ch') },
    })
    assert.match(sinkMapProblems(f2, {}).join('\n'), /\/kinds\/collar\/values must NOT have additional properties "temperature"/)
    assert.throws(
      () => loadSinkMap(write('notjson.json', '{kinds'), {}),
      (e: unknown) => e instanceof ConfigError && /must be JSON/.test(e.message),
    )
    assert.throws(
      () => loadSinkMap(join(dir, 'missing.json'), {}),
      (e: unknown) => e instanceof ConfigError && /cannot be read/.test(e.message),
    )
  })

  test('a property the map gives no data for is not applicable, with the kinds that lack it', () => {
    const some = { kinds: { collar: kind('c', full), milk: kind('m', { insertedAt: 'i', sentMs: 's' }), chiller: kind('ch', full) } }
    const na = notApplicableOf(loadSinkMap(write('some.json', some), {}))
    assert.match(na.P3 ?? '', /no receive-order column \(milk\)/)
    assert.equal(na.P4, undefined, 'every kind has an insert time and the sent time: latency applies')
    assert.match(na.P5 ?? '', /no alerts table/)
    assert.ok(na.P7 && na.P8)
    const bare = notApplicableOf(
      loadSinkMap(write('bare.json', { kinds: { collar: kind('c'), milk: kind('m'), chiller: kind('ch') } }), {}),
    )
    assert.match(bare.P4 ?? '', /\(collar, milk, chiller\)/)
    assert.match(bare.P3 ?? '', /\(collar, milk, chiller\)/)
  })

  test('the import casts to iotbench’s column types, names mapped columns and orders receive order by the map’s column', () => {
    const sql = importSql(
      'chiller',
      {
        table: 't',
        device: 'dev',
        seq: 'n',
        ts: 'time',
        receiveOrder: 'id',
        insertedAt: 'ins',
        sentMs: 'sent',
        values: { volume_l: 'litres' },
      },
      'FROM x',
      7,
    )
    assert.match(
      sql,
      /INSERT INTO chiller_readings \(run_id, device, seq, ts, sent, received, rx, milk_temp_c, compressor_on, agitator_on, volume_l, ambient_c\)/,
    )
    assert.match(
      sql,
      /SELECT 7, "dev"::text, round\(\("n"\)::numeric\)::int4, "time", to_timestamp\(\("sent"\)::float8 \/ 1000\), "ins", row_number\(\) OVER \(ORDER BY "id"\)/,
    )
    assert.match(sql, /\("compressor_on"\)::boolean/)
    assert.match(sql, /\("litres"\)::float8/)
  })
})

describe('sink map: alerts and dead letters (P5, P7)', () => {
  const kinds = { collar: kind('c'), milk: kind('m'), chiller: kind('ch') }
  const alerts = { table: 'a', device: 'dev', rule: 'name', seq: 'n', raisedAt: 'raised', rules: { 'HIGH TEMP': 'fever' } }
  const deadLetters = {
    table: 'd',
    topic: 't',
    payload: 'body',
    reason: 'why',
    receivedAt: 'at',
    reasons: { "can't parse": 'invalid-json' },
  }

  test('both are optional, each checked: a missing column, an unknown key, a name map of non-strings, every problem at once', () => {
    const ok = loadSinkMap(write('alerts.json', { kinds, alerts, deadLetters }), {})
    assert.equal(ok.alerts?.rules?.['HIGH TEMP'], 'fever')
    const bad = write('badalerts.json', {
      kinds,
      alerts: { table: 'a', device: 'dev', rule: 'name', seq: 'n', event: 'e' },
      deadLetters: { ...deadLetters, payload: 'x y', reasons: { a: 1 } },
    })
    const text = sinkMapProblems(bad, {}).join('\n')
    assert.match(text, /\/alerts must have required property 'raisedAt'/)
    assert.match(text, /\/alerts must NOT have additional properties "event"/)
    assert.match(text, /\/deadLetters\/payload must match pattern/)
    assert.match(text, /\/deadLetters\/reasons\/a must be string/)
  })

  test('mapped, P5 and P7 are judged; not mapped, each is N/A with its reason', () => {
    const both = notApplicableOf(loadSinkMap(write('both.json', { kinds, alerts, deadLetters }), {}))
    assert.equal(both.P5, undefined)
    assert.equal(both.P7, undefined)
    const onlyAlerts = notApplicableOf(loadSinkMap(write('only.json', { kinds, alerts }), {}))
    assert.equal(onlyAlerts.P5, undefined)
    assert.match(onlyAlerts.P7 ?? '', /no dead-letter table/)
  })

  const map = { schema: 'theirs', kinds: {} as never }
  test('the alerts copy: their rule names mapped (quotes escaped), the probe and earlier raises left out, sent from the stored reading', () => {
    const sql = alertImportSql(map, alerts, '2026-12-06 10:00:00+00', { dbRunId: 7, probeDevice: 'iotbench-probe-x' })
    assert.match(sql, /^INSERT INTO alerts \(run_id, farm, device, rule, event, seq, ts, sent, raised_at, value, reading\)/)
    assert.match(
      sql,
      /SELECT 7, split_part\("dev"::text, '-', 1\), "dev"::text, CASE "name"::text WHEN 'HIGH TEMP' THEN 'fever' ELSE "name"::text END, 'raise'/,
    )
    assert.match(sql, /FROM "theirs"\."a" WHERE "dev"::text <> 'iotbench-probe-x' AND "raised" >= '2026-12-06 10:00:00\+00'::timestamptz$/)
    assert.match(
      sql,
      /COALESCE\(\(SELECT r\.sent FROM \(SELECT sent, device, seq FROM collar_readings WHERE run_id = 7 UNION ALL .*chiller_readings WHERE run_id = 7\) r WHERE r\.device = "dev"::text AND r\.seq = round\(\("n"\)::numeric\)::int4 LIMIT 1\), \("raised"\)::timestamptz\)/,
    )
    const own = alertImportSql(map, { ...alerts, sentMs: 'sent_ms', rules: {} }, null, { dbRunId: 7, probeDevice: 'p' })
    assert.match(own, /to_timestamp\(\("sent_ms"\)::float8 \/ 1000\), \("raised"\)::timestamptz/)
    assert.match(own, /"name"::text, 'raise'/, 'no names to map: the rule as it is')
    assert.doesNotMatch(own, /"raised" >=/, 'no baseline time: nothing left out by time')
  })

  test('the dead-letter copy: reasons mapped, a bytea payload as it is, a text one as its UTF-8 bytes', () => {
    const bytea = deadLetterImportSql(map, deadLetters, '2026-12-06 10:00:00+00', 3, true)
    assert.match(
      bytea,
      /^INSERT INTO dead_letters \(run_id, received, topic, payload, reason\)\s+SELECT 3, "at", "t"::text, "body", CASE "why"::text WHEN 'can''t parse' THEN 'invalid-json' ELSE "why"::text END/,
    )
    assert.match(bytea, /FROM "theirs"\."d" WHERE true AND "at" >= '2026-12-06 10:00:00\+00'::timestamptz$/)
    assert.match(deadLetterImportSql(map, deadLetters, null, 3, false), /convert_to\("body"::text, 'UTF8'\)/)
  })
})

describe('not applicable in the verdict', () => {
  const props = [
    { id: 'P1' as const, name: 'completeness', pass: true, summary: 'all', evidence: {} },
    { id: 'P3' as const, name: 'ordering', pass: false, summary: 'out of order', evidence: { x: 1 } },
  ]
  test('markNotApplicable replaces the result and its evidence; ok, FAIL and N/A read apart', () => {
    const marked = markNotApplicable(props, { P3: 'no receive-order column' })
    assert.deepEqual(marked.map(propertyStatus), ['ok', 'N/A'])
    assert.equal(marked[1]!.summary, 'not applicable: no receive-order column')
    assert.deepEqual(marked[1]!.evidence, { notApplicable: 'no receive-order column' })
    assert.equal(propertyStatus(props[1]!), 'FAIL')
  })
  test('JUnit: a not-applicable property is a skipped case with its reason, neither a failure nor a pass', () => {
    const xml = junitXml('r', 'ci', markNotApplicable(props, { P3: 'no receive-order column' }))
    assert.match(xml, /failures="0"/)
    assert.match(xml, /skipped="1"/)
    assert.match(xml, /<skipped message="not applicable: no receive-order column"\/>/)
  })
})

describe('--profile max with an external ingest', () => {
  const lat = (p99Ms: number) => ({ count: 1, p50Ms: p99Ms, p90Ms: p99Ms, p99Ms, p999Ms: p99Ms, maxMs: p99Ms, meanMs: p99Ms })
  const run = (transport: Record<string, unknown> | undefined, lost: number) => ({
    latency: { endToEnd: lat(2086.9), brokerHop: lat(0), scheduleLag: lat(3), publishAck: lat(1) },
    properties: [{ id: 'P1' as const, name: 'completeness', pass: lost === 0, summary: '', evidence: { counts: { lost } } }],
    ...(transport && { transport }),
  })
  test('the limiting component is the external ingest, named by what is visible from outside', () => {
    const ext = limitingComponent(run({ ingest: 'external' }, 0), 2000)
    assert.equal(ext.component, 'ingest')
    assert.match(ext.why, /^external ingest: intended send → stored p99 2086.9 ms; its broker hop and write path are not visible/)
    assert.match(limitingComponent(run({ ingest: 'external' }, 1420), 2000).why, /1420 acknowledged readings never stored/)
    assert.doesNotMatch(limitingComponent(run(undefined, 0), 2000).why, /external/, 'our own ingest keeps its split by hop')
  })
})
