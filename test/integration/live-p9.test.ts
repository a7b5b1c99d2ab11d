/**
 * P9 in real runs: the ci profile's simulated dashboard clients (50, two farms each, with dropped and
 * resumed connections) against a real PostgreSQL. One run passes P9 with its evidence, and the records
 * of the clients that were dropped mid-run are compared with the database here, not only through P9;
 * one run keeps a reading from the live feed (fault hook dropLive=1) and P9 must name the client,
 * device and seq.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import type { ClientReport } from '../../src/live/client-record.js'
import { readResult, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

const RUN = ['run', '--profile', 'ci', '--duration', '8', '--rate', '1500', '--progress', 'plain', '--drain-timeout', '20']
const DEVICE = /^farm\d+-(collar|milk|chiller)-\d{4}$/
const results = tempResultsDir()

async function stored(url: string, schema: string, runName: string): Promise<Map<string, { n: number; lo: number; hi: number }>> {
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  try {
    await db.query(`SET search_path TO ${schema}`)
    const id = (await db.query<{ id: number }>('SELECT id FROM runs WHERE name = $1', [runName])).rows[0]!.id
    const out = new Map<string, { n: number; lo: number; hi: number }>()
    for (const t of ['collar_readings', 'milk_readings', 'chiller_readings']) {
      const r = await db.query<{ device: string; n: number; lo: number; hi: number }>(
        `SELECT device, count(*)::int AS n, min(seq) AS lo, max(seq) AS hi FROM ${t} WHERE run_id = $1 GROUP BY device`,
        [id],
      )
      for (const row of r.rows) out.set(row.device, row)
    }
    return out
  } finally {
    await db.end()
  }
}

describe('P9 live feed in a ci-profile run', () => {
  // One run serves the first two tests: P9's verdict, and the dropped clients' own records.
  let shared: Promise<{ url: string; schema: string; id: string; stdout: string; p9: any }> | undefined
  const ciRun = (url: string): Promise<{ url: string; schema: string; id: string; stdout: string; p9: any }> =>
    (shared ??= (async () => {
      const schema = uniqueName('live')
      const r = await runCli([...RUN, '--live-reconnects', '4', '--database-url', url, '--db-schema', schema, '--results-dir', results])
      const id = runIdFrom(r.stdout)
      const result = readResult(results, id)
      assert.equal(result.properties.at(-1).id, 'P9', 'P9 is reported, after P7')
      return { url, schema, id, stdout: r.stdout, p9: result.properties.find((p: { id: string }) => p.id === 'P9') }
    })())

  test('P9 passes with its evidence: every client got every committed reading and alert of its farms once, in order, within the p99', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const { schema, id, stdout, p9 } = await ciRun(url)
    const ev = p9.evidence
    assert.equal(ev.classes.steady.clients + ev.classes.reconnecting.clients, 50)
    assert.equal(ev.classes.reconnecting.clients, 4)
    for (const cls of ['steady', 'reconnecting']) {
      const c = ev.classes[cls]
      assert.ok(c.readingsExpected > 0)
      assert.equal(c.readingsReceived, c.readingsExpected, cls)
      assert.deepEqual([c.missing, c.duplicated, c.unexpected, c.alertMismatches], [0, 0, 0, 0], cls)
    }
    assert.ok(ev.classes.steady.alertsExpected > 0, "the run raised alerts on the clients' farms")
    assert.ok(ev.reconnects.happened >= 4, `reconnects: ${JSON.stringify(ev.reconnects)}`)
    assert.ok(ev.latency.count > 0)
    // `iotbench verify` checks P9 again from the runs table and the client records file.
    const v = await runCli(['verify', id, '--database-url', url, '--db-schema', schema, '--results-dir', results])
    const again = JSON.parse(readFileSync(join(results, id, 'verify.json'), 'utf8'))
    assert.equal(again.properties.find((p: { id: string }) => p.id === 'P9').summary, p9.summary, v.stdout + v.stderr)
    // Last: the latency SLO, the one assertion a saturated machine can fail.
    assert.equal(p9.pass, true, `${p9.summary}\n${stdout}`)
    assert.match(stdout, /ok {3}P9 live feed: 50 clients/)
  })

  test('clients dropped mid-run resumed by cursor with nothing missing or doubled (their own records against the database)', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const { schema, id, p9 } = await ciRun(url)
    const db = await stored(url, schema, id)
    const records = readFileSync(p9.evidence.clientRecords, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ClientReport)
    assert.equal(records.length, 50)
    const dropped = records.filter((c) => c.cls === 'reconnecting')
    assert.equal(dropped.length, 4)
    for (const c of dropped) {
      assert.ok(c.connects >= 2, `client ${c.client} reconnected (${c.connects} connections)`)
      assert.ok((c.closes['1006'] ?? 0) >= 1, `client ${c.client} lost its connection abruptly: ${JSON.stringify(c.closes)}`)
      assert.equal(c.error, null)
      assert.equal(c.ended, true)
      assert.deepEqual(c.positionFaults, [])
      let devices = 0
      for (const [device, s] of db) {
        if (!c.farms.includes(device.split('-')[0]!)) continue
        devices++
        const rec = c.devices[device]
        assert.ok(rec, `client ${c.client}: ${device} received`)
        assert.deepEqual(
          { first: rec.first, last: rec.last, count: rec.count, repeats: rec.repeats, gaps: rec.gaps },
          { first: s.lo, last: s.hi, count: s.n, repeats: 0, gaps: [] },
          `client ${c.client}, ${device}`,
        )
      }
      assert.ok(devices > 0)
      assert.equal(devices, Object.keys(c.devices).length, `client ${c.client}: no device outside its farms`)
    }
  })

  test('a reading kept from the live feed fails P9, naming the client, device and seq', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const schema = uniqueName('livefault')
    const r = await runCli([...RUN, '--fault-hook', 'dropLive=1', '--database-url', url, '--db-schema', schema, '--results-dir', results])
    assert.equal(r.code, 3, r.stdout + r.stderr)
    const id = runIdFrom(r.stdout)
    const byId = Object.fromEntries(readResult(results, id).properties.map((p: { id: string }) => [p.id, p]))
    assert.equal(byId.P1.pass, true, 'the reading is stored: only the feed lost it')
    const p9 = byId.P9
    assert.equal(p9.pass, false)
    const missing = p9.evidence.missing as Array<{ client: number; device: string; seq: number }>
    assert.ok(missing.length > 0)
    const m = missing[0]!
    assert.match(m.device, DEVICE)
    assert.equal(typeof m.client, 'number')
    assert.equal(typeof m.seq, 'number')
    // every client of that farm missed the same reading, and only that one
    assert.ok(
      missing.every((x) => x.device === m.device && x.seq === m.seq),
      JSON.stringify(missing),
    )
    const records = readFileSync(p9.evidence.clientRecords, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ClientReport)
    const following = records.filter((c) => c.farms.includes(m.device.split('-')[0]!)).length
    assert.ok(following > 0)
    assert.equal(
      p9.evidence.classes.steady.missing + p9.evidence.classes.reconnecting.missing,
      following,
      'one reading missing per client of that farm',
    )
    assert.equal(p9.evidence.classes.steady.duplicated, 0)
    assert.match(p9.summary, new RegExp(`first: client ${m.client}, device ${m.device}, seq ${m.seq}`))
    const db = await stored(url, schema, id)
    const s = db.get(m.device)!
    assert.ok(m.seq >= s.lo && m.seq <= s.hi, 'the missing seq is one the database holds')
  })
})
