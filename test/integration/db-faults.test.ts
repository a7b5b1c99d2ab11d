import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pg from 'pg'
import { readResult, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

// The database goes away under the ingest: retriable errors retry with backoff, the broker keeps
// what has not been acknowledged, and nothing is lost or stored twice.
describe('database faults during a run', () => {
  test('ingest connections killed mid-run: the run still verifies with zero loss', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const results = tempResultsDir()
    const schema = uniqueName('kill')
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    let killed = 0
    let stop = false
    const killer = (async () => {
      // Kill this run's ingest connections (and no other run's: the database is shared) every 700 ms while
      // the load runs (a COPY in flight, or idle). The run's id is in its own schema's runs table.
      let runId: string | undefined
      while (!runId && !stop) {
        await new Promise((r) => setTimeout(r, 500))
        const ids = await admin.query<{ id: string }>(`SELECT id FROM "${schema}".runs`).catch(() => ({ rows: [] as { id: string }[] }))
        runId = ids.rows[0]?.id
      }
      await new Promise((r) => setTimeout(r, 1500))
      for (let i = 0; i < 8 && !stop; i++) {
        const r = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name LIKE 'iotbench-ingest-%' AND application_name LIKE $1 AND datname = current_database()`,
          [`% run ${runId}`],
        )
        killed += r.rowCount ?? 0
        await new Promise((res) => setTimeout(res, 700))
      }
    })()
    try {
      const r = await runCli([
        'run',
        '--profile',
        'ci',
        '--duration',
        '10',
        '--rate',
        '1500',
        '--progress',
        'plain',
        '--drain-timeout',
        '30',
        '--database-url',
        url,
        '--db-schema',
        schema,
        '--results-dir',
        results,
        // Every kill costs a retry with backoff: latency is expected to suffer, loss is not.
        '--slo-p99-ms',
        '30000',
      ])
      stop = true
      await killer
      assert.ok(killed >= 2, `the test killed ${killed} ingest connections; it must kill some to mean anything`)
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
      const result = readResult(results, runIdFrom(r.stdout))
      assert.ok(result.counts.dbRetries >= 1, 'the ingest retried after losing its connection')
      const [p1] = result.properties
      assert.equal(p1.evidence.counts.lost, 0)
      assert.equal(p1.evidence.counts.duplicated, 0)
      assert.match(r.stderr, /database write failed .*retry/)
    } finally {
      stop = true
      await killer.catch(() => undefined)
      await admin.end()
    }
  })
})
