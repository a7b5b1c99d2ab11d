import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqtt from 'mqtt'
import pg from 'pg'
import { readResult, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

/** Malformed telemetry, each with the reason the ingest must give. */
const MALFORMED: Array<{ topic: (p: string) => string; payload: Buffer; reason: string }> = [
  { topic: (p) => `${p}farm/farm01/collar/farm01-collar-0001/telemetry`, payload: Buffer.from('{"device":'), reason: 'invalid-json' },
  {
    topic: (p) => `${p}farm/farm01/collar/farm01-collar-0001/telemetry`,
    payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    reason: 'invalid-utf8',
  },
  { topic: (p) => `${p}farm/farm01/collar/farm01-collar-0001/telemetry`, payload: Buffer.from('[1,2,3]'), reason: 'not-an-object' },
  {
    topic: (p) => `${p}farm/farm01/collar/farm01-collar-0001/telemetry`,
    payload: Buffer.from('{"device":"farm01-collar-0001","kind":"collar","seq":-1,"ts":1,"sent":1,"values":{}}'),
    reason: 'bad-seq',
  },
  {
    topic: (p) => `${p}farm/farm02/milk/farm02-milk-0001/telemetry`,
    payload: Buffer.from('{"device":"farm02-milk-0001","kind":"collar","seq":1,"ts":1,"sent":1,"values":{}}'),
    reason: 'topic-mismatch',
  },
  {
    topic: (p) => `${p}farm/farm01/chiller/farm01-chiller-0001/telemetry`,
    payload: Buffer.from(
      '{"device":"farm01-chiller-0001","kind":"chiller","seq":3,"ts":1,"sent":1,"values":{"milk_temp_c":"warm","compressor_on":true,"agitator_on":true,"volume_l":1,"ambient_c":1}}',
    ),
    reason: 'bad-field:milk_temp_c',
  },
  { topic: (p) => `${p}farm/farm03/collar/farm03-collar-0002/telemetry`, payload: Buffer.alloc(70_000, 0x20), reason: 'too-large' },
]

describe('malformed payloads during a run', () => {
  test('land in dead_letters with their reason while every valid reading is stored', async (t) => {
    const db = await requireService(t, 'database')
    const broker = await requireService(t, 'mqtt')
    if (!db || !broker) return
    const results = tempResultsDir()
    const schema = uniqueName('dead')
    const prefix = `${uniqueName('dl')}/`
    let injected: Promise<void> | undefined
    const inject = async (): Promise<void> => {
      const client = await mqtt.connectAsync(broker, { clientId: uniqueName('bad'), protocolVersion: 4 })
      for (let round = 0; round < 3; round++) {
        for (const m of MALFORMED) await client.publishAsync(m.topic(prefix), m.payload, { qos: 1 })
        await new Promise((r) => setTimeout(r, 300))
      }
      await client.endAsync()
    }
    const r = await runCli(
      [
        'run',
        '--profile',
        'ci',
        '--duration',
        '5',
        '--rate',
        '1500',
        '--bad-input',
        '0',
        '--progress',
        'plain',
        '--mqtt-url',
        broker,
        '--database-url',
        db,
        '--db-schema',
        schema,
        '--topic-prefix',
        prefix,
        '--results-dir',
        results,
      ],
      {},
      240_000,
      (stderr) => {
        // Start once the ingest is subscribed and the load has begun.
        if (!injected && /ingest ready: /.test(stderr)) injected = inject()
      },
    )
    assert.ok(injected, 'the run never reached its load phase')
    await injected
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    assert.equal(result.counts.deadLetters, MALFORMED.length * 3)
    assert.equal(result.counts.ingested, result.counts.offered, 'every valid reading is stored')
    const expectedReasons: Record<string, number> = {}
    for (const m of MALFORMED) expectedReasons[m.reason] = (expectedReasons[m.reason] ?? 0) + 3
    assert.deepEqual(result.deadLetterReasons, expectedReasons)

    const client = new pg.Client({ connectionString: db })
    await client.connect()
    try {
      const rows = await client.query<{ reason: string; n: string; bytes: string }>(
        `SELECT reason, count(*) AS n, sum(length(payload)) AS bytes FROM "${schema}".dead_letters WHERE run_id = $1 GROUP BY reason`,
        [result.dbRunId],
      )
      const stored = Object.fromEntries(rows.rows.map((x) => [x.reason, Number(x.n)]))
      assert.deepEqual(stored, expectedReasons)
      const bytes = rows.rows.reduce((n, x) => n + Number(x.bytes), 0)
      assert.equal(bytes, MALFORMED.reduce((n, m) => n + m.payload.length, 0) * 3, 'the payload bytes are kept exactly')
    } finally {
      await client.end()
    }
  })
})
