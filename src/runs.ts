import type pg from 'pg'
import { ConfigError } from './errors.js'
import { KINDS, KIND_NAMES } from './kinds.js'

export interface RunRow {
  readonly id: number
  readonly name: string
  readonly profile: string
  readonly startedAt: Date
  readonly verdict: string | null
  readonly storage: string
}

export async function listRuns(client: pg.Client, limit = 50): Promise<RunRow[]> {
  const r = await client.query<{ id: number; name: string; profile: string; started_at: Date; verdict: string | null; storage: string }>(
    `SELECT id, name, profile, started_at, verdict->>'verdict' AS verdict, storage FROM runs ORDER BY id DESC LIMIT $1`,
    [limit],
  )
  return r.rows.map((x) => ({
    id: x.id,
    name: x.name,
    profile: x.profile,
    startedAt: x.started_at,
    verdict: x.verdict,
    storage: x.storage,
  }))
}

/** Parses "90m", "12h", "7d" into a PostgreSQL interval string. */
export function parseAge(age: string): string {
  const m = /^(\d+)(m|h|d)$/.exec(age)
  if (!m) throw new ConfigError([`--older-than must look like 90m, 12h or 7d (got ${JSON.stringify(age)})`])
  return `${m[1]} ${{ m: 'minutes', h: 'hours', d: 'days' }[m[2] as 'm' | 'h' | 'd']}`
}

export interface DropResult {
  readonly runs: string[]
  readonly rows: number
}

/**
 * Deletes runs and everything they stored (readings, dead letters, batch records), in one
 * transaction. Runs are chosen by name or by age; naming a run that does not exist is an error.
 */
export async function dropRuns(client: pg.Client, select: { names?: readonly string[]; olderThan?: string }): Promise<DropResult> {
  const { names = [], olderThan } = select
  if (names.length === 0 && !olderThan) throw new ConfigError(['name the runs to drop, or give --older-than'])
  await client.query('BEGIN')
  try {
    const found = await client.query<{ id: number; name: string }>(
      `SELECT id, name FROM runs WHERE name = ANY($1::text[]) OR ($2::interval IS NOT NULL AND started_at < now() - $2::interval) FOR UPDATE`,
      [names, olderThan ? parseAge(olderThan) : null],
    )
    const missing = names.filter((n) => !found.rows.some((r) => r.name === n))
    if (missing.length) throw new ConfigError(missing.map((n) => `no run named "${n}"`))
    const ids = found.rows.map((r) => r.id)
    let rows = 0
    for (const table of [
      ...KIND_NAMES.map((k) => KINDS[k].table),
      'dead_letters',
      'alerts',
      'alert_state',
      'ingest_batches',
      'oracle_digests',
      'kafka_offsets',
    ]) {
      const d = await client.query(`DELETE FROM ${table} WHERE run_id = ANY($1::int[])`, [ids])
      if (!['ingest_batches', 'alert_state', 'oracle_digests', 'kafka_offsets'].includes(table)) rows += d.rowCount ?? 0
    }
    await client.query('DELETE FROM runs WHERE id = ANY($1::int[])', [ids])
    await client.query('COMMIT')
    return { runs: found.rows.map((r) => r.name), rows }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}
