import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type pg from 'pg'
import { connectionOf } from '../db/connect.js'
import { InfraError, errorMessage } from '../errors.js'
import { deviceAt, fleetSize } from '../fleet.js'
import { KIND_NAMES, type Kind } from '../kinds.js'
import type { DeviceRange, SetReport } from './completeness.js'
import type { OrderReport } from './ordering.js'
import type { RunManifest } from './types.js'
import { checkKind } from './check-kind.js'

export interface KindReport {
  set: SetReport
  order: OrderReport
}
export interface ShareTask {
  readonly url: string
  readonly schema: string
  readonly runId: number
  readonly manifest: RunManifest
  readonly kind: Kind
  readonly range: DeviceRange
}

const SAMPLES = 20
/** Below this many readings of a kind, a thread costs more than it saves. */
const MIN_PARALLEL_READINGS = 200_000

/**
 * Connection URL (TLS settings included) and current schema of a client opened by connect(), for
 * worker threads and side connections to open their own with the same settings.
 */
export async function whereIs(client: pg.Client): Promise<{ url: string; schema: string }> {
  const known = connectionOf(client)
  if (!known)
    throw new Error('verification needs a client opened by connect() (src/db/connect.ts): it opens more connections with the same URL')
  return { url: known.url, schema: String((await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s) }
}

/** Contiguous ranges of a kind's device ids (code-point order) with about the same number of devices each. */
export function shares(ids: readonly string[], parts: number): DeviceRange[] {
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const cuts = Array.from({ length: parts - 1 }, (_, i) => sorted[Math.floor(((i + 1) * sorted.length) / parts)])
  return Array.from({ length: parts }, (_, i) => ({ ...(i > 0 && { lo: cuts[i - 1] }), ...(i < parts - 1 && { hi: cuts[i] }) }))
}

export function mergeReports(reports: readonly KindReport[]): KindReport {
  const [first, ...rest] = reports
  const set: SetReport = {
    counts: { ...first.set.counts },
    lost: [...first.set.lost],
    duplicated: [...first.set.duplicated],
    unexpected: [...first.set.unexpected],
    corrupted: [...first.set.corrupted],
    lostByDevice: [...first.set.lostByDevice],
  }
  const order: OrderReport = { ...first.order, samples: [...first.order.samples] }
  for (const r of rest) {
    for (const k of Object.keys(set.counts) as Array<keyof SetReport['counts']>) set.counts[k] += r.set.counts[k]
    for (const k of ['lost', 'duplicated', 'unexpected', 'corrupted'] as const) set[k].push(...r.set[k].slice(0, SAMPLES - set[k].length))
    set.lostByDevice.push(...r.set.lostByDevice)
    order.rows += r.order.rows
    order.outOfOrder += r.order.outOfOrder
    order.worstDisplacement = Math.max(order.worstDisplacement, r.order.worstDisplacement)
    order.samples.push(...r.order.samples.slice(0, SAMPLES - order.samples.length))
  }
  set.lostByDevice.sort((a, b) => b[1] - a[1]).splice(SAMPLES)
  return { set, order }
}

/** What a share thread posts once: its report, or why it has none (`hint` when the cause was an InfraError). */
export type ShareReply = { ok: true; report: KindReport } | { ok: false; message: string; hint?: string }

const SHARE_WORKER = new URL('./share-worker.js', import.meta.url)

const isShareReply = (m: unknown): m is ShareReply => {
  const r = m as { ok?: unknown; message?: unknown; hint?: unknown; report?: Partial<KindReport> } | null | undefined
  if (r?.ok === false) return typeof r.message === 'string' && ['undefined', 'string'].includes(typeof r.hint)
  return r?.ok === true && typeof r.report?.set === 'object' && typeof r.report.order === 'object'
}

const shareName = ({ kind, range }: ShareTask): string => `the ${kind} share ${range.lo ?? '(first)'}…${range.hi ?? '(last)'}`

/** One share on its own thread (`started` collects it, so a failure elsewhere can end it); settles on its reply, error or exit, whichever comes first. */
function inThread(task: ShareTask, script: URL, started: Worker[]): Promise<KindReport> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, options?: ErrorOptions) => reject(new Error(`verification thread for ${shareName(task)} ${why}`, options))
    const w = new Worker(script, { workerData: task })
    started.push(w)
    w.once('message', (m: unknown) => {
      if (!isShareReply(m)) fail(`sent a message that is not a report: ${JSON.stringify(m)?.slice(0, 200)}`)
      else if (m.ok) resolve(m.report)
      else if (m.hint !== undefined) reject(new InfraError(m.message, m.hint))
      else fail(`failed: ${m.message}`)
    })
    w.once('error', (err) => fail(`failed: ${errorMessage(err)}`, { cause: err }))
    // A thread's messages arrive before its 'exit'; an exit with no reply at all, even with code 0, is a failure.
    w.once('exit', (code) => fail(`exited with code ${code} before its report`))
  })
}

/** Each task on its own thread, the reports in task order. The first failure is the answer, and the other threads are terminated. */
export async function inThreads(tasks: readonly ShareTask[], script = SHARE_WORKER): Promise<KindReport[]> {
  const started: Worker[] = []
  try {
    return await Promise.all(tasks.map((task) => inThread(task, script, started)))
  } catch (err) {
    await Promise.all(started.map((w) => w.terminate()))
    throw err
  }
}

/**
 * P1–P3 for every kind, row by row. A kind with many readings is split into contiguous ranges of
 * device ids, each checked by its own thread over its own connection (the oracle is CPU-bound: one
 * core per share); the reports merge exactly (counts add, samples and worst cases combine).
 */
export async function checkKinds(
  client: pg.Client,
  runId: number,
  manifest: RunManifest,
  threads = availableParallelism(),
): Promise<Map<Kind, KindReport>> {
  const out = new Map<Kind, KindReport>()
  for (const kind of KIND_NAMES) out.set(kind, await checkKindExactly(client, runId, manifest, kind, threads))
  return out
}

/** P1–P3 of one kind row by row, over as many threads as its size is worth. */
export async function checkKindExactly(
  client: pg.Client,
  runId: number,
  manifest: RunManifest,
  kind: Kind,
  threads = availableParallelism(),
): Promise<KindReport> {
  const ids: string[] = []
  for (let i = 0; i < fleetSize(manifest.fleet); i++) {
    const d = deviceAt(manifest.fleet, i)
    if (d.kind === kind) ids.push(d.id)
  }
  const parts = Math.min(threads, ids.length, Math.floor((ids.length * manifest.perDevice) / MIN_PARALLEL_READINGS))
  if (parts < 2) return checkKind(client, runId, manifest, kind)
  const where = await whereIs(client)
  return mergeReports(await inThreads(shares(ids, parts).map((range) => ({ ...where, runId, manifest, kind, range }))))
}
