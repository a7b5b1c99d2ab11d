import type { ExternalSlice } from '../config/slices.js'
import type { BrokerService, Service } from '../infra.js'
import { KINDS } from '../kinds.js'
import { startExternalIngest, type ExternalIngest } from './ingest.js'
import { loadSinkMap } from './sink-map.js'
import { mappedSink, ownSink } from './sink.js'

export interface ExternalRun {
  readonly runId: string
  readonly dbRunId: number
  readonly simStartMs: number
}

/** The broker as host:port for clients that want tcp:// or ssl:// (Telegraf's `servers`). */
export const mqttServerOf = (url: string): string => {
  const u = new URL(url)
  return `${['mqtts:', 'ssl:', 'tls:'].includes(u.protocol) ? 'ssl' : 'tcp'}://${u.hostname}:${u.port || (u.protocol === 'mqtt:' || u.protocol === 'tcp:' ? 1883 : 8883)}`
}

/** --ingest external: the external ingest started (or found running), ready, and watched. */
export async function openExternalIngest(
  cfg: ExternalSlice,
  run: ExternalRun,
  database: Service,
  broker: BrokerService,
  log: (line: string) => void,
): Promise<ExternalIngest> {
  const probeDevice = `iotbench-probe-${run.dbRunId}`
  const values = Object.fromEntries(KINDS.collar.fields.map((f) => [f.name, 0]))
  const sinkRun = { dbRunId: run.dbRunId, probeDevice }
  const map = cfg.sinkMap === undefined ? undefined : loadSinkMap(cfg.sinkMap)
  // A client id for the ingest's persistent session, removed from the broker when the run ends (as the
  // run's own sessions are), so later runs' telemetry is not queued for a session nobody resumes.
  const clientId = `iotbench-${run.runId}-external`
  broker.sessions.add(clientId)
  log(`ingest external: ${map ? `storing where ${cfg.sinkMap} says` : 'writing iotbench’s own tables'}; readiness probe ${probeDevice}`)
  return startExternalIngest(
    {
      command: cfg.command,
      env: {
        IOTBENCH_RUN_ID: run.runId,
        IOTBENCH_DB_RUN_ID: String(run.dbRunId),
        IOTBENCH_MQTT_URL: broker.url,
        IOTBENCH_MQTT_SERVER: mqttServerOf(broker.url),
        IOTBENCH_MQTT_CLIENT_ID: clientId,
        IOTBENCH_DATABASE_URL: database.url,
        IOTBENCH_DB_SCHEMA: cfg.dbSchema,
        IOTBENCH_TOPIC_PREFIX: cfg.topicPrefix,
      },
      databaseUrl: database.url,
      dbSchema: cfg.dbSchema,
      dbRunId: run.dbRunId,
      mqttUrl: broker.url,
      mqttSecurity: broker.security,
      probe: {
        clientId: `iotbench-${run.runId}-probe`,
        topic: `${cfg.topicPrefix}farm/probe/collar/${probeDevice}/telemetry`,
        payload: JSON.stringify({ device: probeDevice, kind: 'collar', seq: 0, ts: run.simStartMs, sent: Date.now(), values }),
      },
      readyTimeoutMs: cfg.readyTimeoutMs,
      quietMs: cfg.quietMs,
    },
    (client) => (map ? mappedSink(client, map, sinkRun) : Promise.resolve(ownSink(sinkRun))),
    log,
  )
}
