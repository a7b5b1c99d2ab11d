import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type pg from 'pg'
import { SQL_DIR } from '../paths.js'
import { detectStorage, quoteIdent, type Storage } from './connect.js'

export interface MigrationResult {
  readonly storage: Storage
  readonly applied: readonly string[]
}

/**
 * Applies sql/NNN_*.sql in order, each once, in its own transaction, under an advisory lock so two
 * runs starting together do not race. Uses TimescaleDB when the server has it.
 */
export async function migrate(client: pg.Client, schema: string, dir = SQL_DIR): Promise<MigrationResult> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
  const available = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`)
  if (available.rowCount) {
    await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb').catch(() => undefined)
  }
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [`iotbench-migrate-${schema}`])
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS iotbench_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM iotbench_migrations')).rows.map((r) => r.version))
    const applied: string[] = []
    for (const file of readdirSync(dir).filter((f) => /^\d+_.*\.sql$/.test(f)).sort()) {
      const version = Number.parseInt(file, 10)
      if (done.has(version)) continue
      await client.query('BEGIN')
      try {
        await client.query(readFileSync(join(dir, file), 'utf8'))
        await client.query('INSERT INTO iotbench_migrations (version, name) VALUES ($1, $2)', [version, file])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK')
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err })
      }
      applied.push(file)
    }
    return { storage: await detectStorage(client), applied }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`iotbench-migrate-${schema}`])
  }
}
