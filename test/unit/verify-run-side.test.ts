/**
 * verifyRun's side connection (src/verify/verify.ts) on the test PostgreSQL: the side lane's properties
 * get a connection of their own, opened with the main client's URL and schema and named
 * `iotbench-verify`; it is closed once the lanes are done, and the main lane's client is left open.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type pg from 'pg'
import { connect } from '../../src/db/connect.js'
import type { Property, PropertyOutcome } from '../../src/verify/properties/index.js'
import type { LatencyEvidence } from '../../src/verify/slo.js'
import { sloOf } from '../../src/verify/slo.js'
import type { RunManifest } from '../../src/verify/types.js'
import { verifyRun } from '../../src/verify/verify.js'
import { requireService, uniqueName } from '../support/services.js'

const summary = { count: 1, p50Ms: 1, p90Ms: 1, p99Ms: 1, p999Ms: 1, maxMs: 1, meanMs: 1 }
const latency: LatencyEvidence = { endToEnd: summary, brokerHop: summary, scheduleLag: summary }
const manifest = { seed: 1, perDevice: 1 } as unknown as RunManifest

test('the side lane reads on a connection of its own, named and in the same schema, closed after the lanes', async (t) => {
  const url = await requireService(t, 'database')
  if (!url) return
  const schema = uniqueName('verify_side')
  const main = await connect(url, schema)
  // current_schema() is the first schema of the path that exists: the side connection follows it.
  await main.query(`CREATE SCHEMA ${schema}`)
  try {
    let side: pg.Client | undefined
    const who = (c: pg.Client) =>
      c
        .query<{ app: string; path: string; pid: number }>(
          `SELECT current_setting('application_name') AS app, current_setting('search_path') AS path, pg_backend_pid() AS pid`,
        )
        .then((r) => r.rows[0]!)
    const seen: Record<string, { app: string; path: string; pid: number }> = {}
    const outcome = (id: Property['id']): PropertyOutcome => ({ id, name: id, pass: true, summary: 'read', evidence: {} })
    const props: Property[] = [
      {
        id: 'P4',
        name: 'main',
        lane: 'main',
        check: async () => {
          seen.main = await who(main)
          return outcome('P4')
        },
      },
      {
        id: 'P5',
        name: 'side',
        lane: 'side',
        check: async (ctx) => {
          side = ctx.sideClient()
          seen.side = await who(side)
          return outcome('P5')
        },
      },
    ]
    const out = await verifyRun(main, 1, manifest, latency, sloOf({}), undefined, { rowByRow: true }, props)
    assert.deepEqual(
      out.map((o) => [o.id, o.pass, o.summary]),
      [
        ['P4', true, 'read'],
        ['P5', true, 'read'],
      ],
    )
    assert.notEqual(seen.side!.pid, seen.main!.pid, 'a connection of its own')
    assert.equal(seen.side!.app, 'iotbench-verify')
    assert.equal(seen.side!.path, seen.main!.path)
    await assert.rejects(side!.query('SELECT 1'), /not queryable|ended|closed/i, 'the side connection is closed')
    assert.equal((await main.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1, 'the main client is left open')
  } finally {
    await main.query(`DROP SCHEMA ${schema}`)
    await main.end()
  }
})
