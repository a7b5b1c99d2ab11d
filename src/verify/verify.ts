import type pg from 'pg'
import { ConfigError, InfraError, errorMessage } from '../errors.js'
import { KINDS, KIND_NAMES, type FieldValue, type Kind } from '../kinds.js'
import type { LatencySummary } from '../util/histogram.js'
import { SetChecker, type DeviceRange, type SetReport } from './completeness.js'
import { checkKinds, whereIs, type KindReport } from './parallel.js'
import { connect } from '../db/connect.js'
import { checkKindsFast } from './fast.js'
import { digestsFor, type PendingDigests } from './oracle-digests.js'
import { contextOf } from '../sim/oracle.js'
import { OrderChecker, type OrderReport } from './ordering.js'
import { copyRowBatches } from '../db/copy-rows.js'
import type { PropertyId, PropertyResult, RunManifest } from './types.js'
import { alertRulesOf } from '../alerts/rules.js'
import { defaultSensorModels } from '../sim/models.js'
import { AlertChecker, type DeviceExpectations, type StoredAlert } from './alerts.js'
import { alertsProperty, badInputProperty, latencyProperty, setProperties, type LatencyEvidence, type Slo } from './verdicts.js'
import { checkDeadLetters, type DeadLetterReport } from './dead-letters.js'
import { checkRates, type RateRecord } from './rates.js'
import { checkDashboards, type DashboardCheckOptions } from './dashboards.js'
import { pgSession } from '../db/migrate.js'
import { checkLive } from '../live/verify-live.js'
import type { LiveEvidence } from '../live/run-live.js'

export { sloOf, type LatencyEvidence, type Slo } from './verdicts.js'

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
  properties.push(await guarded('P4', 'latency', () => latencyProperty(latency, slo)), p5)
  properties.push(await guarded('P6', 'throughput', () => checkThroughput(rates, latency.scheduleLag, slo)), p7)
  if (!opts.skipDashboards) properties.push(await guarded('P8', 'dashboard data', () => checkDashboards(pgSession(client), runId, manifest, opts)))
  properties.push(await guarded('P9', 'live feed', () => checkLive(client, runId, opts.live, slo.p99Ms)))
  return properties
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
  const rulesOf = Object.fromEntries(KIND_NAMES.map((k) => [k, rules[k].map((r) => ({ name: r.name, anomaly: r.rule.anomaly, maxDelayReadings: r.rule.maxDelayReadings }))]))
  const source = expectations.size > 0 && oracle ? `${oracle.source} (${expectations.size} devices)` : 'computed from the oracle while checking'
  return alertsProperty(rep, slo, { rules: rulesOf, expectations: source, reproduce })
}

function checkThroughput(rates: RateRecord | undefined, scheduleLag: LatencySummary, slo: Slo): PropertyResult {
  // Only a run stored before P6 existed has no timeline (a run records one even when its load fails).
  if (!rates) return { id: 'P6', name: 'throughput', pass: true, summary: 'not checked: this run predates the rate timeline (runs.rates)', evidence: {} }
  const v = checkRates(rates, scheduleLag, slo.rateTolerance, slo.maxScheduleLagMs, slo.p99Ms)
  return { id: 'P6', name: 'throughput', pass: v.pass, summary: v.summary, evidence: v.evidence }
}

async function checkBadInput(client: pg.Client, runId: number, manifest: RunManifest): Promise<PropertyResult> {
  const r = (await checkDeadLetters(client, runId, manifest)) as DeadLetterReport & { validRejectedCount: number; wrongReasonCount: number; missingCount: number }
  return badInputProperty(r, runId)
}
