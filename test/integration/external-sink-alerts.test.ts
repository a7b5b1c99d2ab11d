import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { readResult, ROOT, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'
import { theirReason } from '../support/mapped-sink-ingest.js'
import { KINDS, KIND_NAMES } from '../../src/kinds.js'
import { alertRulesOf } from '../../src/alerts/rules.js'
import { defaultSensorModels } from '../../src/sim/models.js'

// A sink map naming an alerts table and a dead-letter table (issue 22, requirements 1 and 2): the small
// ingest in test/support/mapped-sink-ingest.ts writes tables, columns, rule names and reasons of its own;
// the map brings them back, and P5 and P7 are judged from them like iotbench's own.
const OUR_REASONS = [
  'invalid-json',
  'invalid-utf8',
  'not-an-object',
  'unknown-kind',
  'topic-mismatch',
  'bad-seq',
  'missing-values',
  'bad-ts',
  'bad-sent',
  'bad-topic',
  'too-large',
  'wrong-field-set',
  'duplicate-key',
]
const rules = alertRulesOf(defaultSensorModels())
const OUR_RULES = [...new Set(KIND_NAMES.flatMap((k) => rules[k].map((r) => r.name)))]

function sinkMap(schema: string, withReasons: boolean): string {
  const kinds = Object.fromEntries(
    KIND_NAMES.map((k) => [
      k,
      {
        table: `my_${k}`,
        device: 'dev',
        seq: 'n',
        ts: 'at',
        sentMs: 'sent_ms',
        insertedAt: 'inserted_at',
        receiveOrder: 'stored_order',
        values: Object.fromEntries(KINDS[k].fields.map((f) => [f.name, `my_${f.name}`])),
      },
    ]),
  )
  const map = {
    schema,
    kinds,
    alerts: {
      table: 'my_alerts',
      device: 'dev',
      rule: 'alert_name',
      seq: 'reading_seq',
      raisedAt: 'raised',
      rules: Object.fromEntries(OUR_RULES.map((r) => [`my-${r}`, r])),
    },
    deadLetters: {
      table: 'my_rejects',
      topic: 'topic',
      payload: 'body',
      reason: 'why',
      receivedAt: 'at',
      ...(withReasons && { reasons: Object.fromEntries(OUR_REASONS.map((r) => [theirReason(r), r])) }),
    },
  }
  const file = join(mkdtempSync(join(tmpdir(), 'iotbench-sinkmap-')), 'map.json')
  writeFileSync(file, JSON.stringify(map))
  return file
}

type Prop = { id: string; pass: boolean; summary: string; notApplicable?: string }

describe('iotbench run --ingest external with a sink map naming alerts and dead letters', () => {
  const run = async (
    t: Parameters<typeof requireService>[0],
    withReasons: boolean,
    env: Record<string, string>,
  ): Promise<Map<string, Prop> | undefined> => {
    const db = await requireService(t, 'database')
    const mqtt = await requireService(t, 'mqtt')
    if (!db || !mqtt) return undefined
    const schema = uniqueName('extmap')
    const results = tempResultsDir()
    const r = await runCli(
      [
        'run',
        '--profile',
        'ci',
        '--duration',
        '4',
        '--rate',
        '400',
        '--progress',
        'plain',
        '--slo-p99-ms',
        '10000',
        '--ingest',
        'external',
        '--ingest-command',
        `${process.execPath} ${join(ROOT, 'dist/test/support/mapped-sink-ingest.js')}`,
        '--sink-map',
        sinkMap(schema, withReasons),
        '--mqtt-url',
        mqtt,
        '--database-url',
        db,
        '--db-schema',
        schema,
        '--topic-prefix',
        `${uniqueName('em')}/`,
        '--results-dir',
        results,
      ],
      env,
      200_000,
    )
    assert.ok(r.code === 0 || r.code === 3, `${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    return new Map((result.properties as Prop[]).map((p) => [p.id, p]))
  }

  test('mapped: P5 and P7 are judged from the ingest’s own tables and hold; only P8 and P9 are N/A', async (t) => {
    const byId = await run(t, true, {})
    if (!byId) return
    for (const id of ['P1', 'P2', 'P3', 'P4', 'P5', 'P7']) assert.equal(byId.get(id)?.pass, true, `${id}: ${byId.get(id)?.summary}`)
    assert.match(byId.get('P5')?.summary ?? '', /^([1-9]\d*) of \1 detectable/, 'anomalies were injected and every one alerted')
    assert.match(
      byId.get('P7')?.summary ?? '',
      /^([1-9]\d*) of \1 injected malformed/,
      'malformed messages were injected and every one is there with its reason',
    )
    assert.deepEqual(
      [...byId.values()].filter((p) => p.notApplicable !== undefined).map((p) => p.id),
      ['P8', 'P9'],
    )
  })

  test('it can fail: an ingest that loses one alert fails P5; their reasons left unmapped fail P7 as wrong reasons', async (t) => {
    const byId = await run(t, false, { IOTBENCH_TEST_DROP_ALERT: '1' })
    if (!byId) return
    assert.equal(byId.get('P5')?.pass, false, byId.get('P5')?.summary)
    assert.match(byId.get('P5')?.summary ?? '', /missed [1-9]|late [1-9]/)
    assert.equal(byId.get('P7')?.pass, false)
    assert.match(
      byId.get('P7')?.summary ?? '',
      /^0 of ([1-9]\d*) injected malformed messages in dead_letters with their reason; missing 0, wrong reason \1/,
    )
    for (const id of ['P1', 'P2']) assert.equal(byId.get(id)?.pass, true, `${id}: ${byId.get(id)?.summary}`)
  })
})
