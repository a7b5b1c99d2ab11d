// What the small external ingests of the tests share: the run's variables, a database connection on the
// run's schema, one INSERT at a time in arrival order, a QoS 1 subscription to the run's telemetry, and
// SIGTERM ending the process once every write is done.
import mqtt from 'mqtt'
import pg from 'pg'

export interface TestIngest {
  readonly db: pg.Client
  /** A variable the run gives its ingest (docs/external-ingest.md); unset is an error. */
  env(name: string): string
  /** Queues a statement after the ones before it. */
  write(sql: string, params: unknown[]): void
}

/** Runs a test ingest named `name`: `setup` prepares its tables and returns its message handler. */
export async function runTestIngest(
  name: string,
  setup: (t: TestIngest) => Promise<(topic: string, payload: Buffer) => void>,
): Promise<void> {
  const env = (v: string): string => {
    const value = process.env[v]
    if (value === undefined) throw new Error(`${v} is not set`)
    return value
  }
  const db = new pg.Client({ connectionString: env('IOTBENCH_DATABASE_URL'), options: `-c search_path=${env('IOTBENCH_DB_SCHEMA')}` })
  await db.connect()
  let chain: Promise<unknown> = Promise.resolve()
  const onMessage = await setup({
    db,
    env,
    write: (sql, params) => {
      chain = chain.then(() => db.query(sql, params))
    },
  })
  const client = await mqtt.connectAsync(env('IOTBENCH_MQTT_URL'), {
    clientId: `${name}-${env('IOTBENCH_DB_RUN_ID')}`,
    clean: true,
    protocolVersion: 4,
  })
  client.on('message', onMessage)
  await client.subscribeAsync(`${env('IOTBENCH_TOPIC_PREFIX')}farm/+/+/+/telemetry`, { qos: 1 })
  process.stderr.write(`${name}: subscribed\n`)
  process.on('SIGTERM', () => void chain.finally(() => process.exit(0)))
}
