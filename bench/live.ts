/**
 * npm run bench:live — how many concurrent live dashboard clients this machine holds within the ci
 * profile's p99 (sensor-to-client, intended send time → receipt by the client).
 *
 * Runs the real pipeline, `iotbench run --profile ci`, once per client count (IOTBENCH_BENCH_LIVE_CLIENTS,
 * default 100,250,500,1000; each client follows one farm of the ci profile's 4, as the ci profile's clients
 * do, so it receives a quarter of the fleet's readings), stopping at the first count whose P9 fails.
 * Every step reports P9's delivery counts and latency, P4's end-to-end p99 beside it (the cost the feed adds to the ingest), and the feed's
 * counters (bytes sent, slow-client disconnects). Writes bench-results/live-<time>.json and
 * bench-results/live-latest.json.
 *
 * First, the feed alone ("feed" steps): the real LiveFeed and simulated clients, fed by a synthetic
 * publisher with the ci profile's shape (4 farms of 65 devices, 2,000 readings/s, a batch every 50 ms per
 * ingest thread, latency from each reading's due time), so the feed's own capacity shows even when
 * the rest of the pipeline is starved of CPU. Then the whole pipeline ("pipeline" steps).
 * IOTBENCH_BENCH_LIVE_MODE=feed|pipeline|both (default both).
 *
 * Database: IOTBENCH_BENCH_DATABASE_URL, else IOTBENCH_TEST_DATABASE_URL, else the embedded PostgreSQL.
 * IOTBENCH_BENCH_LIVE_DURATION overrides the ci profile's 20 s of load (pipeline) and 10 s (feed).
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deviceAt, farmId, fleetSize } from '../src/fleet.js'
import { KINDS } from '../src/kinds.js'
import type { CommittedReading } from '../src/live/feed-server.js'
import { openLive } from '../src/live/run-live.js'
import { compareClients, type StoredDevice } from '../src/verify/live-feed-check.js'
import { initHistograms, mergeEncoded, summarize } from '../src/util/histogram.js'
import { must } from '../src/util/must.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const counts = (process.env.IOTBENCH_BENCH_LIVE_CLIENTS ?? '100,250,500,1000').split(',').map(Number)
const duration = process.env.IOTBENCH_BENCH_LIVE_DURATION
const url = process.env.IOTBENCH_BENCH_DATABASE_URL ?? process.env.IOTBENCH_TEST_DATABASE_URL
const resultsDir = mkdtempSync(join(tmpdir(), 'iotbench-bench-live-'))

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'iotbench.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const mode = process.env.IOTBENCH_BENCH_LIVE_MODE ?? 'both'
const SLO_MS = 1000 // the ci profile's p99

/** The feed alone at the ci profile's shape, for `seconds`; P9's comparison and latency on the result. */
async function feedStep(clients: number, seconds: number): Promise<Record<string, unknown>> {
  const fleet = { farms: 4, cowsPerFarm: 60, stallsPerFarm: 4, tanksPerFarm: 1 }
  const devices = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))
  const live = await openLive(
    {
      farms: Array.from({ length: fleet.farms }, (_, i) => farmId(fleet, i)),
      host: '127.0.0.1',
      port: undefined,
      clients,
      farmsPerClient: 1,
      reconnects: 0,
      replayEvents: 50_000,
      clientBufferBytes: 4 << 20,
      lingerSeconds: 0,
      durationMs: seconds * 1000,
      drainMs: 30_000,
    },
    (l) => process.stderr.write(`${l}\n`),
  )
  if (!live) throw new Error('no live feed')
  const rate = 2000
  const total = rate * seconds
  const t0 = Date.now() + 100
  let next = 0
  const seqs = new Map<string, number>()
  await new Promise<void>((resolve) => {
    // two "ingest threads", each committing the readings due so far every 50 ms, like the ci profile's batches
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate))
      const batch: CommittedReading[] = []
      for (; next < due; next++) {
        const d = devices[next % devices.length]
        const seq = seqs.get(d.id) ?? 0
        seqs.set(d.id, seq + 1)
        batch.push({
          device: d.id,
          kind: d.kind,
          seq,
          ts: seq * 60_000,
          sent: t0 + (next / rate) * 1000,
          values: KINDS[d.kind].fields.map((f, i) => (f.type === 'bool' ? i % 2 === 0 : 10 + i + seq / 100)),
        })
      }
      if (batch.length) live.publish(batch, [])
      if (next >= total) {
        clearInterval(timer)
        resolve()
      }
    }, 50)
  })
  const ev = must(await live.finish(mkdtempSync(join(tmpdir(), 'iotbench-bench-live-feed-'))), 'live feed evidence')
  await live.stop()
  const stored = new Map<string, StoredDevice>([...seqs].map(([d, n]) => [d, { count: n, min: 0, max: n - 1 }]))
  const cmp = compareClients(ev.reports, stored, new Map())
  const h = mergeEncoded([...ev.latency.steady, ...ev.latency.reconnecting])
  const latency = summarize(h)
  h.destroy()
  const c = cmp.classes.steady
  const pass = c.missing === 0 && c.duplicated === 0 && cmp.failedClients.length === 0 && latency.p99Ms <= SLO_MS
  return {
    clients,
    seconds,
    pass,
    liveLatency: latency,
    readingsDelivered: c.readingsReceived,
    readingsExpected: c.readingsExpected,
    missing: c.missing,
    duplicated: c.duplicated,
    failedClients: cmp.failedClients.length,
    feed: ev.feed,
  }
}

const steps: Array<Record<string, unknown>> = []
const feedSteps: Array<Record<string, unknown>> = []
let reached = 0
let feedReached = 0
if (mode !== 'pipeline') {
  await initHistograms()
  for (const clients of counts) {
    const load = loadavg()[0]
    const step = await feedStep(clients, Number(duration ?? 10))
    feedSteps.push({ ...step, loadAverageBefore: load })
    const l = step.liveLatency as { p50Ms: number; p99Ms: number }
    process.stdout.write(
      `feed     ${String(clients).padStart(5)} clients: ${step.pass ? 'pass' : 'FAIL'}, sensor-to-client p50 ${l.p50Ms} ms p99 ${l.p99Ms} ms (SLO ${SLO_MS} ms), ${step.readingsDelivered} of ${step.readingsExpected} readings delivered, ${Math.round((step.feed as { bytesSent: number }).bytesSent / 1e6)} MB sent; load average before ${load.toFixed(1)}\n`,
    )
    if (!step.pass) break
    feedReached = clients
  }
}
for (const clients of mode === 'feed' ? [] : counts) {
  const schema = `bench_live_${process.pid}_${clients}`
  const args = [
    'run',
    '--profile',
    'ci',
    '--live-clients',
    String(clients),
    '--live-reconnects',
    '0',
    '--progress',
    'off',
    '--results-dir',
    resultsDir,
    '--db-schema',
    schema,
    ...(duration ? ['--duration', duration] : []),
    ...(url ? ['--database-url', url] : []),
  ]
  const load = loadavg()[0]
  const started = Date.now()
  const r = await run(args)
  const id = /^iotbench (\S+) — profile/m.exec(r.stdout)?.[1]
  if (!id) {
    process.stderr.write(`run with ${clients} clients failed (exit ${r.code}):\n${r.stderr}\n`)
    steps.push({ clients, error: `exit ${r.code}`, stderr: r.stderr.slice(-2000) })
    break
  }
  const result = JSON.parse(readFileSync(join(resultsDir, id, 'result.json'), 'utf8'))
  const p9 = result.properties.find((p: { id: string }) => p.id === 'P9')
  const p4 = result.properties.find((p: { id: string }) => p.id === 'P4')
  const c = p9.evidence.classes.steady
  const step = {
    clients,
    p9Pass: p9.pass,
    p9Summary: p9.summary,
    sloP99Ms: p9.evidence.sloP99Ms,
    liveLatency: p9.evidence.latency,
    endToEndP99Ms: p4.evidence.endToEnd.p99Ms,
    p4Pass: p4.pass,
    readingsDelivered: c.readingsReceived,
    readingsExpected: c.readingsExpected,
    missing: c.missing,
    duplicated: c.duplicated,
    feed: p9.evidence.feed,
    loadAverageBefore: load,
    wallSeconds: Math.round((Date.now() - started) / 100) / 10,
  }
  steps.push(step)
  process.stdout.write(
    `pipeline ${String(clients).padStart(5)} clients: P9 ${p9.pass ? 'pass' : 'FAIL'}, sensor-to-client p50 ${p9.evidence.latency.p50Ms} ms p99 ${p9.evidence.latency.p99Ms} ms (SLO ${p9.evidence.sloP99Ms} ms), end-to-end p99 ${p4.evidence.endToEnd.p99Ms} ms, ${c.readingsReceived} readings delivered, ${Math.round(p9.evidence.feed.bytesSent / 1e6)} MB sent, slow disconnects ${p9.evidence.feed.slowDisconnects}; load average before ${load.toFixed(1)}\n`,
  )
  if (!p9.pass) break
  reached = clients
}

const out = {
  bench: 'live',
  time: new Date().toISOString(),
  cpus: cpus().length,
  node: process.version,
  database: url ? 'external PostgreSQL' : 'embedded PostgreSQL',
  profile: 'ci',
  sloP99Ms: SLO_MS,
  target: 1000,
  feedReached,
  feedSteps,
  pipelineReached: reached,
  pipelineSteps: steps,
}
mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
const file = join(ROOT, 'bench-results', `live-${out.time.replace(/[-:]/g, '').replace(/\..*/, '')}.json`)
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`)
writeFileSync(join(ROOT, 'bench-results', 'live-latest.json'), `${JSON.stringify(out, null, 2)}\n`)
process.stdout.write(
  `within the ci p99 (target 1000 clients): the feed alone held ${mode === 'pipeline' ? '-' : feedReached}, the whole pipeline ${mode === 'feed' ? '-' : reached}; ${file}\n`,
)
process.exit(0)
