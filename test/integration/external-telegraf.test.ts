import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import pg from 'pg'
import { readResult, ROOT, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { mosquittoBinary, startOwnMosquitto, type OwnMosquitto } from '../support/mosquitto.js'
import { requireService, unavailable, uniqueName } from '../support/services.js'

// Telegraf 1.37.2 as the ingest under test (requirement 4 of issue 22): built from the Go module proxy
// with only its three plugins (infra/telegraf/build-telegraf.sh, cached under ~/.cache/iotbench), run
// by --ingest-command with the shipped examples/telegraf config and sink map, against a Mosquitto of
// the test's own. Each test writes Telegraf's tables into a schema of its own.

const TIMING = new Set(['P4', 'P6'])
interface Prop {
  id: string
  pass: boolean
  summary: string
  notApplicable?: string
  evidence: Record<string, unknown>
}

let telegraf: string | undefined
let buildError: string | undefined

before(async () => {
  try {
    const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'infra/telegraf/build-telegraf.sh')], {
      timeout: 1_500_000,
      maxBuffer: 16 << 20,
    })
    telegraf = stdout.trim().split('\n').at(-1)
  } catch (err) {
    buildError = (err as Error).message
  }
})

async function runTelegraf(
  t: Parameters<typeof requireService>[0],
  broker: OwnMosquitto,
  extra: readonly string[],
): Promise<
  | {
      code: number | null
      stdout: string
      stderr: string
      db: string
      dbSchema: string
      runId: string
      result: {
        verdict: string
        properties: Prop[]
        counts: Record<string, number>
        latency: { endToEnd: { count: number; p50Ms: number; p99Ms: number } }
        transport: Record<string, unknown>
      }
    }
  | undefined
> {
  const db = await requireService(t, 'database')
  if (!db) return undefined
  if (!telegraf)
    return unavailable(
      t,
      'Telegraf',
      `infra/telegraf/build-telegraf.sh failed (Go ≥ 1.25.5 and the Go module proxy are needed): ${buildError ?? ''}`,
    )
  const sinkSchema = uniqueName('tg')
  const client = new pg.Client({ connectionString: db })
  await client.connect()
  await client.query(`CREATE SCHEMA ${sinkSchema}`)
  await client.end()
  const results = tempResultsDir()
  const dbSchema = uniqueName('ext')
  const r = await runCli(
    [
      'run',
      '--profile',
      'ci',
      '--progress',
      'plain',
      '--bad-input',
      '0',
      '--ingest',
      'external',
      '--sink-map',
      join(ROOT, 'examples/telegraf/sink-map.json'),
      '--ingest-command',
      `${telegraf} --config ${join(ROOT, 'examples/telegraf/telegraf.conf')}`,
      '--mqtt-url',
      broker.url,
      '--database-url',
      db,
      '--db-schema',
      dbSchema,
      '--topic-prefix',
      `${uniqueName('tg')}/`,
      '--results-dir',
      results,
      ...extra,
    ],
    { IOTBENCH_SINK_SCHEMA: sinkSchema },
    400_000,
  )
  return { ...r, db, dbSchema, runId: runIdFrom(r.stdout), result: readResult(results, runIdFrom(r.stdout)) }
}

describe('iotbench run --ingest external: Telegraf 1.37.2 through Mosquitto', () => {
  let broker: OwnMosquitto | undefined
  after(async () => broker?.stop())

  test('raised broker limits: every property that applies holds; those without data are N/A with their reason', async (t) => {
    const bin = mosquittoBinary()
    if (!bin) return unavailable(t, 'mosquitto', 'no mosquitto binary (apt-get install mosquitto)')
    broker = await startOwnMosquitto(bin)
    const run = await runTelegraf(t, broker, ['--duration', '6', '--rate', '1000', '--drain-timeout', '60', '--slo-p99-ms', '10000'])
    await broker.stop()
    broker = undefined
    if (!run) return
    const { code, stdout, stderr, result } = run
    const failed = result.properties.filter((p) => !p.pass).map((p) => p.id)
    // Exit 7: only timing failed, on a saturated host (the shared 2 cores); correctness must hold either way.
    assert.ok(code === 0 || (code === 7 && failed.every((id) => TIMING.has(id))), `exit ${code}\n${stdout}\n${stderr}`)
    const byId = new Map(result.properties.map((p) => [p.id, p]))
    for (const id of ['P1', 'P2', 'P3']) assert.equal(byId.get(id)?.pass, true, `${id}: ${byId.get(id)?.summary}`)
    for (const id of ['P1', 'P2', 'P3', 'P4', 'P6'])
      assert.equal(byId.get(id)?.notApplicable, undefined, `${id} applies: the map names every column it needs`)
    for (const id of ['P5', 'P7', 'P8', 'P9']) assert.ok(byId.get(id)?.notApplicable, `${id} is N/A`)
    assert.match(stdout, /N\/A {2}P5 alerts: not applicable: the sink map names no alerts table/)
    assert.equal(result.counts['ingested'], result.counts['offered'])
    assert.equal(result.transport['ingest'], 'external')
    assert.equal(result.transport['drain'], 'complete', 'the drain ended on every published reading stored')
    const e2e = result.latency.endToEnd
    assert.equal(e2e.count, result.counts['ingested'], 'latency measured for every stored reading, to its insert-time column')
    assert.ok(e2e.p50Ms > 0 && e2e.p50Ms <= e2e.p99Ms)
    // `iotbench verify` later, from the database alone: the same rows, the same N/A reasons.
    const again = await runCli(['verify', run.runId, '--database-url', run.db, '--db-schema', run.dbSchema], {}, 120_000)
    assert.match(again.stdout, /ok {3}P1 completeness: (\d+) of \1 stored/, again.stdout + again.stderr)
    assert.match(again.stdout, /N\/A {2}P5 alerts: not applicable: the sink map names no alerts table/)
    assert.match(again.stdout, /N\/A {2}P8 dashboard data: not applicable/)
  })

  test('Mosquitto’s default limits (1000 queued, 20 in flight): P1 fails and its lost readings are exactly those the broker dropped', async (t) => {
    const bin = mosquittoBinary()
    if (!bin) return unavailable(t, 'mosquitto', 'no mosquitto binary (apt-get install mosquitto)')
    broker = await startOwnMosquitto(bin, { defaultLimits: true, extra: ['sys_interval 1'] })
    const run = await runTelegraf(t, broker, ['--duration', '3', '--rate', '1000', '--drain-timeout', '120', '--slo-p99-ms', '60000'])
    if (!run) return
    const { code, stdout, stderr, result } = run
    const dropped = await sysDropped(broker.url)
    await broker.stop()
    broker = undefined
    assert.equal(code, 3, `exit ${code}\n${stdout}\n${stderr}`)
    const p1 = result.properties.find((p) => p.id === 'P1')
    assert.equal(p1?.pass, false, p1?.summary)
    const lost = Number(/lost (\d+)/.exec(p1.summary)?.[1])
    assert.ok(lost > 0)
    assert.equal(result.counts['acked'], result.counts['published'], 'every publisher had its PUBACK')
    assert.equal(lost, result.counts['published']! - result.counts['ingested']!)
    assert.equal(lost, dropped, `the lost readings are the broker's drops ($SYS/broker/publish/messages/dropped = ${dropped})`)
    assert.equal(result.properties.find((p) => p.id === 'P2')?.pass, true, 'what Telegraf stored is right')
  })
})

/** Mosquitto's own count of messages it dropped ($SYS, published every sys_interval). */
async function sysDropped(url: string): Promise<number> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clean: true })
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no $SYS/broker/publish/messages/dropped within 5 s')), 5000)
      client.on('message', (_topic, payload) => {
        clearTimeout(timer)
        resolve(Number(payload.toString()))
      })
      void client.subscribeAsync('$SYS/broker/publish/messages/dropped', { qos: 0 })
    })
  } finally {
    await client.endAsync(true)
  }
}
