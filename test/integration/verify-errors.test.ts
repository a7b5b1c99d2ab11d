import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

// Against Debian's PostgreSQL (no TimescaleDB): what the storage choice refuses, a verdict that survives a
// check that throws, and a run's sensor time lying wholly in the past.
describe('storage choice, a throwing check, and the sensor clock (PostgreSQL)', () => {
  test('--storage timescaledb on a server without the extension: one line saying what to do, exit 5', async (t) => {
    const db = await requireService(t, 'database')
    if (!db) return
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      ...SHORT_RUN,
      '--database-url',
      db,
      '--db-schema',
      uniqueName('st'),
      '--storage',
      'timescaledb',
      '--results-dir',
      tempResultsDir(),
    ])
    assert.equal(r.code, 5, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /--storage timescaledb, but the server \(PostgreSQL \d+\.\d+.*\) has no timescaledb extension installed/)
    assert.match(r.stderr, /run with --storage postgresql/)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  })

  test('a check that throws fails only its own property; every output is still written', async (t) => {
    const db = await requireService(t, 'database')
    if (!db) return
    const schema = uniqueName('ve')
    const results = tempResultsDir()
    const r = await runCli(['run', '--profile', 'ci', ...SHORT_RUN, '--database-url', db, '--db-schema', schema, '--results-dir', results])
    assert.ok(r.code === 0 || r.code === 3 || r.code === 7, `exit ${r.code}\n${r.stdout}\n${r.stderr}`) // timing may fail on a busy host
    const id = runIdFrom(r.stdout)
    const result = readResult(results, id)
    assert.match(result.environment.serverVersion, /^\d+\.\d+/, 'the server version is recorded')
    assert.equal(result.environment.timescaledbVersion, null)
    assert.equal(result.environment.backgroundJobs, 'not applicable (plain PostgreSQL)')
    assert.match(readFileSync(join(results, id, 'report.md'), 'utf8'), /\[postgresql; PostgreSQL \d+\.\d+/)

    const client = new pg.Client({ connectionString: db })
    await client.connect()
    try {
      // Every reading is stamped before the run started (sensor time ends in the past, as a real farm's).
      const stamps = await client.query<{ last: Date; started: Date }>(
        `SELECT (SELECT max(ts) FROM (SELECT max(ts) AS ts FROM ${schema}.collar_readings UNION ALL SELECT max(ts) FROM ${schema}.milk_readings UNION ALL SELECT max(ts) FROM ${schema}.chiller_readings) x) AS last,
                (SELECT started_at FROM ${schema}.runs WHERE name = $1) AS started`,
        [id],
      )
      const { last, started } = stamps.rows[0]!
      assert.ok(
        last.getTime() <= started.getTime() - 2 * 60_000,
        `last reading ${last.toISOString()} is at least 2 minutes before the run's start ${started.toISOString()}`,
      )
      assert.ok(last.getTime() > started.getTime() - 2 * 86_400_000, 'and within the last two days')

      // P5 reads the alerts table: without it, P5's check throws.
      await client.query(`ALTER TABLE ${schema}.alerts RENAME TO alerts_hidden`)
      const v = await runCli(['verify', id, '--database-url', db, '--db-schema', schema, '--results-dir', results])
      assert.equal(v.code, 3, `exit ${v.code}\n${v.stdout}\n${v.stderr}`)
      assert.doesNotMatch(v.stderr, /internal error/)
      const verified = JSON.parse(readFileSync(join(results, id, 'verify.json'), 'utf8'))
      const byId = Object.fromEntries(verified.properties.map((p: { id: string }) => [p.id, p]))
      assert.deepEqual(Object.keys(byId), ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9'])
      assert.equal(byId.P5.pass, false)
      assert.match(byId.P5.summary, /^the check itself failed: relation "alerts" does not exist/)
      assert.match(byId.P5.evidence.error, /relation "alerts" does not exist/)
      for (const p of ['P1', 'P2', 'P3', 'P7']) assert.equal(byId[p].pass, true, `${p} is still judged: ${byId[p].summary}`)
      assert.match(v.stdout, /FAIL\s+P5 alerts: the check itself failed/)
      assert.ok(existsSync(join(results, id, 'junit.xml')))
      assert.equal((readFileSync(join(results, id, 'junit.xml'), 'utf8').match(/<testcase /g) ?? []).length, 9)
    } finally {
      await client.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined)
      await client.end()
    }
  })
})
