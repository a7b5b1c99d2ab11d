import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { KINDS, KIND_NAMES } from '../../src/kinds.js'
import { initHistograms, summarizeEncoded } from '../../src/util/histogram.js'
import { readResult, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

// This test compares a sharded run with an unsharded one; latency SLOs are judged by the other tests.
// Three runs (two of them at once) on a shared 2-core machine: the latency SLO is wide so that only a
// real difference between the runs, not the machine's load, can fail the comparison.
const RUN = [
  '--profile',
  'ci',
  '--duration',
  '4',
  '--rate',
  '1500',
  '--progress',
  'plain',
  '--drain-timeout',
  '20',
  '--seed',
  '4242',
  '--slo-p99-ms',
  '15000',
]

/** Per device of a run: how many readings, and an md5 of every stored value in seq order (what the seed decides, not when it was sent). */
async function fingerprint(client: pg.Client, runId: number): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const k of KIND_NAMES) {
    const spec = KINDS[k]
    const cols = ['seq', 'ts', ...spec.fields.map((f) => f.name)].join(', ')
    const rows = await client.query<{ device: string; n: number; digest: string }>(
      `SELECT device, count(*)::int AS n, md5(string_agg(concat_ws(',', ${cols}), ';' ORDER BY seq)) AS digest FROM ${spec.table} WHERE run_id = $1 GROUP BY device`,
      [runId],
    )
    for (const r of rows.rows) out.set(r.device, `${r.n}:${r.digest}`)
  }
  return out
}

describe('iotbench run --shard i/n and iotbench merge', () => {
  test('two sharded agents, merged, equal one unsharded run with the same seed', async (t) => {
    const db = await requireService(t, 'database')
    const mqtt = await requireService(t, 'mqtt')
    if (!db || !mqtt) return
    await initHistograms()
    const schema = uniqueName('shard')
    const results = tempResultsDir()
    const common = [...RUN, '--mqtt-url', mqtt, '--database-url', db, '--db-schema', schema, '--results-dir', results]

    const whole = await runCli(['run', ...common, '--topic-prefix', `${uniqueName('whole')}/`])
    assert.equal(whole.code, 0, `unsharded run: exit ${whole.code}\n${whole.stdout}\n${whole.stderr}`)
    const wholeResult = readResult(results, runIdFrom(whole.stdout))

    // Two agents as two processes: the same run id, seed, broker and database; no --start-at, so they
    // start the schedule together at a barrier in the database.
    const runId = uniqueName('fleet').replace(/_/g, '-')
    const prefix = `${uniqueName('sharded')}/`
    const agent = (i: number): ReturnType<typeof runCli> =>
      runCli(['run', ...common, '--topic-prefix', prefix, '--shard', `${i}/2`, '--run-id', runId])
    const [a1, a2] = await Promise.all([agent(1), agent(2)])
    for (const a of [a1, a2]) assert.equal(a.code, 0, `agent: exit ${a.code}\n${a.stdout}\n${a.stderr}`)
    assert.match(a1.stdout, /shard 1\/2 — done, not verified/)
    assert.match(a1.stderr + a2.stderr, /waiting for the other agents \(database barrier\)/)
    const dirs = [1, 2].map((i) => join(results, `${runId}.shard-${i}of2`))
    const shards = dirs.map((d) => JSON.parse(readFileSync(join(d, 'shard.json'), 'utf8')))
    assert.equal(shards[0].dbRunId, shards[1].dbRunId, 'both agents joined one run row')
    assert.equal(shards[0].counts.devices + shards[1].counts.devices, wholeResult.counts.devices, 'the shares cover the fleet')

    const merged = await runCli(['merge', ...dirs, '--database-url', db, '--db-schema', schema, '--results-dir', results])
    assert.equal(merged.code, 0, `merge: exit ${merged.code}\n${merged.stdout}\n${merged.stderr}`)
    const m = readResult(results, runId)

    // Same verdict, property by property, and the same counts.
    assert.equal(m.verdict, wholeResult.verdict)
    assert.equal(
      m.verdict,
      'pass',
      m.properties
        .filter((p: { pass: boolean }) => !p.pass)
        .map((p: { summary: string }) => p.summary)
        .join('\n'),
    )
    assert.deepEqual(
      m.properties.map((p: { id: string; pass: boolean }) => [p.id, p.pass]),
      wholeResult.properties.map((p: { id: string; pass: boolean }) => [p.id, p.pass]),
    )
    for (const k of ['devices', 'perDevice', 'offered', 'published', 'acked', 'ingested', 'deadLetters'] as const)
      assert.equal(m.counts[k], wholeResult.counts[k], `counts.${k}`)
    assert.equal(m.properties.find((p: { id: string }) => p.id === 'P7').evidence.injected, 20, 'the bad input of both shards is checked')

    // The merged histogram holds every shard's readings: its count is the sum of theirs.
    const shardCounts = shards.map((s) => summarizeEncoded(s.histograms.endToEnd).count)
    assert.equal(m.latency.endToEnd.count, shardCounts[0] + shardCounts[1])
    assert.equal(m.latency.endToEnd.count, m.counts.ingested)
    assert.ok(shardCounts.every((n) => n > 0))

    // The same stored readings: per device, the count and a checksum of every value.
    const client = new pg.Client({ connectionString: db })
    await client.connect()
    try {
      await client.query(`SET search_path TO ${schema}`)
      const a = await fingerprint(client, wholeResult.dbRunId)
      const b = await fingerprint(client, m.dbRunId)
      assert.equal(a.size, wholeResult.counts.devices)
      assert.deepEqual([...b.entries()].sort(), [...a.entries()].sort())
      // `iotbench verify` reproduces the merged verdict from the database alone.
      const again = await runCli(['verify', runId, '--database-url', db, '--db-schema', schema, '--results-dir', results])
      assert.equal(again.code, 0, `verify: ${again.stdout}\n${again.stderr}`)
    } finally {
      await client.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined)
      await client.end()
    }
  })
})
