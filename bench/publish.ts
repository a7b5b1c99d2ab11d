/**
 * npm run bench:publish — the simulators alone (the code `iotbench run` publishes with: generator,
 * encoding, MQTT.js, back-pressure) into a Mosquitto of the bench's own with no subscriber, at QoS 0
 * and 1, on one thread and on every core, over a ladder of offered rates up to 4× the ceiling.
 *
 * Per QoS and thread count: a probe far past saturation estimates the ceiling (the rate the broker
 * acknowledged, or the socket took at QoS 0); then steps at 0.5×, 1×, 2× and 4× that estimate record
 * the rate held, the schedule lag, whether the step ended within its deadline (planned + drain timeout)
 * and the CPU seconds per 100k readings. Where a reading's time goes is measured with a micro-run per
 * stage (generation, JSON encoding, MQTT framing, socket write). The peer comparison runs in the same
 * process against the same broker at the same payload size: krylovsk/mqtt-benchmark v0.2.0 when a
 * binary of it is cached, otherwise bench/peer-publisher (Paho, the same closed-loop discipline; the
 * Go module proxy here refuses mqtt-benchmark with 403). The host's load average goes with every figure.
 *
 * Env: IOTBENCH_BENCH_SECONDS (step length, default 5), IOTBENCH_BENCH_THREADS (default: 1 and every core).
 * Writes bench-results/publish-<time>.json and bench-results/publish-latest.json.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { cpus, homedir, loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as mqttPacket from 'mqtt-packet'
import { resolveConfig } from '../src/config/resolve.js'
import { deviceAt, fleetOf, fleetSize, telemetryTopic } from '../src/fleet.js'
import { encodePayload } from '../src/sim/generator.js'
import { generatorOracle } from '../src/sim/oracle.js'
import { publishStep, type PublishStepResult } from '../src/sim/publish-only.js'
import { simulationOf } from '../src/sim/setup.js'
import { mosquittoBinary, startOwnMosquitto } from '../test/support/mosquitto.js'

const SECONDS = Number(process.env['IOTBENCH_BENCH_SECONDS'] ?? 5)
const THREADS = (process.env['IOTBENCH_BENCH_THREADS'] ?? `1,${cpus().length}`).split(',').map(Number)
const DRAIN_S = 5
const PROBE_RATE = 1_000_000
const CACHE = join(homedir(), '.cache', 'iotbench')
const PEER_SRC = fileURLToPath(new URL('../../bench/peer-publisher', import.meta.url))

const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100)

interface Step extends Omit<PublishStepResult, 'scheduleLag'> {
  readonly offeredPerS: number
  readonly scheduleLagP99Ms: number
  readonly endedInTime: boolean
  readonly cpuSecondsPer100k: number
  readonly loadAverage: number[]
}

async function step(url: string, qos: 0 | 1, rate: number, threads: number): Promise<Step> {
  const cpu0 = process.cpuUsage()
  const r = await publishStep({
    url,
    qos,
    rate,
    seconds: SECONDS,
    threads,
    drainTimeoutSeconds: DRAIN_S,
    clientId: `bench-publish-${Date.now()}`,
    topicPrefix: 'bench/',
  })
  const cpu = process.cpuUsage(cpu0)
  const { scheduleLag, ...rest } = r
  return {
    ...rest,
    offeredPerS: rate,
    scheduleLagP99Ms: scheduleLag.p99Ms,
    // A thread's own deadline is planned + drain; allow a second for the threads to start and return.
    endedInTime: r.wallSeconds <= r.plannedSeconds + DRAIN_S + 1,
    cpuSecondsPer100k: r.acked > 0 ? Math.round(((cpu.user + cpu.system) / 1e6 / r.acked) * 1e5 * 100) / 100 : 0,
    loadAverage: load(),
  }
}

/** ns per reading of each stage, one thread, no broker but the socket stage's. */
async function stages(url: string): Promise<Record<string, number | string>> {
  const cfg = resolveConfig({ profile: 'max', env: {}, flags: {} })
  const fleet = fleetOf(cfg)
  const n = fleetSize(fleet)
  const oracle = generatorOracle(simulationOf(cfg.slices.sim, Date.now() - 86_400_000, fleet, n).ctx)
  const devices = Array.from({ length: n }, (_, i) => deviceAt(fleet, i))
  const topics = devices.map((d) => telemetryTopic('bench/', d))
  const N = 200_000
  const time = (f: (i: number) => void): number => {
    const t = process.hrtime.bigint()
    for (let i = 0; i < N; i++) f(i)
    return Number(process.hrtime.bigint() - t) / N
  }
  const readings = Array.from({ length: 2000 }, (_, i) => oracle.expected(devices[i % n], Math.floor(i / n)))
  const generation = time((i) => oracle.expected(devices[i % n], Math.floor(i / n)))
  let bytes = 0
  const encoding = time((i) => (bytes += Buffer.byteLength(encodePayload(readings[i % 2000], 1.7e12 + i))))
  const payloads = readings.map((r, i) => encodePayload(r, 1.7e12 + i))
  const packets: Buffer[] = []
  const framing = time((i) => {
    const p = mqttPacket.generate({
      cmd: 'publish',
      topic: topics[i % n],
      payload: payloads[i % 2000],
      qos: 1,
      messageId: 1 + (i % 65535),
      retain: false,
      dup: false,
    })
    if (i < 2000) packets.push(p)
  })
  // Socket: framed packets written to the broker over one TCP connection, waiting for 'drain' when congested.
  const u = new URL(url)
  const socket = connect({ host: u.hostname, port: Number(u.port) })
  await new Promise((r) => socket.once('connect', r))
  socket.setNoDelay(true)
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: `bench-stage-${Date.now()}`,
      clean: true,
      keepalive: 0,
    }),
  )
  socket.on('data', () => undefined)
  const t = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    const qos0 = packets[i % 2000]
    qos0[0] = 0x30 // as QoS 0 (the packet id stays in the payload: the broker just forwards bytes)
    if (!socket.write(qos0)) await new Promise((r) => socket.once('drain', r))
  }
  await new Promise<void>((r) => socket.end(() => r()))
  const write = Number(process.hrtime.bigint() - t) / N
  return {
    generationNs: Math.round(generation),
    encodingNs: Math.round(encoding),
    framingNs: Math.round(framing),
    socketWriteNs: Math.round(write),
    payloadBytes: Math.round(bytes / N),
    note: 'one thread, ns per reading; socket: pre-framed QoS 0 packets written to the bench broker with drain waits',
  }
}

/** The peer publisher: mqtt-benchmark v0.2.0 if cached, else bench/peer-publisher built into the cache. */
function peerBinary(): { bin: string; name: string; why?: string } | { error: string } {
  const mb = join(CACHE, 'mqtt-benchmark-v0.2.0', 'mqtt-benchmark')
  if (existsSync(mb)) return { bin: mb, name: 'krylovsk/mqtt-benchmark v0.2.0' }
  const why = 'krylovsk/mqtt-benchmark v0.2.0 could not be built: the Go module proxy answers 403 "This module version is not available"'
  const bin = join(CACHE, 'peer-publisher')
  try {
    if (!existsSync(bin)) execFileSync('go', ['build', '-o', bin, '.'], { cwd: PEER_SRC, stdio: 'pipe', timeout: 300_000 })
    return { bin, name: "bench/peer-publisher (Eclipse Paho 1.5.1, mqtt-benchmark's closed loop)", why }
  } catch (err) {
    return { error: `${why}; bench/peer-publisher did not build either: ${(err as Error).message}` }
  }
}

function peer(p: { bin: string; name: string }, url: string, qos: 0 | 1, size: number, perClient: number): Record<string, unknown> {
  const broker = url.replace('mqtt://', 'tcp://')
  const mb = p.name.startsWith('krylovsk')
  const args = mb
    ? [
        '-broker',
        broker,
        '-clients',
        '10',
        '-count',
        String(perClient),
        '-size',
        String(size),
        '-qos',
        String(qos),
        '-format',
        'json',
        '-quiet',
      ]
    : ['-broker', broker, '-clients', '10', '-count', String(perClient), '-size', String(size), '-qos', String(qos)]
  const out = execFileSync(p.bin, args, { encoding: 'utf8', timeout: 300_000 })
  const j = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { perS?: number; totals?: { msg_per_sec?: number } }
  return {
    qos,
    clients: 10,
    payloadBytes: size,
    messages: perClient * 10,
    perS: Math.round(j.perS ?? j.totals?.msg_per_sec ?? 0),
    loadAverage: load(),
  }
}

async function main(): Promise<void> {
  const bin = mosquittoBinary()
  if (!bin) throw new Error('mosquitto not found (apt-get install mosquitto, or IOTBENCH_MOSQUITTO=/path)')
  const broker = await startOwnMosquitto(bin)
  const warnings: string[] = []
  process.on('warning', (w) => warnings.push(`${w.name}: ${w.message}`))
  try {
    console.log(
      `bench:publish — own Mosquitto ${broker.url}, ${SECONDS}-s steps, threads ${THREADS.join(', ')}, load average ${load().join(' ')}`,
    )
    const stage = await stages(broker.url)
    console.log(`stages (ns/reading): ${JSON.stringify(stage)}`)
    const ladders: Array<Record<string, unknown>> = []
    for (const qos of [0, 1] as const) {
      for (const threads of THREADS) {
        const probe = await step(broker.url, qos, PROBE_RATE, threads)
        const estimate = probe.heldPerS
        console.log(`QoS ${qos}, ${threads} thread(s): probe at ${PROBE_RATE}/s held ${estimate}/s (load ${probe.loadAverage.join(' ')})`)
        const steps: Step[] = [probe]
        for (const m of [0.5, 1, 2, 4]) {
          const s = await step(broker.url, qos, Math.max(100, Math.round(estimate * m)), threads)
          console.log(
            `  offered ${s.offeredPerS}/s (${m}×): held ${s.heldPerS}/s, lag p99 ${s.scheduleLagP99Ms} ms, ${s.wallSeconds} s of ${s.plannedSeconds} planned, ${s.cpuSecondsPer100k} CPU s/100k, load ${s.loadAverage.join(' ')}${s.unfinished.length ? `; unfinished: ${s.unfinished.join('; ')}` : ''}`,
          )
          steps.push(s)
        }
        // The ceiling: the most any step held (the probe's estimate is noisy on a shared host).
        const ceiling = Math.max(...steps.map((s) => s.heldPerS))
        const at = (m: number): number => steps.find((s) => s.offeredPerS === Math.max(100, Math.round(estimate * m)))?.heldPerS ?? 0
        ladders.push({
          qos,
          threads,
          probePerS: estimate,
          ceilingPerS: ceiling,
          heldAt2xPerS: at(2),
          heldAt4xPerS: at(4),
          heldAt2xRatio: ceiling > 0 ? Math.round((at(2) / ceiling) * 1000) / 1000 : 0,
          heldAt4xRatio: ceiling > 0 ? Math.round((at(4) / ceiling) * 1000) / 1000 : 0,
          steps,
        })
      }
    }
    const size = Number(stage['payloadBytes'])
    const p = peerBinary()
    const peers: Array<Record<string, unknown>> = []
    if ('error' in p) console.log(`peer: ${p.error}`)
    else {
      for (const qos of [0, 1] as const) {
        const r = peer(p, broker.url, qos, size, qos === 0 ? 50_000 : 20_000)
        const best = Math.max(...ladders.filter((l) => l.qos === qos).map((l) => Number(l.ceilingPerS)))
        peers.push({ ...r, generatorCeilingPerS: best, ratio: Math.round((best / Number(r.perS)) * 100) / 100 })
        console.log(
          `peer ${p.name} QoS ${qos}: ${String(r.perS)}/s at ${size} B; iotbench's best ceiling ${best}/s = ${(best / Number(r.perS)).toFixed(2)}×`,
        )
      }
    }
    const summary = {
      bench: 'publish',
      at: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      broker: `own Mosquitto (${bin}), no subscriber, raised queue/in-flight limits`,
      stepSeconds: SECONDS,
      drainTimeoutSeconds: DRAIN_S,
      stages: stage,
      ladders,
      peer: 'error' in p ? { error: p.error } : { name: p.name, ...(p.why && { why: p.why }), runs: peers },
      warnings,
      loadAverageEnd: load(),
    }
    mkdirSync('bench-results', { recursive: true })
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    writeFileSync(join('bench-results', `publish-${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`)
    writeFileSync(join('bench-results', 'publish-latest.json'), `${JSON.stringify(summary, null, 2)}\n`)
    console.log(`warnings: ${warnings.length ? warnings.join('; ') : 'none'}`)
    console.log('wrote bench-results/publish-latest.json')
  } finally {
    await broker.stop()
  }
}

await main()
