import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type pg from 'pg'
import { SQL_DIR } from '../paths.js'
import { InfraError, errorMessage } from '../errors.js'
import { quoteIdent, type Storage } from './connect.js'
import {
  checkWorkers,
  planStorage,
  readServerFacts,
  serverEnvironment,
  type ServerEnvironment,
  type ServerFacts,
  type StorageChoice,
} from './server.js'
import { splitSql } from './sql-split.js'

/** The little a migration needs from a connection: node-postgres and PGlite both fit behind it. */
export interface SqlSession {
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>
  /** Runs a script that may hold several statements. */
  exec(sql: string): Promise<unknown>
}

export const pgSession = (client: pg.Client): SqlSession => ({
  query: (sql, params) => client.query(sql, params),
  exec: (sql) => client.query(sql),
})

export interface MigrationResult {
  readonly storage: Storage
  readonly applied: readonly string[]
  readonly facts: ServerFacts
  /** The server as result.json records it (versions, whether background jobs run). */
  readonly environment: ServerEnvironment
}

export interface MigrateOptions {
  /** --storage: auto (TimescaleDB when the server has it), timescaledb or postgresql. */
  readonly storage?: StorageChoice
  readonly dir?: string
}

/**
 * A migration file: `NNN_name.sql` runs everywhere; `NNN_name.timescaledb.sql` and
 * `NNN_name.postgresql.sql` are the two variants of one version, and only the one for the storage at
 * hand runs. A file whose first line is `-- iotbench:no-transaction` runs statement by statement
 * outside a transaction (TimescaleDB continuous aggregates require that), so it must be idempotent.
 */
interface Migration {
  readonly version: number
  readonly file: string
  readonly storage: Storage | 'any'
}

export function listMigrations(dir = SQL_DIR): Migration[] {
  return readdirSync(dir)
    .map((file) => /^(\d+)_[a-z0-9_]+(?:\.(timescaledb|postgresql))?\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): Migration => ({ version: Number(m[1]), file: m[0], storage: (m[2] as Storage | undefined) ?? 'any' }))
    .sort((a, b) => a.version - b.version || a.file.localeCompare(b.file))
}

/**
 * Applies the migrations in sql/ in order, each version once, under an advisory lock so two runs
 * starting together do not race. The storage follows --storage and what the server offers
 * (src/db/server.ts); a server that cannot give it is an InfraError (exit 5) naming what to change.
 */
export async function migrate(db: SqlSession, schema: string, opts: MigrateOptions = {}): Promise<MigrationResult> {
  const dir = opts.dir ?? SQL_DIR
  const facts = await readServerFacts(db)
  const plan = planStorage(facts, opts.storage ?? 'auto')
  if (plan.createExtension) {
    // In public, where TimescaleDB's docs put it: under the run's search_path it would land in the bench's
    // schema, out of reach of psql and Grafana, and dropping that schema would drop the extension.
    await db.query('CREATE EXTENSION IF NOT EXISTS timescaledb WITH SCHEMA public').catch((err: unknown) => {
      const hint = (err as { hint?: string }).hint
      throw new InfraError(
        `CREATE EXTENSION timescaledb failed: ${errorMessage(err)}${hint ? ` (${hint})` : ''}`,
        "the database must be owned by the bench's user (TimescaleDB is a trusted extension) or have the extension created by a superuser; or run with --storage postgresql",
        { cause: err },
      )
    })
  }
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
  await db.query(`SET search_path TO ${quoteIdent(schema)}, public`)
  const storage = plan.storage
  const lock = `iotbench-migrate-${schema}`
  const applied: string[] = []
  await db.query('SELECT pg_advisory_lock(hashtext($1))', [lock])
  try {
    await db.query(`CREATE TABLE IF NOT EXISTS iotbench_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const done = new Set((await db.query('SELECT version FROM iotbench_migrations')).rows.map((r: { version: number }) => r.version))
    for (const m of listMigrations(dir)) {
      if (done.has(m.version) || (m.storage !== 'any' && m.storage !== storage)) continue
      const script = readFileSync(join(dir, m.file), 'utf8')
      try {
        if (script.startsWith('-- iotbench:no-transaction')) {
          for (const statement of splitSql(script)) await db.query(statement)
          await db.query('INSERT INTO iotbench_migrations (version, name) VALUES ($1, $2)', [m.version, m.file])
        } else {
          await db.query('BEGIN')
          try {
            await db.exec(script)
            await db.query('INSERT INTO iotbench_migrations (version, name) VALUES ($1, $2)', [m.version, m.file])
            await db.query('COMMIT')
          } catch (err) {
            await db.query('ROLLBACK')
            throw err
          }
        }
      } catch (err) {
        throw new Error(`migration ${m.file} failed: ${(err as Error).message}`, { cause: err })
      }
      applied.push(m.file)
      done.add(m.version)
    }
  } finally {
    await db.query('SELECT pg_advisory_unlock(hashtext($1))', [lock])
  }
  const after = await readServerFacts(db)
  if (storage === 'timescaledb') {
    const short = checkWorkers(after, await countPolicyJobs(db, schema))
    if (short) throw short
  }
  return { storage, applied, facts: after, environment: serverEnvironment(after, storage) }
}

/** The TimescaleDB policy jobs on the bench's hypertables and continuous aggregates. */
export async function countPolicyJobs(db: SqlSession, schema: string): Promise<number> {
  const r = await db.query(
    `SELECT count(*)::int AS n FROM timescaledb_information.jobs j
     LEFT JOIN timescaledb_information.continuous_aggregates ca
       ON ca.materialization_hypertable_schema = j.hypertable_schema AND ca.materialization_hypertable_name = j.hypertable_name
     WHERE j.hypertable_schema = $1 OR ca.view_schema = $1`,
    [schema],
  )
  return Number(r.rows[0]?.n ?? 0)
}

export async function detectStorage(db: SqlSession): Promise<Storage> {
  const r = await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)
  return r.rows.length ? 'timescaledb' : 'postgresql'
}

/**
 * Drops a bench schema and everything in it — never more: it refuses (and drops nothing) when an
 * extension lives in the schema (an older iotbench created timescaledb under the run's search_path),
 * since DROP SCHEMA … CASCADE would drop the extension and with it every hypertable in the database.
 */
export async function dropBenchSchema(db: SqlSession, schema: string): Promise<void> {
  const ext = await db.query(`SELECT e.extname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $1`, [
    schema,
  ])
  if (ext.rows.length > 0) {
    const names = ext.rows.map((r: { extname: string }) => r.extname).join(', ')
    throw new InfraError(
      `schema ${schema} holds the extension ${names}: dropping it would drop the extension and everything that depends on it, outside the schema too`,
      `drop the bench's tables one by one, or have an administrator move the extension to public (DROP EXTENSION … CASCADE, then CREATE EXTENSION … WITH SCHEMA public) when nothing else uses it`,
    )
  }
  await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`)
}
