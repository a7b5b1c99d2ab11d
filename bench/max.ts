/**
 * npm run bench:max — `iotbench run --profile max` against the broker's own fan-out ceiling, in one run,
 * on a Mosquitto of the bench's own and a PostgreSQL (IOTBENCH_BENCH_DATABASE_URL, else
 * IOTBENCH_TEST_DATABASE_URL; schema iotbench_bench_max).
 *
 * (a) The fan-out ceiling: the run's own simulators (publish-only code, the max profile's fleet and
 *     simulator threads) at QoS 1 into the broker, one plain MQTT.js subscriber at QoS 1 (as the ingest
 *     subscribes) and no database. A probe far past saturation estimates it; a ladder from 80 % of the
 *     estimate up by 15 %, then bisecting to 2 %, finds the highest offered rate the subscriber received
 *     ≥ 99 % of on schedule (by the planned end + 1 s, counted from its first reading). CPU per component (simulators, broker, subscriber) of each step.
 * (b) `iotbench run --profile max` from 30 % of that ceiling up to 110 % of it, 10-s steps, resolution 2 %
 *     of the ceiling, told the ceiling (--max-broker-ceiling) so that a step at it names the broker.
 * (c) The ratio (highest passing rate / fan-out ceiling; target ≥ 0.95) and the CPU per component of the
 *     best passing step, per 100k readings.
 * Bounded: the ladder to 12 steps, the search to IOTBENCH_BENCH_MAX_BUDGET seconds (default 480), the whole
 * to ≤ 15 minutes. Writes bench-results/max-<time>.json and max-latest.json, load averages with each figure.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'
import { resolveConfig } from '../src/config/resolve.js'
import { CPU_COMPONENTS, CpuMeter, cpuLine, type CpuReport, type CpuWindow } from '../src/metrics/cpu.js'
import { linuxProc, listeningPid } from '../src/metrics/proc.js'
import type { MaxResult } from '../src/max/run-max.js'
import { publishStep } from '../src/sim/publish-only.js'
import { mosquittoBinary, startOwnMosquitto } from '../test/support/mosquitto.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DB = process.env['IOTBENCH_BENCH_DATABASE_URL'] ?? process.env['IOTBENCH_TEST_DATABASE_URL']
const SECONDS = Number(process.env['IOTBENCH_BENCH_SECONDS'] ?? 5)
const BUDGET_S = Number(process.env['IOTBENCH_BENCH_MAX_BUDGET'] ?? 480)
const PROBE_RATE = 200_000
const HELD = 0.99
const LADDER_STEPS = 12

const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100)

interface FanOutStep {
  readonly offeredPerS: number
  readonly offered: number
  /** Acknowledged by the broker (the publishers' side). */
  readonly acked: number
  /** Received by the subscriber by the planned end + 1 s, and in all (after up to 5 s of drain). */
  readonly receivedOnSchedule: number
  readonly received: number
  readonly receivedPerS: number
  readonly held: boolean
  readonly scheduleLagP99Ms: number
  readonly cpu: CpuReport
  readonly loadAverage: number[]
}

interface Subscriber {
  count(): number
  /** Messages received within `windowMs` of the first (the schedule's start, give or take the first hop). */
  onSchedule(): number
  firstMs(): number
  lastMs(): number
  reset(windowMs: number): void
  end(): Promise<void>
}

/** One plain subscriber (MQTT.js, QoS 1, clean session) counting what the broker forwards. */
async function plainSubscriber(url: string, filter: string): Promise<Subscriber> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-max-sub-${process.pid}`, clean: true, reconnectPeriod: 0 })
  let n = 0
  let within = 0
  let first = 0
  let last = 0
  let windowMs = 0
  client.on('message', () => {
    const t = Date.now()
    if (n === 0) first = t
    n++
    if (t - first <= windowMs) within++
    last = t
  })
  await client.subscribeAsync(filter, { qos: 1 })
  return {
    count: () => n,
    onSchedule: () => within,
    firstMs: () => first,
    lastMs: () => last,
    reset: (ms) => {
      n = within = first = last = 0
      windowMs = ms
    },
    end: () => client.endAsync(),
  }
}

async function fanOutStep(url: string, sub: Subscriber, rate: number, threads: number, index: number): Promise<FanOutStep> {
  // On schedule: by the planned end + 1 s, counted from the first reading received.
  sub.reset((SECONDS + 1) * 1000)
  const meter = new CpuMeter().start()
  if (!meter.watchListener('broker', Number(new URL(url).port)))
    meter.notMeasured('broker', 'not measured: the broker process was not found')
  const r = await publishStep({
    url,
    qos: 1,
    rate,
    seconds: SECONDS,
    threads,
    drainTimeoutSeconds: 5,
    clientId: `bench-max-pub-${index}`,
    topicPrefix: `bench-max/${index}/`,
  })
  // Whatever the broker still holds for the subscriber: up to 5 s more, until the count stops growing.
  for (let prev = -1, waited = 0; sub.count() !== prev && sub.count() < r.offered && waited < 5000; waited += 250) {
    prev = sub.count()
    await new Promise((res) => setTimeout(res, 250))
  }
  const onSchedule = sub.onSchedule()
  meter.stop()
  await meter.settle()
  const received = sub.count()
  const span = (sub.lastMs() - sub.firstMs()) / 1000
  return {
    offeredPerS: rate,
    offered: r.offered,
    acked: r.acked,
    receivedOnSchedule: onSchedule,
    received,
    receivedPerS: span > 0 ? Math.round(received / span) : 0,
    held: onSchedule >= HELD * r.offered,
    scheduleLagP99Ms: r.scheduleLag.p99Ms,
    cpu: meter.report(received),
    loadAverage: load(),
  }
}

function cpuTable(title: string, r: CpuWindow | undefined, readings: number): string[] {
  if (!r) return [`${title}: no CPU figures`]
  return [
    `${title} (${readings} readings over ${r.wallSeconds} s):`,
    ...CPU_COMPONENTS.map((c) => {
      const f = r.components[c]
      return `  ${c.padEnd(11)} ${f.seconds === null ? (f.note ?? 'not measured') : `${String(f.seconds).padStart(7)} s  ${String(f.per100kReadings).padStart(7)} s/100k  ${f.coreShare} core`}`
    }),
  ]
}

async function main(): Promise<void> {
  if (!DB) {
    process.stderr.write(
      'set IOTBENCH_BENCH_DATABASE_URL or IOTBENCH_TEST_DATABASE_URL (a PostgreSQL the bench may write schema iotbench_bench_max in)\n',
    )
    process.exitCode = 4
    return
  }
  const bin = mosquittoBinary()
  if (!bin) throw new Error('mosquitto not found (apt-get install mosquitto, or IOTBENCH_MOSQUITTO=/path)')
  const started = Date.now()
  const broker = await startOwnMosquitto(bin)
  const brokerPid = listeningPid(linuxProc, Number(new URL(broker.url).port))
  const threads = resolveConfig({ profile: 'max', env: {}, flags: {} }).simWorkers
  try {
    console.log(
      `bench:max — own Mosquitto ${broker.url} (pid ${brokerPid ?? '?'}), ${SECONDS}-s fan-out steps, ${threads} simulator thread(s), load average ${load().join(' ')}`,
    )
    // (a) the fan-out ceiling
    const sub = await plainSubscriber(broker.url, 'bench-max/#')
    const ladder: FanOutStep[] = []
    const say = (s: FanOutStep, what: string): void =>
      console.log(
        `  ${what} offered ${s.offeredPerS}/s: acked ${s.acked}/${s.offered}, subscriber ${s.receivedOnSchedule} on schedule (${s.held ? 'held' : 'not held'}), ${s.received} in all, ${s.receivedPerS}/s; broker ${s.cpu.components.broker.coreShare ?? '?'} core, subscriber (main thread) ${s.cpu.components.main.coreShare} core, Node helpers ${s.cpu.components.helpers.coreShare} core, simulators ${s.cpu.components.simulators.coreShare} core; load ${s.loadAverage.join(' ')}`,
      )
    const probe = await fanOutStep(broker.url, sub, PROBE_RATE, threads, 0)
    say(probe, 'probe')
    // Up by 15 % while the subscriber keeps up, then bisect between the highest held and the lowest missed
    // rate to within 2 %: a shared host is noisy, so the ceiling is the highest rate any step held.
    const hundreds = (x: number): number => Math.max(1000, Math.round(x / 100) * 100)
    let rate = hundreds(probe.receivedPerS * 0.8)
    let held: number | undefined
    let missed: number | undefined
    for (let i = 1; i <= LADDER_STEPS; i++) {
      const s = await fanOutStep(broker.url, sub, rate, threads, i)
      ladder.push(s)
      say(s, `step ${i}`)
      if (s.held) held = Math.max(held ?? 0, rate)
      else missed = Math.min(missed ?? Infinity, rate)
      if (missed === undefined) rate = hundreds(rate * 1.15)
      else if (held === undefined) rate = hundreds(rate * 0.8)
      else if (missed - held <= Math.max(100, held * 0.02)) break
      else rate = hundreds((held + missed) / 2)
      if (ladder.some((x) => x.offeredPerS === rate)) break
    }
    await sub.end()
    const heldSteps = ladder.filter((s) => s.held)
    const ceilingStep = heldSteps.sort((a, b) => b.offeredPerS - a.offeredPerS)[0]
    const ceiling = ceilingStep?.offeredPerS
    console.log(`fan-out ceiling: ${ceiling ?? 'none held'}/s (load ${load().join(' ')})`)
    for (const l of cpuTable('  CPU at the ceiling', ceilingStep?.cpu, ceilingStep?.received ?? 0)) console.log(l)
    // (b) iotbench run --profile max around it
    let max: MaxResult | undefined
    let searchError: string | undefined
    if (ceiling !== undefined) {
      const results = mkdtempSync(join(tmpdir(), 'iotbench-bench-max-'))
      const args = [
        'bin/iotbench.js',
        'run',
        '--profile',
        'max',
        '--mqtt-url',
        broker.url,
        '--database-url',
        DB,
        '--db-schema',
        'iotbench_bench_max',
        '--rate',
        String(Math.round(ceiling * 0.3)),
        '--max-ceiling',
        String(Math.round(ceiling * 1.1)),
        '--max-resolution',
        String(Math.max(100, Math.round(ceiling * 0.02))),
        '--max-budget',
        String(BUDGET_S),
        '--max-broker-ceiling',
        String(ceiling),
        '--results-dir',
        results,
        '--progress',
        'off',
      ]
      console.log(`iotbench ${args.slice(1).join(' ')}`)
      const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: (BUDGET_S + 240) * 1000 })
      process.stdout.write(run.stdout ?? '')
      const m = /^\s*result: (\S+max\.json)$/m.exec(run.stdout ?? '')
      if (m) max = JSON.parse(readFileSync(m[1], 'utf8')) as MaxResult
      else searchError = `exit ${run.status}${run.signal ? ` (${run.signal})` : ''}: ${(run.stderr ?? '').slice(-800)}`
    }
    // (c) the ratio and where the machine went
    const best = max?.maxRateRun
    const ratio = ceiling && max?.maxRate ? Math.round((max.maxRate / ceiling) * 1000) / 1000 : undefined
    console.log(
      `max rate ${max?.maxRate ?? '-'}/s of fan-out ceiling ${ceiling ?? '-'}/s = ${ratio ?? '-'} (target ≥ 0.95); limiting: ${max?.limitingComponent ?? '-'} — ${max?.limitingReason ?? searchError ?? ''}`,
    )
    for (const l of cpuTable(`CPU at ${best?.rate ?? '-'}/s, during the load`, best?.cpu?.load, best?.cpu?.readings ?? 0)) console.log(l)
    for (const l of cpuTable(
      `CPU at ${best?.rate ?? '-'}/s, the whole run (setup and verification too)`,
      best?.cpu,
      best?.cpu?.readings ?? 0,
    ))
      console.log(l)
    if (best?.cpu) console.log(`  ${cpuLine(best.cpu.load ?? best.cpu)}`)
    const summary = {
      bench: 'max',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      broker: `own Mosquitto (${bin}), raised queue/in-flight limits`,
      fanOut: {
        how: `the max profile's simulators (${threads} thread(s), publish-only) at QoS 1, one MQTT.js subscriber at QoS 1, no database; held = ≥ ${HELD * 100} % received by the planned end + 1 s`,
        stepSeconds: SECONDS,
        ceilingPerS: ceiling ?? null,
        probe,
        ladder,
      },
      max: max
        ? {
            maxRate: max.maxRate ?? null,
            limitingComponent: max.limitingComponent ?? null,
            limitingReason: max.limitingReason,
            stoppedBy: max.stoppedBy,
            steps: max.steps,
          }
        : { error: searchError ?? 'no fan-out ceiling held, so no search ran' },
      ratio: ratio ?? null,
      target: 0.95,
      cpuAtMaxRate: best?.cpu ?? null,
      cpuAtFanOutCeiling: ceilingStep?.cpu ?? null,
      seconds: Math.round((Date.now() - started) / 1000),
      loadAverageEnd: load(),
    }
    mkdirSync('bench-results', { recursive: true })
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    writeFileSync(join('bench-results', `max-${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`)
    writeFileSync(join('bench-results', 'max-latest.json'), `${JSON.stringify(summary, null, 2)}\n`)
    console.log(`wrote bench-results/max-latest.json (${summary.seconds} s)`)
  } finally {
    await broker.stop()
  }
}

await main()
