import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type pg from 'pg'
import { fleetSize } from '../fleet.js'
import type { MetricsSink, ThreadSnapshot } from '../metrics/thread-metrics.js'
import type { OracleSpec } from '../sim/oracle.js'
import { splitRange } from '../util/shares.js'
import type { DeviceExpectations } from './alerts.js'

/**
 * The oracle's fingerprint of one device's whole stream, seqs 0..perDevice−1 (src/verify/digest.ts),
 * and what P5 expects of its alerts (src/verify/alerts.ts; absent for a replayed trace).
 */
export interface OracleDigest {
  readonly rows: number
  readonly digest: string
  readonly exact: boolean
  readonly alerts?: DeviceExpectations
}
export type OracleDigests = ReadonlyMap<string, OracleDigest>

/** What the digest threads need: the oracle's constants and how many readings each device sends. */
export interface DigestSpec extends OracleSpec {
  readonly perDevice: number
}

export interface DigestTask {
  readonly spec: DigestSpec
  readonly from: number
  readonly to: number
  readonly paced: boolean
  readonly metrics?: boolean
}
export type FromDigestThread =
  | { readonly ok: true; readonly rows: DigestRow[] }
  | { readonly ok: false; readonly message: string }
  | { readonly metrics: ThreadSnapshot }
export type DigestRow = readonly [device: string, rows: number, digest: string, exact: boolean, alerts: DeviceExpectations | null]

/** Oracle digests being computed in the background; `hurry` lifts the pacing once the load is over. */
export interface PendingDigests {
  readonly result: Promise<OracleDigests>
  hurry(): void
  stop(): Promise<void>
}

const DIGEST_WORKER = new URL('./oracle-digest-worker.js', import.meta.url)

/**
 * Regenerates every device's stream from the seed in worker threads and digests it. `paced` (during a
 * run's load) keeps one thread at about a third of a core until `hurry`, so the load keeps its CPU;
 * otherwise one thread per core works flat out. `script` is the thread's module (a stand-in in tests).
 */
export function computeDigests(
  spec: DigestSpec,
  opts: { paced?: boolean; threads?: number; metrics?: MetricsSink; script?: URL } = {},
): PendingDigests {
  const devices = fleetSize(spec.fleet)
  const threads = Math.max(1, Math.min(opts.paced ? 1 : (opts.threads ?? availableParallelism()), devices))
  const workers = splitRange(devices, threads).map(
    ([from, to]) =>
      new Worker(opts.script ?? DIGEST_WORKER, {
        workerData: { spec, from, to, paced: opts.paced === true, metrics: opts.metrics !== undefined } satisfies DigestTask,
      }),
  )
  for (const w of workers) w.unref()
  const parts = workers.map(
    (w, i) =>
      new Promise<DigestRow[]>((resolve, reject) => {
        const thread = threads === 1 ? 'oracle' : `oracle-${i}`
        w.on('message', (m: FromDigestThread) => {
          if ('metrics' in m) opts.metrics?.update(thread, m.metrics)
          else if (m.ok) resolve(m.rows)
          else reject(new Error(`oracle digests: ${m.message}`))
        })
        w.once('exit', () => opts.metrics?.finish(thread))
        w.once('error', reject)
        w.once('exit', (code) => reject(new Error(`oracle digest thread exited with ${code}`)))
      }),
  )
  const result = Promise.all(parts).then(
    (all) =>
      new Map(all.flat().map(([device, rows, digest, exact, alerts]) => [device, { rows, digest, exact, ...(alerts && { alerts }) }])),
  )
  result.catch(() => undefined) // a run that fails before verifying never awaits it
  return {
    result,
    hurry: () => {
      for (const w of workers) w.postMessage('hurry')
    },
    stop: async () => {
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
}

/** The run's stored oracle digests, when every device of its fleet has one. */
export async function loadDigests(client: pg.Client, runId: number, spec: DigestSpec): Promise<OracleDigests | undefined> {
  const r = await client.query<{ device: string; rows: number; digest: string | null; exact: boolean; alerts: DeviceExpectations | null }>(
    'SELECT device, rows, digest::text, exact, alert_expectations AS alerts FROM oracle_digests WHERE run_id = $1',
    [runId],
  )
  // digest is NULL on rows stored by a release with the older digest: those are regenerated.
  if (r.rows.length !== fleetSize(spec.fleet)) return undefined
  const digests = new Map<string, OracleDigest>()
  for (const x of r.rows) {
    if (x.rows !== spec.perDevice || x.digest === null) return undefined
    digests.set(x.device, { rows: x.rows, digest: x.digest, exact: x.exact, ...(x.alerts && { alerts: x.alerts }) })
  }
  return digests
}

export async function storeDigests(client: pg.Client, runId: number, digests: OracleDigests): Promise<void> {
  const list = [...digests.entries()]
  await client.query(
    `INSERT INTO oracle_digests (run_id, device, rows, digest, exact, alert_expectations)
     SELECT $1, * FROM unnest($2::text[], $3::int[], $4::numeric[], $5::bool[], $6::jsonb[])
     ON CONFLICT (run_id, device) DO UPDATE SET rows = excluded.rows, digest = excluded.digest, exact = excluded.exact, alert_expectations = excluded.alert_expectations`,
    [
      runId,
      list.map(([d]) => d),
      list.map(([, x]) => x.rows),
      list.map(([, x]) => x.digest),
      list.map(([, x]) => x.exact),
      list.map(([, x]) => (x.alerts ? JSON.stringify(x.alerts) : null)),
    ],
  )
}

/**
 * The oracle digests of a run: `pending` (computed while its load ran), else those stored with the
 * run, else regenerated now from the seed — and stored, so the next `iotbench verify` reuses them.
 * `regenerate` ignores stored digests (and replaces them).
 */
export async function digestsFor(
  client: pg.Client,
  runId: number,
  spec: DigestSpec,
  opts: { pending?: PendingDigests; regenerate?: boolean } = {},
): Promise<{ digests: OracleDigests; source: 'computed during the run' | 'stored with the run' | 'regenerated from the seed' }> {
  if (opts.pending && !opts.regenerate) {
    opts.pending.hurry()
    const digests = await opts.pending.result
    await storeDigests(client, runId, digests)
    return { digests, source: 'computed during the run' }
  }
  const stored = opts.regenerate ? undefined : await loadDigests(client, runId, spec)
  if (stored) return { digests: stored, source: 'stored with the run' }
  // Its threads are ended once they answer: idle, they would hold their memory (and a test process) until exit.
  const regenerating = computeDigests(spec)
  const digests = await regenerating.result.finally(() => regenerating.stop())
  await storeDigests(client, runId, digests)
  return { digests, source: 'regenerated from the seed' }
}
