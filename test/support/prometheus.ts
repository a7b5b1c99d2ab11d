import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { unavailable } from './services.js'
import { freePort } from '../../src/util/net.js'
import { errorMessage } from '../../src/errors.js'

/** Debian's prometheus (apt-get install prometheus; .ci/run installs it). */
export const PROMETHEUS = process.env['IOTBENCH_PROMETHEUS'] ?? '/usr/bin/prometheus'

export function requirePrometheus(t: TestContext): string | undefined {
  if (existsSync(PROMETHEUS)) return PROMETHEUS
  const problem = `no Prometheus at ${PROMETHEUS} (apt-get install prometheus, or set IOTBENCH_PROMETHEUS)`
  return unavailable(t, 'Prometheus', problem)
}

export async function pollUntil<T>(what: string, deadlineMs: number, fn: () => Promise<T | undefined>, everyMs = 250): Promise<T> {
  const end = Date.now() + deadlineMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${deadlineMs} ms${last ? ` (last error: ${errorMessage(last)})` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export interface RunningPrometheus {
  readonly url: string
  /** Everything Prometheus printed (warnings and errors), for a failing test's message. */
  output(): string
  stop(): Promise<void>
}

/** Starts Prometheus with its own config and storage in a temp folder, scraping targets every second. */
export async function startPrometheus(binary: string, targets: readonly string[]): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'iotbench-prometheus-'))
  const port = await freePort()
  const config = join(dir, 'prometheus.yml')
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: iotbench\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`,
  )
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await pollUntil('prometheus ready', 30_000, async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${out}`)
      const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(3000) })
      return r.ok ? true : undefined
    })
  } catch (err) {
    await stop()
    throw err
  }
  return { url, output: () => out, stop }
}

interface QueryResponse {
  status: string
  error?: string
  data?: {
    resultType: string
    result: Array<{ metric: Record<string, string>; values?: Array<[number, string]>; value?: [number, string] }>
  }
}

/** /api/v1/query_range: the series with at least one numeric value. */
export async function queryRange(
  url: string,
  expr: string,
  startS: number,
  endS: number,
): Promise<Array<{ metric: Record<string, string>; values: number[] }>> {
  const q = new URLSearchParams({ query: expr, start: String(startS), end: String(endS), step: '1' })
  const r = await fetch(`${url}/api/v1/query_range?${q}`, { signal: AbortSignal.timeout(10_000) })
  const body = (await r.json()) as QueryResponse
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? r.status}`)
  return (body.data?.result ?? [])
    .map((s) => ({ metric: s.metric, values: (s.values ?? []).map(([, v]) => Number(v)).filter((v) => Number.isFinite(v)) }))
    .filter((s) => s.values.length > 0)
}
