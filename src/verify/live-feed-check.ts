import type pg from 'pg'
import { KINDS, KIND_NAMES } from '../kinds.js'
import { mergeEncoded, summarize, summarizeEncoded, type LatencySummary } from '../util/histogram.js'
import type { PropertyResult } from './types.js'
import { alertHash, type ClientReport, type DeviceRecord } from '../live/client-record.js'
import { farmOfDevice } from '../live/protocol.js'
import type { LiveEvidence } from '../live/run-live.js'
import { notApplicable } from './properties/types.js'

/** A stored device's readings of the run: distinct seqs, lowest, highest. */
export interface StoredDevice {
  readonly count: number
  readonly min: number
  readonly max: number
}
export interface StoredAlerts {
  count: number
  digest: number
  seqs: number[]
}

export interface LiveSample {
  readonly client: number
  readonly device: string
  readonly seq: number | null
  readonly detail?: string
}

interface ClassCounts {
  clients: number
  connects: number
  readingsReceived: number
  readingsExpected: number
  missing: number
  duplicated: number
  unexpected: number
  alertsReceived: number
  alertsExpected: number
  alertMismatches: number
}
const newClass = (): ClassCounts => ({
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
})

/** Seqs the client's record holds inside [lo, hi]: the range minus the gaps it skipped. */
function heldIn(rec: DeviceRecord, lo: number, hi: number): number {
  const from = Math.max(lo, rec.first)
  const to = Math.min(hi, rec.last)
  if (from > to) return 0
  let n = to - from + 1
  for (const [g0, g1] of rec.gaps) n -= Math.max(0, Math.min(g1, to) - Math.max(g0, from) + 1)
  return n
}

/** The first stored seq the record lacks, for a device whose stored seqs are contiguous. */
function firstLacking(rec: DeviceRecord, db: StoredDevice): number | null {
  if (rec.first > db.min) return db.min
  for (const [g0, g1] of rec.gaps) if (g1 >= db.min && g0 <= db.max) return Math.max(g0, db.min)
  if (rec.last < db.max) return rec.last + 1
  return null
}

/**
 * Compares every client's record with what the database holds for its farms (pure; the queries are in
 * checkLive). A device whose stored seqs have holes of their own (readings lost before the ingest) is
 * compared by count, and `holes` names it so a caller can look closer.
 */
export function compareClients(
  reports: readonly ClientReport[],
  stored: ReadonlyMap<string, StoredDevice>,
  alerts: ReadonlyMap<string, StoredAlerts>,
) {
  const byFarm = new Map<string, string[]>()
  for (const d of new Set([...stored.keys(), ...alerts.keys()])) {
    const f = farmOfDevice(d)
    byFarm.set(f, [...(byFarm.get(f) ?? []), d])
  }
  const classes = { steady: newClass(), reconnecting: newClass() }
  const missing: LiveSample[] = []
  const duplicated: LiveSample[] = []
  const unexpected: LiveSample[] = []
  const alertMismatches: LiveSample[] = []
  const failedClients: Array<{ client: number; problem: string }> = []
  for (const r of reports) {
    const c = classes[r.cls]
    c.clients++
    c.connects += r.connects
    if (r.error) failedClients.push({ client: r.client, problem: r.error })
    else if (!r.ended)
      failedClients.push({
        client: r.client,
        problem: `had not received every event when the run ended (cursors ${JSON.stringify(r.cursors)})`,
      })
    for (const p of r.positionFaults)
      failedClients.push({ client: r.client, problem: `farm ${p.farm}: a frame started at position ${p.got}, expected ${p.expected}` })
    for (const farm of r.farms) {
      for (const device of byFarm.get(farm) ?? []) {
        const db = stored.get(device)
        const rec = r.devices[device]
        if (db) {
          c.readingsExpected += db.count
          if (!rec) {
            c.missing += db.count
            if (missing.length < 20) missing.push({ client: r.client, device, seq: db.min, detail: `none of ${db.count} readings` })
          } else {
            c.readingsReceived += rec.count + rec.repeats
            if (rec.repeats > 0) {
              c.duplicated += rec.repeats
              if (duplicated.length < 20)
                duplicated.push({
                  client: r.client,
                  device,
                  seq: rec.firstRepeat,
                  detail: `${rec.repeats} received again or out of seq order`,
                })
            }
            const contiguous = db.count === db.max - db.min + 1
            const held = contiguous ? heldIn(rec, db.min, db.max) : Math.min(rec.count, db.count)
            const lack = db.count - held
            const extra = rec.count - held
            if (lack > 0) {
              c.missing += lack
              if (missing.length < 20)
                missing.push({
                  client: r.client,
                  device,
                  seq: contiguous ? firstLacking(rec, db) : null,
                  detail: `${lack} of ${db.count} missing${contiguous ? '' : ' (the stored seqs have holes of their own)'}`,
                })
            }
            if (extra > 0) {
              c.unexpected += extra
              if (unexpected.length < 20)
                unexpected.push({
                  client: r.client,
                  device,
                  seq: rec.last > db.max ? db.max + 1 : rec.first,
                  detail: `${extra} readings the database does not hold`,
                })
            }
          }
        } else if (rec) {
          c.unexpected += rec.count
          if (unexpected.length < 20)
            unexpected.push({ client: r.client, device, seq: rec.first, detail: 'a device the database has no readings of' })
        }
        const dbA = alerts.get(device)
        const got = r.alerts[device]
        c.alertsExpected += dbA?.count ?? 0
        c.alertsReceived += got?.count ?? 0
        if ((dbA?.count ?? 0) !== (got?.count ?? 0) || (dbA?.digest ?? 0) !== (got?.digest ?? 0) || (got?.outOfOrder ?? 0) > 0) {
          c.alertMismatches++
          if (alertMismatches.length < 20) {
            const after = dbA?.seqs.find((s) => s > (got?.lastSeq ?? -1)) ?? null
            alertMismatches.push({
              client: r.client,
              device,
              seq: after,
              detail: `received ${got?.count ?? 0} alert rows (${got?.outOfOrder ?? 0} out of order), the database has ${dbA?.count ?? 0}`,
            })
          }
        }
      }
    }
  }
  return { classes, missing, duplicated, unexpected, alertMismatches, failedClients }
}

/** P9: every simulated client got every committed reading and alert of its farms, in order, once; latency against the SLO. */
export async function checkLive(client: pg.Client, runId: number, live: LiveEvidence | undefined, p99Ms: number): Promise<PropertyResult> {
  if (!live || live.reports.length === 0) {
    // `iotbench verify` of a run whose client records file is gone lands here too
    return notApplicable(
      { id: 'P9', name: 'live feed' },
      'no simulated live clients in this run (--live-clients 0), or their records file is gone',
    )
  }
  const farms = [...new Set(live.reports.flatMap((r) => r.farms))]
  const stored = new Map<string, StoredDevice>()
  for (const kind of KIND_NAMES) {
    const q = await client.query<{ device: string; n: number; lo: number; hi: number }>(
      `SELECT device, count(DISTINCT seq)::int AS n, min(seq) AS lo, max(seq) AS hi FROM ${KINDS[kind].table}
       WHERE run_id = $1 AND split_part(device, '-', 1) = ANY($2::text[]) GROUP BY device`,
      [runId, farms],
    )
    for (const r of q.rows) stored.set(r.device, { count: r.n, min: r.lo, max: r.hi })
  }
  const alerts = new Map<string, StoredAlerts>()
  const a = await client.query<{ device: string; rule: string; event: string; seq: number }>(
    `SELECT device, rule, event, seq FROM alerts WHERE run_id = $1 AND farm = ANY($2::text[]) ORDER BY device, seq`,
    [runId, farms],
  )
  for (const r of a.rows) {
    let s = alerts.get(r.device)
    if (!s) alerts.set(r.device, (s = { count: 0, digest: 0, seqs: [] }))
    s.count++
    s.digest = (s.digest + alertHash(r.rule, r.event, r.seq)) >>> 0
    s.seqs.push(r.seq)
  }
  const cmp = compareClients(live.reports, stored, alerts)
  const all = mergeEncoded([...live.latency.steady, ...live.latency.reconnecting])
  const latency: LatencySummary = summarize(all)
  all.destroy()
  const byClass = { steady: summarizeEncoded(live.latency.steady), reconnecting: summarizeEncoded(live.latency.reconnecting) }
  const t = Object.values(cmp.classes).reduce(
    (x, c) => ({
      missing: x.missing + c.missing,
      duplicated: x.duplicated + c.duplicated,
      unexpected: x.unexpected + c.unexpected,
      alertMismatches: x.alertMismatches + c.alertMismatches,
      received: x.received + c.readingsReceived,
      expected: x.expected + c.readingsExpected,
      connects: x.connects + c.connects,
    }),
    { missing: 0, duplicated: 0, unexpected: 0, alertMismatches: 0, received: 0, expected: 0, connects: 0 },
  )
  const reconnects = t.connects - live.reports.length
  const delivered = t.missing === 0 && t.duplicated === 0 && t.unexpected === 0 && t.alertMismatches === 0 && cmp.failedClients.length === 0
  const pass = delivered && latency.count > 0 && latency.p99Ms <= p99Ms
  const first = cmp.missing[0] ?? cmp.duplicated[0] ?? cmp.unexpected[0] ?? cmp.alertMismatches[0]
  const problems = delivered
    ? ''
    : `; first: client ${first?.client ?? cmp.failedClients[0]?.client}, ${first ? `device ${first.device}, seq ${first.seq} (${first.detail})` : cmp.failedClients[0]?.problem}`
  return {
    id: 'P9',
    name: 'live feed',
    pass,
    summary: `${live.reports.length} clients (${reconnects} reconnects) received ${t.received} of ${t.expected} readings of their farms; missing ${t.missing}, duplicated ${t.duplicated}, unexpected ${t.unexpected}, alert mismatches ${t.alertMismatches}, clients failed ${cmp.failedClients.length}${problems}; sensor-to-client p99 ${latency.p99Ms} ms (SLO ≤ ${p99Ms} ms)`,
    evidence: {
      sloP99Ms: p99Ms,
      classes: cmp.classes,
      missing: cmp.missing,
      duplicated: cmp.duplicated,
      unexpected: cmp.unexpected,
      alertMismatches: cmp.alertMismatches,
      failedClients: cmp.failedClients.slice(0, 20),
      reconnects: { planned: live.reconnectsPlanned, happened: reconnects },
      latency,
      latencyByClass: byClass,
      measuredFrom: 'intended send time (open-loop schedule)',
      measuredTo: 'receipt of the frame by the simulated client',
      feed: live.feed,
      heads: live.heads,
      clientRecords: live.file,
      reproduce: `the client records are in ${live.file}; the database side: SELECT device, count(DISTINCT seq), min(seq), max(seq) FROM <kind>_readings WHERE run_id = ${runId} GROUP BY device`,
    },
  }
}
