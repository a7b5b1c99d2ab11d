import type { RunConfig } from '../config/options.js'
import { ConfigError } from '../errors.js'
import { withDatabase } from '../infra.js'
import { redactUrl } from '../config/resolve.js'
import { summaryText } from '../report/result.js'
import { initHistograms, summarizeEncoded } from '../util/histogram.js'
import type { PropertyResult, RunManifest } from './types.js'
import { verifyRun } from './verify.js'

interface StoredEvidence {
  readonly manifest: RunManifest
  readonly histograms: { readonly endToEnd: string[]; readonly brokerHop: string[]; readonly scheduleLag: string[] }
}

export interface VerifyOutcome {
  readonly result: { runId: string; profile: string; verdict: 'pass' | 'fail'; storage: string; properties: PropertyResult[] }
  readonly summary: string
}

/** `iotbench verify <run>`: the verdict again, from what the database holds for that run. */
export async function verifyStored(cfg: RunConfig, runName: string, log: (line: string) => void): Promise<VerifyOutcome> {
  await initHistograms()
  return withDatabase(
    cfg,
    async (client) => {
      const found = await client
        .query<{ id: number; profile: string; storage: string; config: Record<string, unknown>; evidence: StoredEvidence | null }>(
          'SELECT id, profile, storage, config, evidence FROM runs WHERE name = $1',
          [runName],
        )
        .catch((err: Error) => {
          throw new ConfigError([`cannot read runs in schema ${cfg.dbSchema}: ${err.message}`])
        })
      const row = found.rows[0]
      if (!row) {
        const recent = await client.query<{ name: string }>('SELECT name FROM runs ORDER BY id DESC LIMIT 5')
        throw new ConfigError([`no run named "${runName}" in schema ${cfg.dbSchema} (latest: ${recent.rows.map((r) => r.name).join(', ') || 'none'})`])
      }
      if (!row.evidence) throw new ConfigError([`run "${runName}" never finished its load phase: nothing to verify`])
      const { manifest, histograms } = row.evidence
      const latency = {
        endToEnd: summarizeEncoded(histograms.endToEnd),
        brokerHop: summarizeEncoded(histograms.brokerHop),
        scheduleLag: summarizeEncoded(histograms.scheduleLag),
      }
      const slo = { p99Ms: Number(row.config.sloP99Ms), maxLost: Number(row.config.sloMaxLost) }
      const properties = await verifyRun(client, row.id, manifest, latency, slo)
      const verdict = properties.every((p) => p.pass) ? 'pass' : 'fail'
      const environment = { broker: String(row.config.mqttUrl ?? 'embedded aedes'), database: cfg.databaseUrl ? redactUrl(cfg.databaseUrl) : 'embedded PostgreSQL', storage: row.storage }
      return {
        result: { runId: runName, profile: row.profile, verdict, storage: row.storage, properties },
        summary: summaryText({ runId: runName, profile: row.profile, verdict, properties, environment }),
      }
    },
    log,
  )
}
