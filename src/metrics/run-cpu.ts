import type { RunConfig } from '../config/options.js'
import type pg from 'pg'
import { connect } from '../db/connect.js'
import { errorMessage } from '../errors.js'
import { CpuMeter } from './cpu.js'
import { linuxProc, ownPortsTo, type ProcReader } from './proc.js'

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/** Host and port of a URL, when it names a TCP host of this machine (a loopback address). */
export function localPort(url: string, defaultPort: number): number | undefined {
  try {
    const u = new URL(url)
    if (!LOCAL_HOSTS.has(u.hostname) && !u.hostname.startsWith('127.')) return undefined
    return u.port ? Number(u.port) : defaultPort
  } catch {
    return undefined
  }
}

const MQTT_DEFAULT_PORT: Readonly<Record<string, number>> = {
  'mqtt:': 1883,
  'tcp:': 1883,
  'mqtts:': 8883,
  'ssl:': 8883,
  'ws:': 80,
  'wss:': 443,
}

/**
 * The CPU meter of one run: this process's threads, the broker's process when it listens on this
 * host, the run's own database backends when the server is on this host. What cannot be seen is
 * "not measured", with the reason, never a guess. `close()` stops it and its pg_stat_activity client.
 */
export async function startRunCpu(
  cfg: Pick<RunConfig, 'mqttUrl' | 'dbSchema' | 'transport' | 'ingest'>,
  databaseUrl: string,
  proc: ProcReader = linuxProc,
): Promise<{ readonly meter: CpuMeter; close(): Promise<void> }> {
  const meter = new CpuMeter(proc).start()
  if (cfg.mqttUrl !== undefined) {
    const port = localPort(cfg.mqttUrl, MQTT_DEFAULT_PORT[new URL(cfg.mqttUrl).protocol] ?? 1883)
    if (port === undefined) meter.notMeasured('broker', 'not measured: the broker is not on this host')
    else if (!meter.watchListener('broker', port))
      meter.notMeasured('broker', `not measured: no process of this host that this user can see listens on port ${port}`)
  }
  // Whoever writes the readings holds the database connections that matter: not this process's to see.
  const writer =
    cfg.ingest === 'external'
      ? 'an external ingest'
      : cfg.transport === 'kafka'
        ? 'the Kafka consumers run as processes of their own'
        : undefined
  if (writer !== undefined) {
    meter.notMeasured('ingest', `not measured: ${writer}`)
    meter.notMeasured('database', `not measured: ${writer}, with the connections that write`)
  }
  if (writer !== undefined) return { meter, close: async () => meter.stop() }
  const dbPort = localPort(databaseUrl, 5432)
  if (dbPort === undefined) {
    meter.notMeasured('database', 'not measured: the database is not on this host (or is reached by a Unix socket)')
    return { meter, close: async () => meter.stop() }
  }
  let client: pg.Client
  try {
    client = await connect(databaseUrl, cfg.dbSchema, 'iotbench-cpu')
  } catch (err) {
    // The run's own connection says what is wrong with the database; the meter only loses its figure.
    meter.notMeasured('database', `not measured: ${errorMessage(err)}`)
    return { meter, close: async () => meter.stop() }
  }
  meter.watchDatabase(
    () => ownPortsTo(proc, dbPort),
    async (ports) =>
      (
        await client.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[]) AND pid <> pg_backend_pid()',
          [ports],
        )
      ).rows.map((r) => r.pid),
  )
  return {
    meter,
    close: async () => {
      meter.stop()
      await client.end().catch(() => undefined)
    },
  }
}
