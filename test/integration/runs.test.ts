import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import pg from 'pg'
import { runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

describe('iotbench runs: list and drop', () => {
  test('a dropped run leaves nothing behind, and two runs in one schema stay apart', async (t) => {
    const db = await requireService(t, 'database')
    if (!db) return
    const schema = uniqueName('runs')
    const results = tempResultsDir()
    const common = [
      '--database-url',
      db,
      '--db-schema',
      schema,
      '--results-dir',
      results,
      '--progress',
      'off',
      '--duration',
      '2',
      '--rate',
      '1000',
    ]
    const a = await runCli(['run', ...common, '--seed', '1'])
    const b = await runCli(['run', ...common, '--seed', '2'])
    assert.equal(a.code, 0, a.stdout + a.stderr)
    assert.equal(b.code, 0, b.stdout + b.stderr)
    const [runA, runB] = [runIdFrom(a.stdout), runIdFrom(b.stdout)]

    const list = await runCli(['runs', 'list', '--database-url', db, '--db-schema', schema])
    assert.equal(list.code, 0)
    assert.match(list.stdout, new RegExp(`${runA} .* pass`))
    assert.match(list.stdout, new RegExp(`${runB} .* pass`))

    const ids = new pg.Client({ connectionString: db })
    await ids.connect()
    const idA = (await ids.query<{ id: number }>(`SELECT id FROM "${schema}".runs WHERE name = $1`, [runA]).finally(() => ids.end()))
      .rows[0]!.id

    const drop = await runCli(['runs', 'drop', runA, '--database-url', db, '--db-schema', schema])
    assert.equal(drop.code, 0, drop.stderr)
    assert.match(drop.stdout, /dropped 1 run\(s\), [1-9]\d* rows/)

    const client = new pg.Client({ connectionString: db })
    await client.connect()
    try {
      const left = await client.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM "${schema}".collar_readings) + (SELECT count(*) FROM "${schema}".milk_readings)
              + (SELECT count(*) FROM "${schema}".chiller_readings) AS n`,
      )
      assert.ok(Number(left.rows[0]!.n) > 0, 'the other run keeps its rows')
      // Nothing of the dropped run is left in any table that records a run_id (a table added later included).
      const tables = await client.query<{ table_name: string }>(
        `SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = $1 AND c.column_name = 'run_id' AND t.table_type = 'BASE TABLE'`,
        [schema],
      )
      assert.ok(tables.rows.length >= 8, `tables with run_id: ${tables.rows.map((r) => r.table_name).join(', ')}`)
      for (const { table_name } of tables.rows) {
        const n = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table_name}" WHERE run_id = $1`, [idA])
        assert.equal(Number(n.rows[0]!.n), 0, `${table_name} still holds rows of the dropped run`)
      }
    } finally {
      await client.end()
    }
    // The other run still verifies on its own: runs never confuse each other.
    const vb = await runCli(['verify', runB, '--database-url', db, '--db-schema', schema, '--results-dir', results])
    assert.equal(vb.code, 0, vb.stdout + vb.stderr)
    const va = await runCli(['verify', runA, '--database-url', db, '--db-schema', schema, '--results-dir', results])
    assert.equal(va.code, 4)
    assert.match(va.stderr, new RegExp(`no run named "${runA}"`))

    const unknown = await runCli(['runs', 'drop', 'no-such-run', '--database-url', db, '--db-schema', schema])
    assert.equal(unknown.code, 4)
    const badAge = await runCli(['runs', 'drop', '--older-than', 'soon', '--database-url', db, '--db-schema', schema])
    assert.equal(badAge.code, 4)
    assert.match(badAge.stderr, /--older-than must look like/)
  })
})
