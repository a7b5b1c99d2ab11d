import { join } from 'node:path'
import type pg from 'pg'
import type { RunConfig } from '../config/options.js'
import { ConfigError } from '../errors.js'
import { withDatabase } from '../infra.js'
import { redactUrl } from '../util/redact.js'
import { publish, VERIFY_OUTPUTS, type VerifyRecord } from '../report/outputs.js'
import { initHistograms } from '../util/histogram.js'
import type { PropertyId, RunManifest } from './types.js'
import { markNotApplicable } from './status.js'
import type { VerifyOptions } from './verify.js'
import { judge } from './judge.js'
import { sloOf } from './slo.js'
import { migrate, pgSession } from '../db/migrate.js'
import type { RateRecord } from './rates.js'
import { loadLive, type StoredLive } from '../live/run-live.js'
import { textOf } from '../util/text.js'

interface StoredEvidence {
  readonly manifest: RunManifest
  readonly histograms: { readonly endToEnd: string[]; readonly brokerHop: string[]; readonly scheduleLag: string[] }
  readonly live?: StoredLive
  /** Properties the run's ingest gave no data for (an external ingest's sink map), with the reason. */
  readonly notApplicable?: Readonly<Partial<Record<PropertyId, string>>>
}

/** A run's row as a re-verify reads it. */
interface StoredRun {
  readonly id: number
  readonly profile: string
  readonly storage: string
  readonly config: Record<string, unknown>
  readonly evidence: StoredEvidence | null
  readonly rates: RateRecord | null
}

export interface VerifyOutcome {
  readonly result: VerifyRecord
  readonly summary: string
  /** verify.json */
  readonly file: string
}

/** What a re-verify takes from the run's configuration. */
export type StoredConfig = Pick<RunConfig, 'dbSchema' | 'storage' | 'dashboards' | 'databaseUrl' | 'resultsDir'>

/** `iotbench verify <run>`: the verdict again, from what the database holds for that run; verify.json and junit.xml under <results-dir>/<run>/. */
export async function verifyStored(
  cfg: RunConfig,
  runName: string,
  log: (line: string) => void,
  opts: VerifyOptions = {},
): Promise<VerifyOutcome> {
  await initHistograms()
  return withDatabase(cfg, (client) => verifyStoredOn(client, cfg, runName, opts), log)
}

/** verifyStored on an open connection; `judgeRun` is judge() (a test passes one that records what it is given). */
export async function verifyStoredOn(
  client: pg.Client,
  cfg: StoredConfig,
  runName: string,
  opts: VerifyOptions = {},
  judgeRun: typeof judge = judge,
): Promise<VerifyOutcome> {
  // Runs stored before the alerts migration still verify: the migrations are idempotent.
  await migrate(pgSession(client), cfg.dbSchema, { storage: cfg.storage })
  const found = await client
    .query<StoredRun>('SELECT id, profile, storage, config, evidence, rates FROM runs WHERE name = $1', [runName])
    .catch((err: Error) => {
      throw new ConfigError([`cannot read runs in schema ${cfg.dbSchema}: ${err.message}`])
    })
  const row = found.rows[0]
  if (!row) {
    const recent = await client.query<{ name: string }>('SELECT name FROM runs ORDER BY id DESC LIMIT 5')
    throw new ConfigError([
      `no run named "${runName}" in schema ${cfg.dbSchema} (latest: ${recent.rows.map((r) => r.name).join(', ') || 'none'})`,
    ])
  }
  const evidence = row.evidence
  if (!evidence) throw new ConfigError([`run "${runName}" never finished its load phase: nothing to verify`])
  const { manifest, histograms } = evidence
  const judged = await judgeRun({
    client,
    dbRunId: row.id,
    manifest,
    histograms: { endToEnd: histograms.endToEnd, brokerHop: histograms.brokerHop, scheduleLag: histograms.scheduleLag },
    slo: sloOf(row.config),
    rates: row.rates ?? undefined,
    verify: { ...opts, dashboardsDir: cfg.dashboards, live: loadLive(evidence.live) },
    record: false,
    // What the run's external ingest gave no data for stays not applicable (src/external/).
    amend: (properties) => markNotApplicable(properties, evidence.notApplicable ?? {}),
  })
  const record: VerifyRecord = {
    runId: runName,
    profile: row.profile,
    verdict: judged.verdict,
    storage: row.storage,
    properties: judged.properties,
  }
  const environment = {
    broker: textOf(row.config.mqttUrl ?? 'embedded aedes'),
    database: cfg.databaseUrl ? redactUrl(cfg.databaseUrl) : 'embedded PostgreSQL',
    storage: row.storage,
  }
  const made = publish({ kind: 'verify', record, environment }, join(cfg.resultsDir, runName), VERIFY_OUTPUTS)
  return { result: record, summary: made.summary, file: made.verify }
}
