/**
 * P8's oracle recomputes each 1-minute aggregate from AGGREGATES (src/verify/dashboard-aggregates.ts):
 * it must say what the migrations' views compute, column by column, in both storages. Pure text: the
 * engine is exercised by dashboards-timescaledb.test.ts, which is too slow to run once per mutant.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { KINDS } from '../../src/kinds.js'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { AGGREGATES, columnSql } from '../../src/verify/dashboard-aggregates.js'

for (const storage of ['postgresql', 'timescaledb']) {
  test(`AGGREGATES is what sql/003_aggregates.${storage}.sql computes: table, columns, functions, fields`, () => {
    const sql = readFileSync(join(PACKAGE_ROOT, 'sql', `003_aggregates.${storage}.sql`), 'utf8').replace(/\s+/g, ' ')
    const views = [
      ...sql.matchAll(
        /VIEW (?:IF NOT EXISTS )?(\w+) (?:WITH \(timescaledb\.continuous\) )?AS SELECT run_id, device, .*? AS bucket, (.*?) FROM (\w+) GROUP BY/g,
      ),
    ]
    assert.deepEqual(
      views.map((v) => v[1]),
      AGGREGATES.map((a) => a.view),
    )
    for (const [i, a] of AGGREGATES.entries()) {
      const [, , select, table] = views[i]!
      assert.equal(table, a.table, a.view)
      assert.equal(KINDS[a.kind].table, a.table, a.view)
      assert.equal(a.columns.map((c) => `${columnSql(c, a.kind)} AS ${c.column}`).join(', '), select, a.view)
      for (const c of a.columns)
        if (c.field !== undefined)
          assert.ok(
            KINDS[a.kind].fields.some((f) => f.name === c.field),
            `${a.view}.${c.column}`,
          )
    }
  })
}
