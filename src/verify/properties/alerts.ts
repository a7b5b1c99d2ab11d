import type pg from 'pg'
import { alertRulesOf } from '../../alerts/rules.js'
import { KIND_NAMES } from '../../kinds.js'
import { defaultSensorModels } from '../../sim/models.js'
import { AlertChecker, type DeviceExpectations, type StoredAlert } from '../alerts.js'
import type { digestsFor } from '../oracle-digests.js'
import type { Slo } from '../slo.js'
import type { PropertyResult, RunManifest } from '../types.js'
import { alertsProperty } from '../verdicts.js'
import { notApplicable, type Property } from './types.js'

/** The run's oracle record: per-device digests and alert expectations (src/verify/oracle-digests.ts). */
export type OracleRecord = Awaited<ReturnType<typeof digestsFor>>

export async function checkAlerts(
  client: pg.Client,
  runId: number,
  manifest: RunManifest,
  slo: Slo,
  oracle: OracleRecord | undefined,
): Promise<PropertyResult> {
  const reproduce = `iotbench verify <run-id> (seed ${manifest.seed}; alerts: SELECT * FROM alerts WHERE run_id = ${runId} AND event = 'raise')`
  if (manifest.replay) return notApplicable({ id: 'P5', name: 'alerts' }, 'a replayed trace has no injected anomalies')
  const rows = await client.query<{ id: string; device: string; rule: string; seq: number; sent: string; raised: string }>(
    `SELECT id, device, rule, seq, (extract(epoch FROM sent) * 1000)::float8 AS sent, (extract(epoch FROM raised_at) * 1000)::float8 AS raised FROM alerts WHERE run_id = $1 AND event = 'raise'`,
    [runId],
  )
  const alerts: StoredAlert[] = rows.rows.map((r) => ({
    id: Number(r.id),
    device: r.device,
    rule: r.rule,
    seq: r.seq,
    sentMs: Number(r.sent),
    raisedMs: Number(r.raised),
  }))
  const rules = alertRulesOf(manifest.models ?? defaultSensorModels())
  const expectations = new Map<string, DeviceExpectations>()
  for (const [device, d] of oracle?.digests ?? []) if (d.alerts) expectations.set(device, d.alerts)
  const rep = new AlertChecker(manifest, rules, undefined, expectations).check(alerts)
  const rulesOf = Object.fromEntries(
    KIND_NAMES.map((k) => [k, rules[k].map((r) => ({ name: r.name, anomaly: r.rule.anomaly, maxDelayReadings: r.rule.maxDelayReadings }))]),
  )
  const source =
    expectations.size > 0 && oracle ? `${oracle.source} (${expectations.size} devices)` : 'computed from the oracle while checking'
  return alertsProperty(rep, slo, { rules: rulesOf, expectations: source, reproduce })
}

/** P5 alerts: every injected anomaly alerted in time (recall), every alert maps to one (precision). */
export const alerts: Property = {
  id: 'P5',
  name: 'alerts',
  lane: 'side',
  check: (ctx) => checkAlerts(ctx.sideClient(), ctx.runId, ctx.manifest, ctx.slo, ctx.oracle()),
}
