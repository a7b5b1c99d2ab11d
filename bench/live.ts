/**
 * npm run bench:live — how many concurrent live dashboard clients this machine holds within the ci
 * profile's p99 (sensor-to-client, intended send time → receipt by the client).
 *
 * Runs the real pipeline, `iotbench run --profile ci`, once per client count (IOTBENCH_BENCH_LIVE_CLIENTS,
 * default 100,250,500,1000; each client follows the ci profile's 2 farms of 4, so it receives half the
 * fleet's readings), stopping at the first count whose P9 fails. Every step reports P9's delivery counts
 * and latency, P4's end-to-end p99 beside it (the cost the feed adds to the ingest), and the feed's
 * counters (bytes sent, slow-client disconnects). Writes bench-results/live-<time>.json and
 * bench-results/live-latest.json.
 *
 * Database: IOTBENCH_BENCH_DATABASE_URL, else IOTBENCH_TEST_DATABASE_URL, else the embedded PostgreSQL.
 * IOTBENCH_BENCH_LIVE_DURATION overrides the ci profile's 20 s of load.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

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

const steps: Array<Record<string, unknown>> = []
let reached = 0
for (const clients of counts) {
  const schema = `bench_live_${process.pid}_${clients}`
  const args = ['run', '--profile', 'ci', '--live-clients', String(clients), '--live-reconnects', '0', '--progress', 'off', '--results-dir', resultsDir, '--db-schema', schema,
    ...(duration ? ['--duration', duration] : []), ...(url ? ['--database-url', url] : [])]
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
  process.stdout.write(`${String(clients).padStart(5)} clients: P9 ${p9.pass ? 'pass' : 'FAIL'}, sensor-to-client p50 ${p9.evidence.latency.p50Ms} ms p99 ${p9.evidence.latency.p99Ms} ms (SLO ${p9.evidence.sloP99Ms} ms), end-to-end p99 ${p4.evidence.endToEnd.p99Ms} ms, ${c.readingsReceived} readings delivered, ${Math.round(p9.evidence.feed.bytesSent / 1e6)} MB sent, slow disconnects ${p9.evidence.feed.slowDisconnects}; load average before ${load.toFixed(1)}\n`)
  if (!p9.pass) break
  reached = clients
}

const out = { bench: 'live', time: new Date().toISOString(), cpus: cpus().length, node: process.version, database: url ? 'external PostgreSQL' : 'embedded PostgreSQL', profile: 'ci', target: 1000, reached, steps }
mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
const file = join(ROOT, 'bench-results', `live-${out.time.replace(/[-:]/g, '').replace(/\..*/, '')}.json`)
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`)
writeFileSync(join(ROOT, 'bench-results', 'live-latest.json'), `${JSON.stringify(out, null, 2)}\n`)
process.stdout.write(`reached ${reached} concurrent live clients within the ci p99 (target 1000); ${file}\n`)
