import { startEmbeddedBroker } from './broker/embedded.js'
import type { RunConfig } from './config/options.js'
import { redactUrl } from './util/redact.js'
import type pg from 'pg'
import { connect } from './db/connect.js'
import { startEmbeddedDatabase } from './db/embedded.js'
import type { MetricsSink } from './metrics/thread-metrics.js'
import { withDatabaseCa } from './db/tls.js'
import { checkBroker, discardSessions, mqttSecurityOf, type MqttSecurity, type MqttSecurityConfig } from './transport/mqtt-options.js'

export interface Service {
  readonly url: string
  /** What ran, for the verdict (the broker's name matters: aedes is not a broker to trust with loss figures). */
  readonly description: string
  stop(): Promise<void>
  /** A fault (src/faults/): stop the service, wait `downMs`, start it again on the same address. Embedded services only. */
  restart?(downMs: number): Promise<void>
}

const noop = async (): Promise<void> => undefined

/** The database of a run: the one named by --database-url, or the embedded PostgreSQL. */
export async function openDatabase(
  cfg: Pick<RunConfig, 'databaseUrl' | 'embeddedDir' | 'embeddedPgPort'> & { readonly databaseCa?: string | undefined },
  log: (line: string) => void,
): Promise<Service> {
  // Every connection of the run (main, ingest workers, verifier threads) uses this one URL, TLS settings included.
  if (cfg.databaseUrl) return { url: withDatabaseCa(cfg.databaseUrl, cfg.databaseCa), description: redactUrl(cfg.databaseUrl), stop: noop }
  log(`starting the embedded PostgreSQL (data folder ${cfg.embeddedDir}, port ${cfg.embeddedPgPort} when free)`)
  const db = await startEmbeddedDatabase(cfg.embeddedDir, cfg.embeddedPgPort, log)
  log(`embedded PostgreSQL ready on 127.0.0.1:${db.port} (data folder ${db.dataDir})`)
  return { url: db.url, description: `embedded PostgreSQL (${db.dataDir})`, stop: () => db.stop(), restart: (downMs) => db.restart(downMs) }
}

/** A broker and how every client of the run connects to it (credentials, TLS). */
export interface BrokerService extends Service {
  readonly security: MqttSecurity
  /**
   * Client ids of the run's persistent sessions. On a broker the run does not own, stop() removes them
   * (passed, failed or interrupted), so a later run's traffic is queued for nobody else.
   */
  readonly sessions: Set<string>
}

/**
 * The broker of a run: the one named by --mqtt-url (checked once with the run's credentials and TLS,
 * so a wrong password or an untrusted certificate is one clear error), or aedes in its own thread on 127.0.0.1.
 */
export async function openBroker(cfg: MqttSecurityConfig, log: (line: string) => void, sink?: MetricsSink): Promise<BrokerService> {
  if (cfg.mqttUrl) {
    const security = mqttSecurityOf(cfg)
    await checkBroker(cfg.mqttUrl, security)
    const sessions = new Set<string>()
    const url = cfg.mqttUrl
    const stop = async (): Promise<void> => {
      const failed = await discardSessions(url, security, sessions)
      if (failed.length)
        log(
          `${failed.length} of ${sessions.size} MQTT sessions of this run may remain on ${redactUrl(url)}: ${failed.slice(0, 3).join('; ')}`,
        )
    }
    return { url, description: redactUrl(url), security, sessions, stop }
  }
  let b = await startEmbeddedBroker(0, '127.0.0.1', sink)
  log(`embedded aedes broker on ${b.url} (zero-install default: use a real broker such as Mosquitto for loss figures at high rates)`)
  const restart = async (downMs: number): Promise<void> => {
    await b.stop()
    await new Promise((r) => setTimeout(r, downMs))
    b = await startEmbeddedBroker(b.port, '127.0.0.1', sink)
  }
  // The embedded broker's sessions end with it.
  return { url: b.url, description: `embedded aedes 1.2 (${b.url})`, security: {}, sessions: new Set(), stop: () => b.stop(), restart }
}

/** Runs `fn` with a client on the configured database (embedded or not), then closes everything. */
export async function withDatabase<T>(
  cfg: RunConfig,
  fn: (client: pg.Client) => Promise<T>,
  log: (line: string) => void = () => undefined,
): Promise<T> {
  const database = await openDatabase(cfg, log)
  try {
    const client = await connect(database.url, cfg.dbSchema, 'iotbench-cli')
    try {
      return await fn(client)
    } finally {
      await client.end()
    }
  } finally {
    await database.stop()
  }
}
