import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type pg from 'pg'
import { SQL_DIR } from '../paths.js'
import { quoteIdent, type Storage } from './connect.js'
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
}

/**
 * A migration file: `NNN_name.sql` runs everywhere; `NNN_name.timescaledb.sql` and
 * `NNN_name.postgresql.sql` are the two variants of one version, and only the one for the storage at
 * hand runs. A file whose first line is `-- iotbench:no-transaction` runs statement by statement
 * outside a transaction (TimescaleDB continuous aggregates require that), so it must be idempotent.
 */
interface Migration { readonly version: number; readonly file: string; readonly storage: Storage | 'any' }

export function listMigrations(dir = SQL_DIR): Migration[] {
  return readdirSync(dir)
    .map((file) => /^(\d+)_[a-z0-9_]+(?:\.(timescaledb|postgresql))?\.sql$/.exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): Migration => ({ version: Number(m[1]), file: m[0], storage: (m[2] as Storage | undefined) ?? 'any' }))
    .sort((a, b) => a.version - b.version || a.file.localeCompare(b.file))
}

/**
 * Applies the migrations in sql/ in order, each version once, under an advisory lock so two runs
 * starting together do not race. Uses TimescaleDB when the server offers it.
 */
export async function migrate(db: SqlSession, schema: string, dir = SQL_DIR): Promise<MigrationResult> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
  await db.query(`SET search_path TO ${quoteIdent(schema)}, public`)
  const available = await db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`)
  if (available.rows.length) await db.query('CREATE EXTENSION IF NOT EXISTS timescaledb').catch(() => undefined)
  const storage = await detectStorage(db)
  const lock = `iotbench-migrate-${schema}`
  await db.query('SELECT pg_advisory_lock(hashtext($1))', [lock])
  try {
    await db.query(`CREATE TABLE IF NOT EXISTS iotbench_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const done = new Set((await db.query('SELECT version FROM iotbench_migrations')).rows.map((r: { version: number }) => r.version))
    const applied: string[] = []
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
    return { storage, applied }
  } finally {
    await db.query('SELECT pg_advisory_unlock(hashtext($1))', [lock])
  }
}

export async function detectStorage(db: SqlSession): Promise<Storage> {
  const r = await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)
  return r.rows.length ? 'timescaledb' : 'postgresql'
}
