// A small external ingest that writes tables of its own naming, for the tests of a sink map with alerts
// and dead letters: readings into my_<kind> (its own column names), the raises of iotbench's alert rules
// (src/alerts/engine.ts, under names of its own: "my-<rule>") into my_alerts, and rejected messages into
// my_rejects with reasons of its own ("E_<REASON>"). IOTBENCH_TEST_DROP_ALERT=1 makes it lose its first
// alert of an anomaly rule, so a test can show P5 finds a missing one through the copy.
import { AlertEngine } from '../../src/alerts/engine.js'
import { alertRulesOf } from '../../src/alerts/rules.js'
import { decodeTelemetry } from '../../src/ingest/decode.js'
import { KINDS, KIND_NAMES } from '../../src/kinds.js'
import { defaultSensorModels } from '../../src/sim/models.js'
import { runTestIngest } from './test-ingest.js'

/** Their reason for ours: what the sink map's `reasons` maps back. */
export const theirReason = (ours: string): string => `E_${ours.toUpperCase().replace(/-/g, '_')}`

// node --test runs every file under dist/test/, this one too: without the run's variables it does nothing.
if (process.env['IOTBENCH_DB_RUN_ID'] !== undefined) await ingest()

async function ingest(): Promise<void> {
  await runTestIngest('mapped-sink-ingest', async ({ db, env, write }) => {
    const prefix = env('IOTBENCH_TOPIC_PREFIX')
    let dropAlert = process.env['IOTBENCH_TEST_DROP_ALERT'] === '1'
    for (const k of KIND_NAMES) {
      await db.query(`CREATE TABLE IF NOT EXISTS my_${k} (dev text, n bigint, at timestamptz, sent_ms float8, inserted_at timestamptz DEFAULT clock_timestamp(),
        stored_order bigserial, ${KINDS[k].fields.map((f) => `my_${f.name} ${f.type === 'bool' ? 'boolean' : 'float8'}`).join(', ')})`)
    }
    await db.query(
      'CREATE TABLE IF NOT EXISTS my_alerts (dev text, alert_name text, reading_seq bigint, raised timestamptz DEFAULT clock_timestamp())',
    )
    await db.query('CREATE TABLE IF NOT EXISTS my_rejects (topic text, body bytea, why text, at timestamptz DEFAULT clock_timestamp())')
    const rules = alertRulesOf(defaultSensorModels())
    const engine = new AlertEngine(rules)
    /** Rules an injected anomaly must trip (not low battery): losing one of their raises is a missed episode. */
    const anomalyRules = new Set(KIND_NAMES.flatMap((k) => rules[k].filter((r) => r.rule.anomaly).map((r) => r.name)))
    return (topic, payload) => {
      const d = decodeTelemetry(topic, payload, prefix)
      if (!d.ok) return write('INSERT INTO my_rejects (topic, body, why) VALUES ($1, $2, $3)', [topic, payload, theirReason(d.reason)])
      const r = d.reading
      const cols = KINDS[r.kind].fields.map((f) => `my_${f.name}`)
      write(
        `INSERT INTO my_${r.kind} (dev, n, at, sent_ms, ${cols.join(', ')}) VALUES ($1, $2, $3, $4, ${cols.map((_, i) => `$${i + 5}`).join(', ')})`,
        [r.device, r.seq, new Date(r.ts), r.sent, ...r.values],
      )
      for (const a of engine.evaluate(r)) {
        if (a.event !== 'raise') continue
        if (dropAlert && anomalyRules.has(a.rule)) {
          dropAlert = false
          continue
        }
        write('INSERT INTO my_alerts (dev, alert_name, reading_seq) VALUES ($1, $2, $3)', [a.device, `my-${a.rule}`, a.seq])
      }
    }
  })
}
