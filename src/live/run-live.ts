import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { LiveSlice } from '../config/slices.js'
import { InfraError } from '../errors.js'
import type { MetricsSink } from '../metrics/thread-metrics.js'
import { shareOf } from '../util/shares.js'
import type { ClientReport } from './client-record.js'
import type { ClientSpec, ClientsWorkerData, FromClients, ToClients } from './clients-messages.js'
import { LiveFeed, type CommittedAlert, type CommittedReading, type FeedStats } from './feed-server.js'

/** What the simulated clients recorded, for P9. */
export interface LiveEvidence {
  readonly reports: readonly ClientReport[]
  readonly latency: { readonly steady: readonly string[]; readonly reconnecting: readonly string[] }
  readonly feed: FeedStats
  readonly heads: Readonly<Record<string, number>>
  readonly reconnectsPlanned: number
  /** live-clients.jsonl: every client's record, one line each. */
  readonly file: string
}

export interface LiveRun {
  /** The live page (and /feed) address. */
  readonly url: string
  /** One committed batch from an ingest thread. */
  publish(readings: readonly CommittedReading[], alerts: readonly CommittedAlert[]): void
  /** After the ingest has stopped: tells clients the final heads, waits for them, writes their records. */
  finish(dir: string): Promise<LiveEvidence | undefined>
  /** Keeps the page up `liveLingerSeconds`, then closes the feed. */
  stop(): Promise<void>
}

/** What the runs table keeps (the client records stay in their file), so `iotbench verify` can check P9 again. */
export type StoredLive = Omit<LiveEvidence, 'reports'>
export const storedLive = ({ reports: _, ...rest }: LiveEvidence): StoredLive => rest

/** The evidence again from the runs table and the client records file; undefined when the file is gone. */
export function loadLive(stored: StoredLive | undefined): LiveEvidence | undefined {
  if (!stored || !existsSync(stored.file)) return undefined
  const reports = readFileSync(stored.file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ClientReport)
  return { ...stored, reports }
}

/** The simulated clients: client i follows farms i·k … i·k + k − 1 (mod farms); reconnect j drops client j mod n. */
export function clientSpecs(
  farms: readonly string[],
  clients: number,
  farmsPerClient: number,
  reconnects: number,
  durationMs: number,
): ClientSpec[] {
  const k = Math.min(farmsPerClient, farms.length)
  return Array.from({ length: clients }, (_, i) => {
    const drops: number[] = []
    for (let j = i; j < reconnects; j += clients) drops.push(Math.round(((j + 1) / (reconnects + 1)) * durationMs))
    return { client: i, farms: Array.from({ length: k }, (_, j) => farms[(i * k + j) % farms.length]), dropsAtMs: drops }
  })
}

/** Starts the feed (and the simulated clients) when the run asks for either; undefined otherwise. */
export async function openLive(cfg: LiveSlice, log: (line: string) => void, metrics?: MetricsSink): Promise<LiveRun | undefined> {
  if (cfg.port === undefined && cfg.clients === 0) return undefined
  const { farms, host } = cfg
  const feed = new LiveFeed({ farms, replayEvents: cfg.replayEvents, clientBufferBytes: cfg.clientBufferBytes })
  const url = await feed.listen(host, cfg.port ?? 0).catch((err: NodeJS.ErrnoException) => {
    throw new InfraError(
      `the live page cannot listen on ${host}:${cfg.port ?? 0}: ${err.message}`,
      err.code === 'EADDRINUSE' ? 'pick another --live-port (0: any free port)' : 'check --live-host and --live-port',
      { cause: err },
    )
  })
  if (cfg.port !== undefined) log(`live page: ${url}  (feed: ${url.replace(/^http/, 'ws')}feed)`)

  const specs = clientSpecs(farms, cfg.clients, cfg.farmsPerClient, cfg.reconnects, cfg.durationMs)
  const threads = cfg.clients === 0 ? 0 : Math.min(2, Math.ceil(cfg.clients / 500))
  const done: Array<Promise<Extract<FromClients, { kind: 'done' }>>> = []
  const workers: Worker[] = []
  const ready: Promise<void>[] = []
  let offset = 0
  for (let t = 0; t < threads; t++) {
    const n = shareOf(specs.length, threads, t)
    const wd: ClientsWorkerData = {
      url: `${url.replace(/^http/, 'ws')}feed`,
      clients: specs.slice(offset, offset + n),
      reconnectDelayMs: 300,
    }
    offset += n
    const w = new Worker(new URL('./clients-worker.js', import.meta.url), { workerData: wd })
    workers.push(w)
    let onDone: (m: Extract<FromClients, { kind: 'done' }>) => void = () => undefined
    done.push(new Promise((resolve) => (onDone = resolve)))
    ready.push(
      new Promise<void>((resolve, reject) => {
        w.on('message', (m: FromClients) => {
          if (m.kind === 'ready') resolve()
          else if (m.kind === 'log') log(`live clients: ${m.line}`)
          else if (m.kind === 'metrics') metrics?.update(`live-clients-${t}`, m.metrics)
          else onDone(m)
        })
        w.once('error', reject)
        w.once('exit', () => {
          metrics?.finish(`live-clients-${t}`)
          reject(new Error('a live clients thread exited before its clients subscribed'))
        })
      }),
    )
  }
  try {
    await Promise.all(ready)
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()))
    await feed.close()
    throw err
  }
  if (cfg.clients > 0)
    log(
      `live clients: ${cfg.clients} subscribed (${Math.min(cfg.farmsPerClient, farms.length)} farms each, ${cfg.reconnects} reconnects planned)`,
    )

  return {
    url,
    publish: (readings, alerts) => feed.publish(readings, alerts),
    async finish(dir) {
      feed.end()
      if (workers.length === 0) return undefined
      for (const w of workers) w.postMessage({ kind: 'finish', deadlineMs: cfg.drainMs } satisfies ToClients)
      const results = await Promise.all(done)
      mkdirSync(dir, { recursive: true })
      const file = resolve(join(dir, 'live-clients.jsonl'))
      const out = createWriteStream(file)
      for (const r of results) for (const rep of r.reports) out.write(`${JSON.stringify(rep)}\n`)
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
      return {
        reports: results.flatMap((r) => r.reports),
        latency: { steady: results.map((r) => r.latency.steady), reconnecting: results.map((r) => r.latency.reconnecting) },
        feed: { ...feed.stats },
        heads: feed.heads(),
        reconnectsPlanned: cfg.reconnects,
        file,
      }
    },
    async stop() {
      await Promise.all(workers.map((w) => w.terminate()))
      if (cfg.lingerSeconds > 0) await new Promise((r) => setTimeout(r, cfg.lingerSeconds * 1000))
      await feed.close()
    },
  }
}
