/**
 * P9's verdict (src/verify/live-feed-check.ts, checkLive) over a model of the database: readings and
 * alerts held in memory, each of checkLive's reads answered by what it asks for (the table, the run, the
 * farms), not by its text. Fast enough for the mutation run; verify-live-check.test.ts runs the same
 * reads on PGlite, where their SQL is what is checked. Here: the summary, the first problem named, the
 * pass rule (delivery, a measured latency at most the SLO) and the evidence.
 */
import assert from 'node:assert/strict'
import { before, describe, test } from 'node:test'
import type pg from 'pg'
import { KINDS } from '../../src/kinds.js'
import { alertHash, type ClientReport } from '../../src/live/client-record.js'
import { farmOfDevice } from '../../src/live/protocol.js'
import type { LiveEvidence } from '../../src/live/run-live.js'
import { encodeHistogram, initHistograms, newHistogram, recordMs } from '../../src/util/histogram.js'
import { checkLive } from '../../src/verify/live-feed-check.js'
import { deviceRecord } from '../support/live-records.js'

interface Reading {
  readonly table: string
  readonly run: number
  readonly device: string
  readonly seq: number
}
interface Alert {
  readonly run: number
  readonly device: string
  readonly rule: string
  readonly event: string
  readonly seq: number
}
const C = 'farm01-collar-0001'
const T = 'farm01-chiller-0001'
const readings: Reading[] = [
  ...[0, 1, 2, 2].map((seq) => ({ table: KINDS.collar.table, run: 1, device: C, seq })), // seq 2 stored twice: counted once
  ...[0, 1].map((seq) => ({ table: KINDS.chiller.table, run: 1, device: T, seq })),
  { table: KINDS.collar.table, run: 2, device: C, seq: 3 }, // another run
  { table: KINDS.collar.table, run: 1, device: 'farm02-collar-0001', seq: 0 }, // a farm no client follows
]
const alerts: Alert[] = [
  { run: 1, device: C, rule: 'fever', event: 'clear', seq: 2 },
  { run: 1, device: C, rule: 'fever', event: 'raise', seq: 1 },
  { run: 2, device: C, rule: 'fever', event: 'clear', seq: 2 },
]

/** The database as a model: each read answered from the rows above by its table, run ($1) and farms ($2). */
const model = {
  query: async (sql: string, params: [number, string[]]) => {
    const table = /\bFROM (\w+)/.exec(sql)?.[1]
    const [run, farms] = params
    if (table === 'alerts')
      return {
        rows: alerts
          .filter((a) => a.run === run && farms.includes(farmOfDevice(a.device)))
          .sort((a, b) => a.device.localeCompare(b.device) || a.seq - b.seq),
      }
    if (!Object.values(KINDS).some((k) => k.table === table)) throw new Error(`model: not a read of checkLive: ${sql}`)
    const by = new Map<string, Set<number>>()
    for (const r of readings)
      if (r.table === table && r.run === run && farms.includes(farmOfDevice(r.device)))
        by.set(r.device, (by.get(r.device) ?? new Set()).add(r.seq))
    return { rows: [...by].map(([device, seqs]) => ({ device, n: seqs.size, lo: Math.min(...seqs), hi: Math.max(...seqs) })) }
  },
} as unknown as pg.Client

const rec = deviceRecord
/** A farm01 client that got exactly run 1's readings and alerts. */
const client = (over: Partial<ClientReport> = {}): ClientReport => ({
  client: 0,
  cls: 'steady',
  farms: ['farm01'],
  connects: 1,
  closes: {},
  events: 6,
  cursors: { farm01: 6 },
  ended: true,
  error: null,
  positionFaults: [],
  devices: { [C]: rec(0, 2), [T]: rec(0, 1) },
  alerts: { [C]: { count: 2, digest: (alertHash('fever', 'raise', 1) + alertHash('fever', 'clear', 2)) >>> 0, lastSeq: 2, outOfOrder: 0 } },
  ...over,
})
let latency: { steady: string[]; reconnecting: string[] }
before(async () => {
  await initHistograms()
  const h = (ms: number[]): string[] => {
    const x = newHistogram()
    for (const m of ms) recordMs(x, m)
    return [encodeHistogram(x)]
  }
  latency = { steady: h([5, 10]), reconnecting: h([40]) }
})
const live = (reports: ClientReport[], over: Partial<LiveEvidence> = {}): LiveEvidence =>
  ({
    reports,
    latency,
    feed: { clients: reports.length },
    heads: { farm01: 6 },
    reconnectsPlanned: 2,
    file: '/runs/r1/live-clients.jsonl',
    ...over,
  }) as unknown as LiveEvidence
/** 40 ms lands in a bucket 32 µs wide at 3 significant digits: HdrHistogram reports its highest equivalent value. */
const P99 = 40.031
const TAIL = `sensor-to-client p99 ${P99} ms (SLO ≤ ${P99} ms)`

describe('checkLive over a model of the database', () => {
  test('every reading and alert of run 1 in the followed farms: PASS at a p99 equal to the SLO, with its evidence', async () => {
    const p = await checkLive(model, 1, live([client()]), P99)
    assert.equal(
      p.summary,
      `1 clients (0 reconnects) received 5 of 5 readings of their farms; missing 0, duplicated 0, unexpected 0, alert mismatches 0, clients failed 0; ${TAIL}`,
    )
    assert.deepEqual([p.id, p.name, p.pass], ['P9', 'live feed', true])
    const { classes, latency: all, latencyByClass, ...rest } = p.evidence as Record<string, unknown>
    assert.deepEqual(rest, {
      sloP99Ms: P99,
      missing: [],
      duplicated: [],
      unexpected: [],
      alertMismatches: [],
      failedClients: [],
      reconnects: { planned: 2, happened: 0 },
      measuredFrom: 'intended send time (open-loop schedule)',
      measuredTo: 'receipt of the frame by the simulated client',
      feed: { clients: 1 },
      heads: { farm01: 6 },
      clientRecords: '/runs/r1/live-clients.jsonl',
      reproduce:
        'the client records are in /runs/r1/live-clients.jsonl; the database side: SELECT device, count(DISTINCT seq), min(seq), max(seq) FROM <kind>_readings WHERE run_id = 1 GROUP BY device',
    })
    assert.deepEqual((classes as Record<string, { alertsExpected: number }>).steady.alertsExpected, 2)
    assert.deepEqual(
      [
        (all as { count: number }).count,
        ...Object.values(latencyByClass as Record<string, { count: number; maxMs: number }>).map((s) => [s.count, s.maxMs]),
      ],
      [3, [2, 10.007], [1, P99]], // highest equivalent values, as above
    )
  })

  test('the latency: above the SLO fails, none measured fails', async () => {
    assert.equal((await checkLive(model, 1, live([client()]), P99 - 0.001)).pass, false)
    const none = await checkLive(model, 1, live([client()], { latency: { steady: [], reconnecting: [] } }), P99)
    assert.equal(none.pass, false)
  })

  test('every kind of problem from two clients of both classes: totals over both, the first missing reading named', async () => {
    const bad = (n: number, cls: ClientReport['cls']): ClientReport =>
      client({
        client: n,
        cls,
        connects: 2,
        devices: { [C]: rec(0, 3, { repeats: 1, firstRepeat: 1 }), [T]: rec(1, 1) },
        alerts: {},
      })
    const p = await checkLive(model, 1, live([bad(0, 'steady'), bad(1, 'reconnecting')]), P99)
    assert.equal(p.pass, false)
    assert.equal(
      p.summary,
      `2 clients (2 reconnects) received 12 of 10 readings of their farms; missing 2, duplicated 2, unexpected 2, alert mismatches 2, clients failed 0; first: client 0, device ${T}, seq 0 (1 of 2 missing); ${TAIL}`,
    )
  })

  test('the first problem named: a missing reading, a repeat, an extra reading, an alert, then a failed client', async () => {
    const first = async (r: Partial<ClientReport>): Promise<string> => {
      const p = await checkLive(model, 1, live([client(r)]), P99)
      assert.equal(p.pass, false, p.summary)
      return p.summary.split('; ')[2]!
    }
    assert.equal(await first({ devices: { [C]: rec(0, 2), [T]: rec(1, 1) } }), `first: client 0, device ${T}, seq 0 (1 of 2 missing)`)
    assert.equal(
      await first({ devices: { [C]: rec(0, 2, { repeats: 1, firstRepeat: 2 }), [T]: rec(0, 1) } }),
      `first: client 0, device ${C}, seq 2 (1 received again or out of seq order)`,
    )
    assert.equal(
      await first({ devices: { [C]: rec(0, 3), [T]: rec(0, 1) } }),
      `first: client 0, device ${C}, seq 3 (1 readings the database does not hold)`,
    )
    assert.equal(
      await first({ alerts: {} }),
      `first: client 0, device ${C}, seq 1 (received 0 alert rows (0 out of order), the database has 2)`,
    )
    assert.equal(await first({ client: 4, error: 'socket hang up' }), 'first: client 4, socket hang up')
  })

  test('at most 20 failed clients in the evidence, every one counted', async () => {
    const failed = Array.from({ length: 21 }, (_, n) => client({ client: n, error: `client ${n} broke` }))
    const p = await checkLive(model, 1, live(failed), P99)
    assert.match(p.summary, /clients failed 21; first: client 0, client 0 broke;/)
    assert.deepEqual(
      (p.evidence as { failedClients: unknown[] }).failedClients,
      failed.slice(0, 20).map((c) => ({ client: c.client, problem: c.error })),
    )
  })
})
