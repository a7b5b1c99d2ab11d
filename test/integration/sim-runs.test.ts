/**
 * The sensor models end to end on the embedded defaults: a finished run's stored readings regenerated
 * from its seed, a recorded trace replayed (and refused once it changed), and a fleet outage flushed
 * late but in order.
 */
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { deviceAt, fleetSize } from '../../src/fleet.js'
import { openDatabase } from '../../src/infra.js'
import { KINDS, KIND_NAMES } from '../../src/kinds.js'
import { anomalyWindows } from '../../src/sim/anomalies.js'
import { generateReading } from '../../src/sim/generator.js'
import { contextOf } from '../../src/sim/oracle.js'
import type { RunManifest } from '../../src/verify/types.js'
import { readResult, ROOT, runCli, runIdFrom, tempResultsDir, TEST_EMBEDDED, TEST_EMBEDDED_PG_PORT } from '../support/cli.js'
import { uniqueName } from '../support/services.js'

const EMBEDDED = { embeddedDir: join(ROOT, '.iotbench', 'test-postgres'), embeddedPgPort: TEST_EMBEDDED_PG_PORT, databaseUrl: undefined }
// Latency is not what these tests check (the embedded-run test holds P4 to the ci SLO); a loaded CI
// machine must not fail them on a slow start.
const QUICK = ['--progress', 'plain', '--drain-timeout', '20', '--slo-p99-ms', '60000']

/** Runs `fn` against the tests' embedded PostgreSQL with `pg` directly, in `schema`. */
async function withEmbedded<T>(schema: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const db = await openDatabase(EMBEDDED, () => undefined)
  try {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      await client.query(`SET search_path TO "${schema}"`)
      return await fn(client)
    } finally {
      await client.end()
    }
  } finally {
    await db.stop()
  }
}

describe('sensor models end to end (embedded aedes + PostgreSQL)', () => {
  const results = tempResultsDir()

  test('a finished run’s stored readings are regenerated from its seed, value for value', async () => {
    const schema = uniqueName('simregen')
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      '--duration',
      '4',
      '--rate',
      '1500',
      ...QUICK,
      ...TEST_EMBEDDED,
      '--db-schema',
      schema,
      '--results-dir',
      results,
    ])
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const runName = runIdFrom(r.stdout)
    await withEmbedded(schema, async (client) => {
      const run = (
        await client.query<{ id: number; seed: string; evidence: { manifest: RunManifest } }>(
          'SELECT id, seed, evidence FROM runs WHERE name = $1',
          [runName],
        )
      ).rows[0]!
      const manifest = run.evidence.manifest
      assert.equal(Number(run.seed), manifest.seed)
      assert.ok(manifest.models, 'the manifest carries the sensor models')
      const ctx = contextOf(manifest)
      const byId = new Map(Array.from({ length: fleetSize(manifest.fleet) }, (_, i) => deviceAt(manifest.fleet, i)).map((d) => [d.id, d]))
      let compared = 0
      let anomalous = 0
      for (const kind of KIND_NAMES) {
        const spec = KINDS[kind]
        const cols = spec.fields.map((f) => f.name)
        const rows = await client.query(
          `SELECT device, seq, (extract(epoch FROM ts) * 1000)::bigint AS ts_ms, ${cols.join(', ')} FROM ${spec.table} WHERE run_id = $1 ORDER BY device, seq`,
          [run.id],
        )
        assert.equal(
          rows.rowCount,
          manifest.perDevice * [...byId.values()].filter((d) => d.kind === kind).length,
          `${kind}: every reading stored`,
        )
        for (const row of rows.rows) {
          const device = byId.get(row.device)!
          const expected = generateReading(ctx, device, row.seq)
          assert.equal(Number(row.ts_ms), expected.ts, `${row.device} seq ${row.seq}: ts`)
          for (const c of cols) assert.equal(row[c], expected.values[c], `${row.device} seq ${row.seq}: ${c}`)
          compared++
        }
      }
      for (const d of byId.values()) anomalous += anomalyWindows(ctx, d, manifest.perDevice).length
      assert.equal(compared, fleetSize(manifest.fleet) * manifest.perDevice)
      assert.ok(anomalous > 0, 'the ci profile injects anomalies, and they were stored as generated')
    })
  })

  test('--replay publishes a recorded trace; verify refuses it once the file changed', async () => {
    const trace = mkdtempSync(join(tmpdir(), 'iotbench-trace-'))
    cpSync(join(ROOT, 'sensor-profiles', 'traces', 'sample'), trace, { recursive: true })
    const schema = uniqueName('simreplay')
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      '--replay',
      trace,
      '--rate',
      '600',
      ...QUICK,
      ...TEST_EMBEDDED,
      '--db-schema',
      schema,
      '--results-dir',
      results,
    ])
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const runName = runIdFrom(r.stdout)
    const result = readResult(results, runName)
    assert.equal(result.counts.devices, 10)
    assert.equal(result.counts.perDevice, 60)
    assert.equal(result.counts.ingested, 600)
    for (const p of result.properties) assert.equal(p.pass, true, `${p.id}: ${p.summary}`)

    // What was stored is the trace, row for row.
    await withEmbedded(schema, async (client) => {
      const lines = readFileSync(join(trace, 'chiller.csv'), 'utf8').trimEnd().split('\n').slice(1)
      const rows = await client.query(
        `SELECT device, seq, ts, milk_temp_c, compressor_on, volume_l FROM chiller_readings c JOIN runs ON runs.id = c.run_id WHERE runs.name = $1 ORDER BY device, seq`,
        [runName],
      )
      assert.equal(rows.rowCount, lines.length)
      rows.rows.forEach((row, i) => {
        const cells = lines[i]!.split(',')
        assert.deepEqual(
          [row.device, row.seq, (row.ts as Date).toISOString(), row.milk_temp_c, row.compressor_on, row.volume_l],
          [cells[0], Number(cells[1]), cells[2], Number(cells[3]), cells[4] === 'true', Number(cells[6])],
        )
      })
    })

    const milk = join(trace, 'milk.csv')
    writeFileSync(milk, readFileSync(milk, 'utf8').replace(/,14\.(\d\d),0\n/, ',14.$1,1\n'))
    const v = await runCli(['verify', runName, ...TEST_EMBEDDED, '--db-schema', schema, '--results-dir', results])
    assert.equal(v.code, 4, `verify exit ${v.code}\n${v.stdout}\n${v.stderr}`)
    assert.match(v.stderr, /milk\.csv in .* changed since the run: sha256/)
  })

  test('a fleet outage: devices buffer, then flush late but in order; nothing lost, latency shows it', async () => {
    const schema = uniqueName('simoutage')
    const load = JSON.stringify({ outages: [{ atSeconds: 1, seconds: 2, share: 0.3 }] })
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      '--duration',
      '5',
      '--rate',
      '1500',
      '--load',
      load,
      ...QUICK,
      ...TEST_EMBEDDED,
      '--db-schema',
      schema,
      '--results-dir',
      results,
    ])
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    const [p1, p2, p3] = result.properties
    assert.equal(p1.pass, true, p1.summary)
    assert.equal(p2.pass, true, p2.summary)
    assert.equal(p3.pass, true, `flushed in seq order: ${p3.summary}`)
    assert.ok(result.latency.endToEnd.maxMs >= 1500, `the outage is in the latency (max ${result.latency.endToEnd.maxMs} ms)`)
    assert.ok(result.latency.scheduleLag.p99Ms < 1000, 'buffered readings do not count as schedule lag')
  })
})
