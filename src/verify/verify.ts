import type pg from 'pg'
import { ConfigError, InfraError, errorMessage } from '../errors.js'
import { KINDS, KIND_NAMES, type FieldValue, type Kind } from '../kinds.js'
import type { LatencySummary } from '../util/histogram.js'
import { SetChecker, type DeviceRange, type SetCounts, type SetReport } from './completeness.js'
import { checkKinds, whereIs, type KindReport } from './parallel.js'
import { connect } from '../db/connect.js'
import { checkKindsFast } from './fast.js'
import { digestsFor, type PendingDigests } from './oracle-digests.js'
import { contextOf } from '../sim/oracle.js'
import { OrderChecker, type OrderReport } from './ordering.js'
import { copyRowBatches } from '../db/copy-rows.js'
import type { PropertyId, PropertyResult, RunManifest, Sample } from './types.js'
import { alertRulesOf } from '../alerts/rules.js'
import { defaultSensorModels } from '../sim/models.js'
import { AlertChecker, percentiles, type DeviceExpectations, type StoredAlert } from './alerts.js'
import { checkDeadLetters, type DeadLetterReport } from './dead-letters.js'
import { checkRates, type RateRecord } from './rates.js'
import { checkDashboards, type DashboardCheckOptions } from './dashboards.js'
import { pgSession } from '../db/migrate.js'
import { checkLive } from '../live/verify-live.js'
import type { LiveEvidence } from '../live/run-live.js'

export interface Slo {
  readonly p99Ms: number
  readonly maxLost: number
  readonly alertRecall: number
  readonly alertPrecision: number
  readonly detectionP99Ms: number
  readonly rateTolerance: number
  readonly maxScheduleLagMs: number
}

/** The SLOs of a resolved config, or of a stored run's config (defaults for options it predates). */
export const sloOf = (c: Readonly<Record<string, unknown>>): Slo => {
  const n = (k: string, d: number): number => (c[k] === undefined || c[k] === null ? d : Number(c[k]))
  return {
    p99Ms: n('sloP99Ms', 2000), maxLost: n('sloMaxLost', 0), alertRecall: n('sloAlertRecall', 1), alertPrecision: n('sloAlertPrecision', 1),
    detectionP99Ms: n('sloDetectionP99Ms', n('sloP99Ms', 2000)), rateTolerance: n('sloRateTolerance', 0.9), maxScheduleLagMs: n('sloMaxScheduleLagMs', n('sloP99Ms', 2000)),
  }
}

export interface LatencyEvidence {
  readonly endToEnd: LatencySummary
  readonly brokerHop: LatencySummary
  readonly scheduleLag: LatencySummary
}

const parseValue = (type: string, s: string | null): FieldValue | null => {
  if (s === null) return null
  if (type === 'bool') return s === 't'
  return Number(s)
}

const sqlText = (s: string): string => `'${s.replace(/'/g, "''")}'`

/** P1–P3 for one kind (optionally a range of its device ids), streamed: one COPY by (device, seq), one by (device, receive order). */
export async function checkKind(client: pg.Client, runId: number, manifest: RunManifest, kind: Kind, range: DeviceRange = {}): Promise<{ set: SetReport; order: OrderReport }> {
  const spec = KINDS[kind]
  const set = new SetChecker(manifest, kind, range)
  const cols = spec.fields.map((f) => f.name).join(', ')
  const onlySql = range.only !== undefined ? ` AND device = ANY(ARRAY[${range.only.map(sqlText).join(', ') || "''"}]::text[])` : ''
  const inRangeSql = `${range.lo !== undefined ? ` AND device COLLATE "C" >= ${sqlText(range.lo)}` : ''}${range.hi !== undefined ? ` AND device COLLATE "C" < ${sqlText(range.hi)}` : ''}${onlySql}`
  const byDeviceSeq = `SELECT device, seq, (extract(epoch FROM ts) * 1000)::bigint, ${cols} FROM ${spec.table}
    WHERE run_id = ${Number(runId)}${inRangeSql} ORDER BY device COLLATE "C", seq, rx`
  for await (const rows of copyRowBatches(client, byDeviceSeq)) {
    for (const r of rows) {
      const values: (FieldValue | null)[] = new Array(spec.fields.length)
      for (let i = 0; i < spec.fields.length; i++) values[i] = parseValue(spec.fields[i].type, r[3 + i] ?? null)
      set.add({ device: r[0]!, seq: Number(r[1]), ts: Number(r[2]), values })
    }
  }
  const order = new OrderChecker()
  const byReceive = `SELECT device, seq FROM ${spec.table} WHERE run_id = ${Number(runId)}${inRangeSql} ORDER BY device COLLATE "C", rx`
  for await (const rows of copyRowBatches(client, byReceive)) for (const r of rows) order.add(r[0]!, Number(r[1]))
  return { set: set.finish(), order: order.report }
}

const sumCounts = (reports: SetReport[]): SetCounts => {
  const total: SetCounts = { expected: 0, ok: 0, lost: 0, unacknowledgedLost: 0, recovered: 0, duplicated: 0, unexpected: 0, corrupted: 0 }
  for (const r of reports) for (const k of Object.keys(total) as Array<keyof SetCounts>) total[k] += r.counts[k]
  return total
}
const firstOf = (lists: Sample[][]): Sample[] => lists.flat().slice(0, 20)
/** The first offender of each failing class, for the one-line summary (the evidence lists up to 20 of each). */
const firstNamed = (classes: ReadonlyArray<readonly [label: string, samples: ReadonlyArray<{ device: string; seq: number; rule?: string }>]>): string => {
  const named = classes.flatMap(([label, xs]) => (xs[0] ? [`${label ? `${label} ` : ''}${xs[0].device}${xs[0].rule ? ` ${xs[0].rule}` : ''} seq ${xs[0].seq}`] : []))
  return named.length ? ` (first ${named.join('; ')})` : ''
}

export interface VerifyOptions extends DashboardCheckOptions {
  /** Oracle digests being computed while the run's load ran (src/verify/oracle-digests.ts). */
  readonly pendingDigests?: PendingDigests
  /** Check P1–P3 row by row for every device (no set-based pass). */
  readonly rowByRow?: boolean
  /** Regenerate the oracle digests from the seed even when the run has them stored. */
  readonly regenerateDigests?: boolean
  /** What the run's simulated live clients received (P9). */
  readonly live?: LiveEvidence | undefined
  /** Leave P8 out (bench:verify times it on its own). */
  readonly skipDashboards?: boolean
}

type OracleRecord = Awaited<ReturnType<typeof digestsFor>>

/** The run's oracle record (digests and alert expectations): computed during the run, stored with it, or regenerated now. */
async function oracleRecord(client: pg.Client, runId: number, manifest: RunManifest, opts: VerifyOptions): Promise<OracleRecord> {
  const spec = { ...contextOf(manifest), ...(manifest.replay && { replay: manifest.replay }), perDevice: manifest.perDevice }
  return digestsFor(client, runId, spec, { ...(opts.pendingDigests && { pending: opts.pendingDigests }), ...(opts.regenerateDigests && { regenerate: true }) })
}

/** P1–P3 set-based in the database (src/verify/fast.ts), or row by row when asked to (no oracle record). */
async function checkSets(client: pg.Client, runId: number, manifest: RunManifest, oracle: OracleRecord | undefined): Promise<{ perKind: Map<Kind, KindReport>; method: Record<string, unknown> }> {
  if (!oracle) return { perKind: await checkKinds(client, runId, manifest), method: { method: 'row by row (--row-by-row)' } }
  const { perKind, stats } = await checkKindsFast(client, runId, manifest, oracle.digests)
  return { perKind, method: { method: 'set-based: per-device digests in the database, then row by row for devices that differ', oracleDigests: oracle.source, ...stats } }
}

const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)))
const settle = <T>(p: Promise<T>): Promise<T | Error> => p.catch(toError)

/** The FAIL of a property whose check threw: the error is its evidence, and the other properties still stand. */
export const failedCheck = (id: PropertyId, name: string, err: unknown): PropertyResult => ({
  id, name, pass: false,
  summary: `the check itself failed: ${errorMessage(err)}`,
  evidence: { error: errorMessage(err), ...(err instanceof Error && err.stack && { stack: err.stack.split('\n').slice(0, 8).join('\n') }) },
})

/**
 * A problem with what the user gave (the run's inputs changed: exit 4) or with reaching the services (exit 5)
 * is the whole verdict's answer, not one property's.
 */
const aboutTheSetup = (err: unknown): err is ConfigError | InfraError => err instanceof ConfigError || err instanceof InfraError

/** Runs one property's check; an error inside it (from any value a server returns, say) becomes that property's FAIL. */
export async function guarded(id: PropertyId, name: string, check: () => PropertyResult | Promise<PropertyResult>): Promise<PropertyResult> {
  try {
    return await check()
  } catch (err) {
    if (aboutTheSetup(err)) throw err
    return failedCheck(id, name, err)
  }
}

/**
 * Checks P1–P9 for one run from the database (P1–P3 set-based, then streamed where needed) and the merged
 * latency histograms. Each property is judged on its own: one whose check throws fails with the error as its
 * evidence, and the others are still judged (and the run's outputs still written).
 */
export async function verifyRun(client: pg.Client, runId: number, manifest: RunManifest, latency: LatencyEvidence, slo: Slo, rates?: RateRecord, opts: VerifyOptions = {}): Promise<PropertyResult[]> {
  // One oracle record serves P1–P3 (digests) and P5 (alert expectations); --row-by-row uses neither.
  const oracle = opts.rowByRow ? undefined : await settle(oracleRecord(client, runId, manifest, opts))
  if (aboutTheSetup(oracle)) throw oracle
  const oracleOf = (): OracleRecord | undefined => {
    if (oracle instanceof Error) throw oracle
    return oracle
  }
  // P5 and P7 are mostly JavaScript, P1–P3 mostly PostgreSQL: run them side by side, on a connection of their own.
  const side = await settle(whereIs(client).then((where) => connect(where.url, where.schema, 'iotbench-verify')))
  const sideClient = (): pg.Client => {
    if (side instanceof Error) throw side
    return side
  }
  const sideChecks = (async () => [
    await guarded('P5', 'alerts', () => checkAlerts(sideClient(), runId, manifest, slo, oracleOf())),
    await guarded('P7', 'bad input', () => checkBadInput(sideClient(), runId, manifest)),
  ] as const)()
  const [sets, [p5, p7]] = await Promise.all([settle((async () => checkSets(client, runId, manifest, oracleOf()))()), sideChecks]).finally(() => {
    if (!(side instanceof Error)) void side.end().catch(() => undefined)
  })
  const properties: PropertyResult[] = []
  try {
    if (sets instanceof Error) throw sets
    properties.push(...setProperties(sets, manifest, slo))
  } catch (err) {
    if (aboutTheSetup(err)) throw err
    properties.push(failedCheck('P1', 'completeness', err), failedCheck('P2', 'integrity', err), failedCheck('P3', 'ordering', err))
  }
  properties.push(await guarded('P4', 'latency', () => checkLatency(latency, slo)), p5)
  properties.push(await guarded('P6', 'throughput', () => checkThroughput(rates, latency.scheduleLag, slo)), p7)
  if (!opts.skipDashboards) properties.push(await guarded('P8', 'dashboard data', () => checkDashboards(pgSession(client), runId, manifest, opts)))
  properties.push(await guarded('P9', 'live feed', () => checkLive(client, runId, opts.live, slo.p99Ms)))
  return properties
}

/** P1–P3 from the per-kind set and order reports. */
function setProperties({ perKind, method }: Awaited<ReturnType<typeof checkSets>>, manifest: RunManifest, slo: Slo): readonly [PropertyResult, PropertyResult, PropertyResult] {
  const sets = KIND_NAMES.map((k) => perKind.get(k)!.set)
  const orders = KIND_NAMES.map((k) => perKind.get(k)!.order)
  const c = sumCounts(sets)
  const byKind = Object.fromEntries(KIND_NAMES.map((k) => [k, perKind.get(k)!.set.counts]))
  const reproduce = `iotbench verify <run-id> (seed ${manifest.seed}, ${manifest.perDevice} readings per device)`

  const p1Pass = c.lost <= slo.maxLost && c.duplicated === 0 && c.unexpected === 0
  // The samples the evidence lists; a failing summary names the first of each.
  const lost = firstOf(sets.map((s) => s.lost))
  const duplicated = firstOf(sets.map((s) => s.duplicated))
  const unexpected = firstOf(sets.map((s) => s.unexpected))
  const corrupted = firstOf(sets.map((s) => s.corrupted))
  const reordered = firstOf(orders.map((o) => o.samples))
  const p1: PropertyResult = {
    id: 'P1',
    name: 'completeness',
    pass: p1Pass,
    summary: `${c.ok + c.recovered} of ${c.expected} stored; lost ${c.lost} (allowed ${slo.maxLost}), duplicated ${c.duplicated}, unexpected ${c.unexpected}, recovered ${c.recovered}, never acknowledged and missing ${c.unacknowledgedLost}${
      p1Pass ? '' : firstNamed([['lost', lost], ['duplicated', duplicated], ['unexpected', unexpected]])}`,
    evidence: {
      counts: c,
      byKind,
      lost,
      lostByDevice: sets.flatMap((s) => s.lostByDevice).sort((a, b) => b[1] - a[1]).slice(0, 20),
      duplicated,
      unexpected,
      checked: method,
      reproduce,
    },
  }
  const p2: PropertyResult = {
    id: 'P2',
    name: 'integrity',
    pass: c.corrupted === 0,
    summary: c.corrupted === 0 ? `every stored value equals the oracle's (${c.ok + c.recovered} readings)` : `${c.corrupted} readings differ from the oracle${firstNamed([['', corrupted]])}`,
    evidence: { corrupted: c.corrupted, samples: corrupted, reproduce },
  }
  const outOfOrder = orders.reduce((n, o) => n + o.outOfOrder, 0)
  const worst = orders.reduce((n, o) => Math.max(n, o.worstDisplacement), 0)
  const p3: PropertyResult = {
    id: 'P3',
    name: 'ordering',
    pass: outOfOrder === 0,
    summary: outOfOrder === 0 ? 'every device’s readings were received in seq order' : `${outOfOrder} readings received out of order, worst displacement ${worst} seqs${firstNamed([['', reordered]])}`,
    evidence: { outOfOrder, worstDisplacement: worst, samples: reordered, byKind: Object.fromEntries(KIND_NAMES.map((k, i) => [k, { outOfOrder: orders[i].outOfOrder, worstDisplacement: orders[i].worstDisplacement }])) },
  }
  return [p1, p2, p3]
}

function checkLatency(latency: LatencyEvidence, slo: Slo): PropertyResult {
  const e = latency.endToEnd
  const p4Pass = e.count > 0 && e.p99Ms <= slo.p99Ms
  return {
    id: 'P4',
    name: 'latency',
    pass: p4Pass,
    summary: e.count === 0 ? 'no latency was recorded' : `end-to-end p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms (SLO ≤ ${slo.p99Ms} ms), max ${e.maxMs} ms; broker hop p99 ${latency.brokerHop.p99Ms} ms`,
    evidence: { sloP99Ms: slo.p99Ms, endToEnd: e, brokerHop: latency.brokerHop, scheduleLag: latency.scheduleLag, measuredFrom: 'intended send time (open-loop schedule)', measuredTo: 'commit of the batch holding the reading' },
  }
}

async function checkAlerts(client: pg.Client, runId: number, manifest: RunManifest, slo: Slo, oracle: OracleRecord | undefined): Promise<PropertyResult> {
  const reproduce = `iotbench verify <run-id> (seed ${manifest.seed}; alerts: SELECT * FROM alerts WHERE run_id = ${runId} AND event = 'raise')`
  if (manifest.replay) return { id: 'P5', name: 'alerts', pass: true, summary: 'not checked: a replayed trace has no injected anomalies', evidence: { reproduce } }
  const rows = await client.query<{ id: string; device: string; rule: string; seq: number; sent: string; raised: string }>(
    `SELECT id, device, rule, seq, (extract(epoch FROM sent) * 1000)::float8 AS sent, (extract(epoch FROM raised_at) * 1000)::float8 AS raised FROM alerts WHERE run_id = $1 AND event = 'raise'`,
    [runId],
  )
  const alerts: StoredAlert[] = rows.rows.map((r) => ({ id: Number(r.id), device: r.device, rule: r.rule, seq: r.seq, sentMs: Number(r.sent), raisedMs: Number(r.raised) }))
  const rules = alertRulesOf(manifest.models ?? defaultSensorModels())
  const expectations = new Map<string, DeviceExpectations>()
  for (const [device, d] of oracle?.digests ?? []) if (d.alerts) expectations.set(device, d.alerts)
  const rep = new AlertChecker(manifest, rules, undefined, expectations).check(alerts)
  const c = rep.counts
  const recall = c.detectable === 0 ? 1 : c.ok / c.detectable
  const precision = c.raised === 0 ? 1 : c.mapped / c.raised
  const delayMs = percentiles(rep.delaysMs.map((x) => Math.round(x * 1000) / 1000))
  const pass = recall >= slo.alertRecall && precision >= slo.alertPrecision && delayMs.p99 <= slo.detectionP99Ms
  const r3 = (x: number): number => Math.round(x * 1000) / 1000
  return {
    id: 'P5',
    name: 'alerts',
    pass,
    summary: `${c.ok} of ${c.detectable} detectable injected anomalies alerted in time (recall ${r3(recall)}, SLO ≥ ${slo.alertRecall}); ${c.mapped} of ${c.raised} alerts map to one (precision ${r3(precision)}, SLO ≥ ${slo.alertPrecision}); missed ${c.missed}, late ${c.late}, spurious ${c.spurious}, undetectable ${c.undetectable}; detection p99 ${delayMs.p99} ms (SLO ≤ ${slo.detectionP99Ms} ms)${
      pass ? '' : firstNamed([['missed', rep.missed], ['late', rep.late], ['spurious', rep.spurious]])}`,
    evidence: {
      counts: c, recall: r3(recall), precision: r3(precision), byRule: rep.byRule,
      missed: rep.missed, late: rep.late, spurious: rep.spurious, undetectable: rep.undetectable,
      detectionDelayReadings: percentiles(rep.delaysReadings), detectionDelayMs: delayMs,
      rules: Object.fromEntries(KIND_NAMES.map((k) => [k, rules[k].map((r) => ({ name: r.name, anomaly: r.rule.anomaly, maxDelayReadings: r.rule.maxDelayReadings }))])),
      expectations: expectations.size > 0 && oracle ? `${oracle.source} (${expectations.size} devices)` : 'computed from the oracle while checking',
      reproduce,
    },
  }
}

function checkThroughput(rates: RateRecord | undefined, scheduleLag: LatencySummary, slo: Slo): PropertyResult {
  // Only a run stored before P6 existed has no timeline (a run records one even when its load fails).
  if (!rates) return { id: 'P6', name: 'throughput', pass: true, summary: 'not checked: this run predates the rate timeline (runs.rates)', evidence: {} }
  const v = checkRates(rates, scheduleLag, slo.rateTolerance, slo.maxScheduleLagMs, slo.p99Ms)
  return { id: 'P6', name: 'throughput', pass: v.pass, summary: v.summary, evidence: v.evidence }
}

async function checkBadInput(client: pg.Client, runId: number, manifest: RunManifest): Promise<PropertyResult> {
  const r = (await checkDeadLetters(client, runId, manifest)) as DeadLetterReport & { validRejectedCount: number; wrongReasonCount: number; missingCount: number }
  const pass = r.missingCount === 0 && r.wrongReasonCount === 0 && r.validRejectedCount === 0
  return {
    id: 'P7',
    name: 'bad input',
    pass,
    summary: `${r.found - r.wrongReasonCount} of ${r.injected} injected malformed messages in dead_letters with their reason; missing ${r.missingCount}, wrong reason ${r.wrongReasonCount}, valid readings rejected ${r.validRejectedCount}${r.foreign ? `, ${r.foreign} other dead letters (not this run's)` : ''}`,
    evidence: { ...r, reproduce: `SELECT reason, count(*) FROM dead_letters WHERE run_id = ${runId} GROUP BY reason` },
  }
}
