// A deliberately small external ingest for the tests of `--ingest external` without a sink map: it
// subscribes to the run's telemetry (QoS 1) and INSERTs each reading, one at a time, into iotbench's own
// tables with the run id it is given (IOTBENCH_DB_RUN_ID). No alerts, no dead letters: the verdict must
// judge those properties as failing or holding, never skip them.
import { KINDS, type Kind } from '../../src/kinds.js'
import { runTestIngest } from './test-ingest.js'

// node --test runs every file under dist/test/, this one too: without the run's variables it does nothing.
if (process.env['IOTBENCH_DB_RUN_ID'] !== undefined) await ingest()

async function ingest(): Promise<void> {
  await runTestIngest('own-schema-ingest', async ({ env, write }) => {
    const runId = Number(env('IOTBENCH_DB_RUN_ID'))
    let rx = 0
    return (_topic, payload) => {
      const m = JSON.parse(payload.toString()) as {
        device: string
        kind: Kind
        seq: number
        ts: number
        sent: number
        values: Record<string, unknown>
      }
      const spec = KINDS[m.kind]
      const cols = spec.fields.map((f) => f.name)
      const order = ++rx
      const params = [runId, m.device, m.seq, new Date(m.ts), new Date(m.sent), order, ...cols.map((c) => m.values[c] ?? null)]
      write(
        `INSERT INTO ${spec.table} (run_id, device, seq, ts, sent, received, rx, ${cols.join(', ')})
        VALUES ($1, $2, $3, $4, $5, clock_timestamp(), $6, ${cols.map((_, i) => `$${i + 7}`).join(', ')})`,
        params,
      )
    }
  })
}
