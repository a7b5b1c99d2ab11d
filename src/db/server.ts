import { InfraError } from '../errors.js'
import type { Storage } from './connect.js'
import type { SqlSession } from './migrate.js'
import { textOf } from '../util/text.js'

/** What the user asked for with --storage: TimescaleDB when the server has it (auto), or one of the two. */
export type StorageChoice = 'auto' | Storage
export const STORAGE_CHOICES: readonly StorageChoice[] = ['auto', 'timescaledb', 'postgresql']

/**
 * What the database server is and offers, read once before the migrations. Every decision below is a
 * pure function of these facts, so each branch (not preloaded, too few workers, …) is tested as data.
 */
export interface ServerFacts {
  /** `server_version`, e.g. "15.20 (Debian 15.20-0+deb12u1)". */
  readonly serverVersion: string
  /** The version `CREATE EXTENSION timescaledb` would install, when the server has the extension's files. */
  readonly timescaledbAvailable: string | null
  /** The extension as created in this database: its version and schema. */
  readonly timescaledbInstalled: { readonly version: string; readonly schema: string } | null
  /**
   * TimescaleDB's loader is in the server (it defines `timescaledb.max_background_workers` when
   * `shared_preload_libraries` names timescaledb). Without it `CREATE EXTENSION` is a FATAL that ends
   * the connection.
   */
  readonly loaderPresent: boolean
  /** An in-process engine (the WebAssembly build the tests use): it loads the extension itself and runs no background workers. */
  readonly inProcess: boolean
  readonly maxWorkerProcesses: number | null
  /** `timescaledb.max_background_workers` (null: no loader). */
  readonly maxBackgroundWorkers: number | null
  /** `timescaledb.restoring` is on (timescaledb_pre_restore()): the scheduler is stopped. */
  readonly restoring: boolean
}

const num = (v: unknown): number | null => (v === null || v === undefined || v === '' || !Number.isFinite(Number(v)) ? null : Number(v))

export async function readServerFacts(db: SqlSession): Promise<ServerFacts> {
  const r = (
    await db.query(`SELECT current_setting('server_version') AS server_version, version() AS version,
      current_setting('max_worker_processes', true) AS max_worker_processes,
      current_setting('timescaledb.max_background_workers', true) AS max_background_workers,
      current_setting('timescaledb.restoring', true) AS restoring,
      (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
      (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'timescaledb') AS installed,
      (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb') AS installed_schema`)
  ).rows[0] as Record<string, unknown>
  return {
    serverVersion: textOf(r.server_version ?? 'unknown'),
    timescaledbAvailable: (r.available as string | null) ?? null,
    timescaledbInstalled: r.installed ? { version: textOf(r.installed), schema: textOf(r.installed_schema) } : null,
    loaderPresent: r.max_background_workers !== null && r.max_background_workers !== undefined,
    inProcess: /emscripten/i.test(textOf(r.version ?? '')),
    maxWorkerProcesses: num(r.max_worker_processes),
    maxBackgroundWorkers: num(r.max_background_workers),
    restoring: r.restoring === 'on',
  }
}

export interface StoragePlan {
  readonly storage: Storage
  /** Create the extension (in public, where TimescaleDB's docs put it, so psql and Grafana reach it). */
  readonly createExtension: boolean
}

const PRELOAD_HINT =
  "add timescaledb to shared_preload_libraries in postgresql.conf (shared_preload_libraries = 'timescaledb') and restart the server, or run with --storage postgresql"

/** Which storage a run gets; a setting-up problem is an InfraError (exit 5) naming what to change. */
export function planStorage(f: ServerFacts, choice: StorageChoice): StoragePlan {
  if (choice === 'postgresql') {
    // Never an extension behind the user's back; a database that already has it keeps hypertables,
    // which a plain-PostgreSQL bench must not silently create in.
    if (f.timescaledbInstalled) {
      throw new InfraError(
        `--storage postgresql, but this database has the timescaledb extension (${f.timescaledbInstalled.version} in schema ${f.timescaledbInstalled.schema}): its tables would become hypertables`,
        'use a database without the extension for a plain-PostgreSQL bench, or run with --storage timescaledb (or auto)',
      )
    }
    return { storage: 'postgresql', createExtension: false }
  }
  if (f.timescaledbInstalled) return { storage: 'timescaledb', createExtension: false }
  if (f.timescaledbAvailable === null) {
    if (choice === 'timescaledb') {
      throw new InfraError(
        `--storage timescaledb, but the server (PostgreSQL ${f.serverVersion}) has no timescaledb extension installed`,
        'install TimescaleDB 2.x on the server (docker compose up starts one), or run with --storage postgresql (auto picks it on a plain server)',
      )
    }
    return { storage: 'postgresql', createExtension: false }
  }
  if (!f.loaderPresent && !f.inProcess) {
    throw new InfraError(
      `the server has TimescaleDB ${f.timescaledbAvailable} installed but not preloaded: CREATE EXTENSION timescaledb would end the connection`,
      PRELOAD_HINT,
    )
  }
  return { storage: 'timescaledb', createExtension: true }
}

/** The background workers the bench's policy jobs need at once, and what the server gives (TimescaleDB's "failed to start a background worker"). */
export interface WorkerNeed {
  readonly jobs: number
  /** timescaledb.max_background_workers: one for this database's scheduler plus one per job that may run at once. */
  readonly timescaledbWorkers: number
  /** max_worker_processes: 3 + those (TimescaleDB's sizing guidance: the launcher, PostgreSQL's own workers), before parallel query workers. */
  readonly workerProcesses: number
}

export const workerNeed = (jobs: number): WorkerNeed => ({ jobs, timescaledbWorkers: jobs + 1, workerProcesses: jobs + 4 })

/**
 * Too few workers for the jobs the bench creates: an InfraError naming each setting and the value it
 * needs (TimescaleDB's docs: max_background_workers = databases + concurrent jobs; max_worker_processes
 * = 3 + that + max_parallel_workers). Undefined when the server can run them all at once, or runs no
 * scheduler at all (an in-process engine), which P8 reports instead.
 */
export function checkWorkers(f: ServerFacts, jobs: number): InfraError | undefined {
  if (f.inProcess || jobs === 0) return undefined
  const need = workerNeed(jobs)
  const short: string[] = []
  if (f.maxBackgroundWorkers !== null && f.maxBackgroundWorkers < need.timescaledbWorkers)
    short.push(`timescaledb.max_background_workers = ${f.maxBackgroundWorkers} (needs ≥ ${need.timescaledbWorkers})`)
  if (f.maxWorkerProcesses !== null && f.maxWorkerProcesses < need.workerProcesses)
    short.push(`max_worker_processes = ${f.maxWorkerProcesses} (needs ≥ ${need.workerProcesses})`)
  if (short.length === 0) return undefined
  return new InfraError(
    `the server has too few background workers for the bench's ${jobs} TimescaleDB policy jobs: ${short.join(', ')}; jobs would fail with "failed to start a background worker"`,
    `raise them in postgresql.conf and restart (e.g. timescaledb.max_background_workers = 16, max_worker_processes = ${Math.max(32, need.workerProcesses)}; add max_parallel_workers on top), as docker-compose.yml does; see docs/timescaledb.md`,
  )
}

/** The server as result.json and the reports record it. */
export interface ServerEnvironment {
  readonly serverVersion: string
  /** The TimescaleDB extension's version, or null on plain PostgreSQL. */
  readonly timescaledbVersion: string | null
  /** Whether TimescaleDB's scheduler can run the policy jobs, and why not. */
  readonly backgroundJobs: string
}

export function serverEnvironment(f: ServerFacts, storage: Storage): ServerEnvironment {
  const version = storage === 'timescaledb' ? (f.timescaledbInstalled?.version ?? f.timescaledbAvailable) : null
  const jobs =
    storage !== 'timescaledb'
      ? 'not applicable (plain PostgreSQL)'
      : f.inProcess
        ? 'none (in-process engine: no background scheduler)'
        : f.restoring
          ? 'disabled (timescaledb.restoring = on)'
          : f.maxBackgroundWorkers === 0
            ? 'disabled (timescaledb.max_background_workers = 0)'
            : `enabled (timescaledb.max_background_workers = ${f.maxBackgroundWorkers ?? 'unknown'}, max_worker_processes = ${f.maxWorkerProcesses ?? 'unknown'})`
  return { serverVersion: f.serverVersion, timescaledbVersion: version, backgroundJobs: jobs }
}
