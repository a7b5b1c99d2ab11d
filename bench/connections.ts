/**
 * npm run bench:connections — how many concurrent device connections (one MQTT connection per device,
 * src/sim/connections.ts) this machine holds, the memory each costs, and the QoS 1 publish rate the
 * brokers acknowledge with all of them open.
 *
 * Target: IOTBENCH_BENCH_CONNECTIONS (default 50,000). Limits that decide the layout, measured and
 * recorded in the JSON:
 *  - RLIMIT_NOFILE (`ulimit -n`): a process holds at most that many sockets. Here the hard limit is
 *    20,000 and cannot be raised inside the container, so the devices are spread over child processes
 *    of IOTBENCH_BENCH_PER_PROCESS connections (default 15,000), and so are the brokers: each Mosquitto
 *    process also holds at most 20,000 sockets. With `ulimit -n 65536` (or a systemd LimitNOFILE) one
 *    client process and one broker would do.
 *  - Ephemeral ports: about 28k per source address (net.ipv4.ip_local_port_range 32768–60999), so
 *    the connections are spread over 127.0.0.1 … 127.0.0.n (all of 127/8 is loopback).
 * Brokers (IOTBENCH_BENCH_BROKERS, default "mosquitto,aedes"):
 *  - mosquitto: this bench's OWN Mosquitto processes (never the shared one), on free ports, with a config
 *    allowing unlimited connections, one per 15,000 devices;
 *  - aedes: the embedded broker in its own thread of this process (the zero-install default), as many
 *    connections as one process's file descriptors allow.
 * Writes bench-results/connections-<time>.json and bench-results/connections-latest.json.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import * as net from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startEmbeddedBroker } from '../src/broker/embedded.js'
import { freePort } from '../src/util/net.js'

const TARGET = Number(process.env['IOTBENCH_BENCH_CONNECTIONS'] ?? 50_000)
const PER_PROCESS = Number(process.env['IOTBENCH_BENCH_PER_PROCESS'] ?? 15_000)
const RATE = Number(process.env['IOTBENCH_BENCH_RATE'] ?? 20_000)
const SECONDS = Number(process.env['IOTBENCH_BENCH_SECONDS'] ?? 15)
const BROKERS = (process.env['IOTBENCH_BENCH_BROKERS'] ?? 'mosquitto,aedes').split(',')
const AGENT = fileURLToPath(new URL('./connections-agent.js', import.meta.url))

const nofile = (): { soft: string; hard: string } => {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'))
  if (line === undefined) throw new Error('/proc/self/limits has no "Max open files" line')
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/)
  return { soft: soft, hard: hard }
}
const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024

async function startMosquitto(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort()
  const conf = join(dir, `mosquitto-${port}.conf`)
  // max_connections -1: unlimited (the process's file descriptors are the limit).
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\nset_tcp_nodelay true\nmax_queued_messages 100000\nlog_dest stderr\nlog_type error\n`,
  )
  const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) return { url: `mqtt://127.0.0.1:${port}`, proc }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`mosquitto on ${port} did not start`)
}

interface AgentReport {
  connected: number
  failed?: number
  firstError?: string
  ms: number
  rssBytes: number
  published?: number
  acked?: number
  sendSeconds?: number
  stillOpen?: number
  error?: string
}

/** Runs the agents; returns their first (connected) and second (publish) reports. */
async function runAgents(
  urls: string[],
  total: number,
  sources: number,
  onConnected: () => void,
): Promise<{ connected: AgentReport[]; published: AgentReport[] }> {
  const n = Math.ceil(total / PER_PROCESS)
  const connected: AgentReport[] = []
  const published: AgentReport[] = []
  let waiting = n
  await Promise.all(
    Array.from({ length: n }, (_, a) => {
      const count = Math.floor(total / n) + (a < total % n ? 1 : 0)
      const offset = a * Math.floor(total / n) + Math.min(a, total % n)
      const child = spawn(
        process.execPath,
        [
          '--expose-gc',
          AGENT,
          urls.join(','),
          String(count),
          String(offset),
          String(sources),
          String(Math.round(RATE / n)),
          String(SECONDS),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      return new Promise<void>((resolve) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const m = JSON.parse(line) as AgentReport
          if (m.error) process.stderr.write(`agent ${a}: ${m.error}\n`)
          if (m.published !== undefined) published.push(m)
          else {
            connected.push(m)
            process.stderr.write(
              `agent ${a}: ${m.connected ?? 0} connections in ${m.ms ?? '?'} ms${m.failed ? `, ${m.failed} failed (${m.firstError})` : ''}\n`,
            )
            if (--waiting === 0) onConnected()
          }
        })
        child.on('exit', () => resolve())
      })
    }),
  )
  return { connected, published }
}

async function measure(broker: string): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'iotbench-conn-'))
  const stops: Array<() => Promise<void>> = []
  let urls: string[]
  let target = TARGET
  let brokerRss = (): number => 0
  if (broker === 'mosquitto') {
    const brokers = await Promise.all(Array.from({ length: Math.ceil(TARGET / PER_PROCESS) }, () => startMosquitto(dir)))
    urls = brokers.map((b) => b.url)
    brokerRss = () => brokers.reduce((n, b) => n + (b.proc.pid === undefined ? 0 : rssOf(b.proc.pid)), 0)
    for (const b of brokers) stops.push(async () => void b.proc.kill('SIGTERM'))
  } else {
    // aedes shares this process's descriptors with nothing else: one socket per connection.
    target = Math.min(TARGET, Math.floor(Number(nofile().soft) * 0.9))
    const rss0 = process.memoryUsage().rss
    const b = await startEmbeddedBroker(0, '127.0.0.1')
    urls = [b.url]
    brokerRss = () => process.memoryUsage().rss - rss0
    stops.push(() => b.stop())
  }
  const brokerIdle = brokerRss()
  const sources = Math.ceil(target / 25_000) + 1
  process.stderr.write(
    `${broker}: ${target} device connections from ${sources} source addresses, ${Math.ceil(target / PER_PROCESS)} client processes, brokers ${urls.join(' ')}\n`,
  )
  let brokerHeld = 0
  const t0 = Date.now()
  const { connected, published } = await runAgents(urls, target, sources, () => (brokerHeld = brokerRss()))
  const held = connected.reduce((n, r) => n + (r.connected ?? 0), 0)
  const clientRss = connected.reduce((n, r) => n + (r.rssBytes ?? 0), 0)
  const pub = published.reduce((n, r) => n + (r.published ?? 0), 0)
  const ack = published.reduce((n, r) => n + (r.acked ?? 0), 0)
  const sendSeconds = Math.max(...published.map((r) => r.sendSeconds ?? SECONDS))
  for (const s of stops) await s()
  return {
    broker:
      broker === 'mosquitto'
        ? `own Mosquitto processes (max_connections -1), ${urls.length}`
        : 'embedded aedes 1.2 (own thread, this process)',
    target,
    connectionsHeld: held,
    connectionsFailed: connected.reduce((n, r) => n + (r.failed ?? 0), 0),
    firstConnectError: connected.find((r) => r.firstError)?.firstError,
    stillOpenAfterPublishing: published.reduce((n, r) => n + (r.stillOpen ?? 0), 0),
    connectSeconds: Math.round((Date.now() - t0) / 100) / 10,
    clientProcesses: connected.length,
    sourceAddresses: sources,
    clientRssBytes: clientRss,
    clientBytesPerConnection: held ? Math.round(clientRss / held) : 0,
    brokerRssBytesIdle: brokerIdle,
    brokerRssBytesHeld: brokerHeld,
    brokerBytesPerConnection: held ? Math.round((brokerHeld - brokerIdle) / held) : 0,
    publish: { offeredPerS: RATE, seconds: sendSeconds, published: pub, acked: ack, ackedPerS: Math.round(ack / sendSeconds), qos: 1 },
  }
}

async function main(): Promise<void> {
  const runs: Record<string, unknown>[] = []
  for (const b of BROKERS) runs.push(await measure(b))
  const summary = {
    bench: 'connections',
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      memBytes: totalmem(),
      nofile: nofile(),
      ipLocalPortRange: readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim(),
      note: 'shared with other work while measured',
    },
    targetConnections: TARGET,
    perProcess: PER_PROCESS,
    runs,
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
  mkdirSync('bench-results', { recursive: true })
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  writeFileSync(join('bench-results', `connections-${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`)
  writeFileSync(join('bench-results', 'connections-latest.json'), `${JSON.stringify(summary, null, 2)}\n`)
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`)
    process.exit(1)
  },
)
