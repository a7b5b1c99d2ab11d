// A deliberately small external ingest for the tests of `--ingest external` without a sink map: it
// subscribes to the run's telemetry (QoS 1) and INSERTs each reading, one at a time, into iotbench's own
// tables with the run id it is given (IOTBENCH_DB_RUN_ID). No alerts, no dead letters: the verdict must
// judge those properties as failing or holding, never skip them.
import mqtt from 'mqtt'
import pg from 'pg'
import { KINDS, type Kind } from '../../src/kinds.js'

// node --test runs every file under dist/test/, this one too: without the run's variables it does nothing.
if (process.env['IOTBENCH_DB_RUN_ID'] !== undefined) await ingest()

async function ingest(): Promise<void> {
  const env = (name: string): string => {
    const v = process.env[name]
    if (v === undefined) throw new Error(`${name} is not set`)
    return v
  }
  const runId = Number(env('IOTBENCH_DB_RUN_ID'))
  const db = new pg.Client({ connectionString: env('IOTBENCH_DATABASE_URL'), options: `-c search_path=${env('IOTBENCH_DB_SCHEMA')}` })
  await db.connect()
  let rx = 0
  let chain: Promise<unknown> = Promise.resolve()
  const client = await mqtt.connectAsync(env('IOTBENCH_MQTT_URL'), { clientId: `own-schema-ingest-${runId}`, clean: true, protocolVersion: 4 })
  client.on('message', (_topic, payload) => {
    const m = JSON.parse(payload.toString()) as { device: string; kind: Kind; seq: number; ts: number; sent: number; values: Record<string, unknown> }
    const spec = KINDS[m.kind]
    const cols = spec.fields.map((f) => f.name)
    const order = ++rx
    const params = [runId, m.device, m.seq, new Date(m.ts), new Date(m.sent), order, ...cols.map((c) => m.values[c] ?? null)]
    chain = chain.then(() => db.query(`INSERT INTO ${spec.table} (run_id, device, seq, ts, sent, received, rx, ${cols.join(', ')})
      VALUES ($1, $2, $3, $4, $5, clock_timestamp(), $6, ${cols.map((_, i) => `$${i + 7}`).join(', ')})`, params))
  })
  await client.subscribeAsync(`${env('IOTBENCH_TOPIC_PREFIX')}farm/+/+/+/telemetry`, { qos: 1 })
  process.stderr.write('own-schema ingest: subscribed\n')
  process.on('SIGTERM', () => void chain.finally(() => process.exit(0)))
}
