import type pg from 'pg'
import { ConfigError, InfraError, errorMessage } from '../errors.js'
import { checkKinds, whereIs } from './parallel.js'
import { connect } from '../db/connect.js'
import { checkKindsFast } from './fast.js'
import { digestsFor } from './oracle-digests.js'
import { contextOf } from '../sim/oracle.js'
import type { PropertyId, PropertyResult, RunManifest } from './types.js'
import type { RateRecord } from './rates.js'
import type { LatencyEvidence, Slo } from './slo.js'
import type { SetsReport } from './properties/sets.js'
import type { OracleRecord } from './properties/alerts.js'
import { PROPERTIES, type JudgeContext, type Property, type PropertyOutcome, type VerifyOptions } from './properties/index.js'

export { sloOf, type LatencyEvidence, type Slo } from './slo.js'
export type { VerifyOptions } from './properties/index.js'
export { checkKind } from './check-kind.js'

/** The run's oracle record (digests and alert expectations): computed during the run, stored with it, or regenerated now. */
async function oracleRecord(client: pg.Client, runId: number, manifest: RunManifest, opts: VerifyOptions): Promise<OracleRecord> {
  const spec = { ...contextOf(manifest), ...(manifest.replay && { replay: manifest.replay }), perDevice: manifest.perDevice }
  return digestsFor(client, runId, spec, {
    ...(opts.pendingDigests && { pending: opts.pendingDigests }),
    ...(opts.regenerateDigests && { regenerate: true }),
  })
}

/** P1–P3 set-based in the database (src/verify/fast.ts), or row by row when asked to (no oracle record). */
async function checkSets(client: pg.Client, runId: number, manifest: RunManifest, oracle: OracleRecord | undefined): Promise<SetsReport> {
  if (!oracle) return { perKind: await checkKinds(client, runId, manifest), method: { method: 'row by row (--row-by-row)' } }
  const { perKind, stats } = await checkKindsFast(client, runId, manifest, oracle.digests)
  return {
    perKind,
    method: {
      method: 'set-based: per-device digests in the database, then row by row for devices that differ',
      oracleDigests: oracle.source,
      ...stats,
    },
  }
}

const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)))
const settle = <T>(p: Promise<T>): Promise<T | Error> => p.catch(toError)

/** The FAIL of a property whose check threw: the error is its evidence, and the other properties still stand. */
export const failedCheck = (id: PropertyId, name: string, err: unknown): PropertyResult => ({
  id,
  name,
  pass: false,
  summary: `the check itself failed: ${errorMessage(err)}`,
  evidence: { error: errorMessage(err), ...(err instanceof Error && err.stack && { stack: err.stack.split('\n').slice(0, 8).join('\n') }) },
})

/**
 * A problem with what the user gave (the run's inputs changed: exit 4) or with reaching the services (exit 5)
 * is the whole verdict's answer, not one property's.
 */
const aboutTheSetup = (err: unknown): err is ConfigError | InfraError => err instanceof ConfigError || err instanceof InfraError

/** Runs one property's check; an error inside it (from any value a server returns, say) becomes that property's FAIL. */
export async function guarded<T extends PropertyResult | undefined>(
  id: PropertyId,
  name: string,
  check: () => T | Promise<T>,
): Promise<T | PropertyResult> {
  try {
    return await check()
  } catch (err) {
    if (aboutTheSetup(err)) throw err
    return failedCheck(id, name, err)
  }
}

/** Runs the properties of one lane in order, each guarded; a setup error ends the lane (and the verdict). */
async function runLane(properties: readonly Property[], ctx: JudgeContext): Promise<Map<Property, PropertyOutcome | undefined>> {
  const out = new Map<Property, PropertyOutcome | undefined>()
  for (const p of properties) out.set(p, await guarded(p.id, p.name, () => p.check(ctx)))
  return out
}

/**
 * Checks the registered properties (src/verify/properties/: P1–P9, S1) for one run from the database (P1–P3
 * set-based, then streamed where needed) and the merged latency histograms. Each property is judged on its own:
 * one whose check throws fails with the error as its evidence, and the others are still judged (and the run's
 * outputs still written).
 */
export async function verifyRun(
  client: pg.Client,
  runId: number,
  manifest: RunManifest,
  latency: LatencyEvidence,
  slo: Slo,
  rates?: RateRecord,
  opts: VerifyOptions = {},
  properties: readonly Property[] = PROPERTIES,
): Promise<PropertyOutcome[]> {
  // One oracle record serves P1–P3 (digests) and P5 (alert expectations); --row-by-row uses neither.
  const oracle = opts.rowByRow ? undefined : await settle(oracleRecord(client, runId, manifest, opts))
  if (aboutTheSetup(oracle)) throw oracle
  const oracleOf = (): OracleRecord | undefined => {
    if (oracle instanceof Error) throw oracle
    return oracle
  }
  // The side lane's properties are mostly JavaScript, P1–P3 mostly PostgreSQL: they run side by side, on a connection of their own.
  const side = await settle(whereIs(client).then((where) => connect(where.url, where.schema, 'iotbench-verify')))
  let sets: Promise<SetsReport> | undefined
  const ctx: JudgeContext = {
    runId,
    manifest,
    latency,
    slo,
    rates,
    opts,
    client,
    sideClient: () => {
      if (side instanceof Error) throw side
      return side
    },
    oracle: oracleOf,
    sets: () => (sets ??= checkSets(client, runId, manifest, oracleOf())),
  }
  const lanes = await Promise.allSettled([
    runLane(
      properties.filter((p) => p.lane === 'main'),
      ctx,
    ),
    runLane(
      properties.filter((p) => p.lane === 'side'),
      ctx,
    ),
  ]).finally(() => {
    if (!(side instanceof Error)) void side.end().catch(() => undefined)
  })
  const results = new Map<Property, PropertyOutcome | undefined>()
  for (const lane of lanes) {
    if (lane.status === 'rejected') throw lane.reason
    for (const [p, r] of lane.value) results.set(p, r)
  }
  return properties.flatMap((p) => results.get(p) ?? [])
}
