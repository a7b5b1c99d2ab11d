/**
 * npm run bench:soak — does a soak hold flat? Runs `iotbench run --profile soak` (one hour unless told
 * otherwise) and keeps what S1 judged: the verdict, every property's line, the RSS and heap lines after
 * the warm-up, the line per thread and kind of memory (steepest first) and the 30-second means, with
 * the host's load. Writes bench-results/soak-<time>.json and soak-latest.json.
 *
 *   npm run bench:soak -- --mqtt-url mqtt://127.0.0.1:1883 --database-url postgres://…   (3600 s)
 *   npm run bench:soak -- --duration 14400 …                                            (the profile's 4 h)
 *   npm run bench:soak -- --from bench-results/<run-id>/result.json                     (a soak already run)
 *
 * Every argument but --from goes to `iotbench run` as given (after --profile soak --duration 3600).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunResult } from '../src/report/result.js'

const args = process.argv.slice(2)
const fromAt = args.indexOf('--from')
let resultFile: string
if (fromAt >= 0) {
  resultFile = args[fromAt + 1] ?? ''
} else {
  const dir = mkdtempSync(join(tmpdir(), 'iotbench-soak-'))
  const run = spawnSync(
    process.execPath,
    ['bin/iotbench.js', 'run', '--profile', 'soak', '--duration', '3600', '--progress', 'plain', '--results-dir', dir, ...args],
    { stdio: 'inherit' },
  )
  // 0 pass, 3 fail, 7 timing failed on a saturated host: each leaves a result to keep; anything else does not.
  if (![0, 3, 7].includes(run.status ?? -1)) {
    process.stderr.write(`bench:soak: iotbench run exited ${run.status ?? run.signal}: no result to keep\n`)
    process.exit(1)
  }
  resultFile = join(dir, readdirSync(dir)[0] ?? '', 'result.json')
}

const r = JSON.parse(readFileSync(resultFile, 'utf8')) as RunResult
if (!r.drift) {
  process.stderr.write(`bench:soak: ${resultFile} has no drift section (a run shorter than its warm-up + 30 s?)\n`)
  process.exit(1)
}
const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10
const line = (s: { slopePerHour: number; fittedStart: number; fittedEnd: number; growthPct: number }): Record<string, number> => ({
  slopeMiBPerHour: mib(s.slopePerHour),
  fittedStartMiB: mib(s.fittedStart),
  fittedEndMiB: mib(s.fittedEnd),
  growthPct: s.growthPct,
})
const summary = {
  bench: 'soak',
  at: new Date().toISOString(),
  machine: { cpus: cpus().length, loadAverageAtEnd: loadavg().map((x) => Math.round(x * 10) / 10) },
  runId: r.runId,
  verdict: r.verdict,
  durationS: r.config.durationSeconds,
  rate: r.config.rate,
  counts: r.counts,
  host: r.host,
  environment: { node: r.environment.node, broker: r.environment.broker, database: r.environment.database, storage: r.environment.storage },
  properties: r.properties.map((p) => ({ id: p.id, pass: p.pass, summary: p.summary })),
  warmupSeconds: r.drift.warmupSeconds,
  rss: line(r.drift.rss),
  heap: line(r.drift.heap),
  threads: r.drift.threads.map((t) => ({ thread: t.thread, kind: t.kind, ...line(t.series) })),
  intervals: r.drift.intervals.map((i) => ({
    t: i.t,
    rssMiB: mib(i.rssMeanBytes),
    heapMiB: mib(i.heapMeanBytes),
    worstP99Ms: i.worstP99Ms,
  })),
}
mkdirSync('bench-results', { recursive: true })
const out = join('bench-results', `soak-${summary.at.replace(/[:.]/g, '-')}.json`)
writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`)
writeFileSync(join('bench-results', 'soak-latest.json'), `${JSON.stringify(summary, null, 2)}\n`)
const s1 = r.properties.find((p) => p.id === 'S1')
console.log(`${r.verdict.toUpperCase()} ${r.runId}: ${s1 ? `S1 ${s1.summary}` : 'no S1 (the soak SLO was not set)'}`)
console.log(`wrote ${out}`)
