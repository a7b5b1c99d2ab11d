import type pg from 'pg'
import { KINDS, KIND_NAMES, type Kind } from '../kinds.js'
import type { PropertyId } from '../verify/types.js'
import { sinkTable, valueColumn, type AlertSink, type DeadLetterSink, type KindSink, type SinkMap } from './sink-map.js'
import { quoteIdent } from '../db/connect.js'
import { textOf } from '../util/text.js'

/**
 * What the run reads of an external ingest's storage: how many of this run's readings it has stored,
 * whether the readiness probe arrived, and (after the drain) the run's rows put where the verifier reads
 * them. Two shapes: the ingest writes iotbench's own tables (rows carry the run id), or a sink map says
 * where it writes (rows told apart from earlier runs by the baselines taken at prepare).
 */
export interface Sink {
  count(client: pg.Client): Promise<number>
  probeSeen(client: pg.Client): Promise<boolean>
  /** Copies the run's rows into iotbench's reading tables (a map), or removes the probe (own schema); returns the rows now there. */
  finish(client: pg.Client): Promise<number>
  /** Properties the stored data cannot judge, with the reason. */
  readonly notApplicable: Readonly<Partial<Record<PropertyId, string>>>
}

export interface SinkRun {
  readonly dbRunId: number
  /** Device id of the readiness probe: never a fleet device, excluded from every count. */
  readonly probeDevice: string
}

const LIVE_NA = 'the live feed is fed by iotbench’s own ingest, which an external ingest replaces'

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`

/** The first column of the first row as text (null when there is none or it is NULL). */
async function scalar(client: pg.Client, sql: string, params: unknown[] = []): Promise<string | null> {
  const r = await client.query<Record<string, unknown>>(sql, params)
  const v = r.rows.length > 0 ? Object.values(r.rows[0] ?? {})[0] : null
  return v === null || v === undefined ? null : textOf(v)
}
const tableExists = async (client: pg.Client, table: string): Promise<boolean> =>
  (await scalar(client, 'SELECT to_regclass($1)::text', [table])) !== null

/** iotbench's own tables: the external ingest writes run_id (IOTBENCH_DB_RUN_ID) and every column itself. */
export function ownSink(run: SinkRun): Sink {
  const where = `run_id = ${Number(run.dbRunId)} AND device <> ${lit(run.probeDevice)}`
  return {
    async count(client) {
      return Number(
        await scalar(client, `SELECT ${KIND_NAMES.map((k) => `(SELECT count(*) FROM ${KINDS[k].table} WHERE ${where})`).join(' + ')}`),
      )
    },
    async probeSeen(client) {
      return (
        (await scalar(client, `SELECT 1 FROM ${KINDS.collar.table} WHERE run_id = $1 AND device = $2 LIMIT 1`, [
          run.dbRunId,
          run.probeDevice,
        ])) !== null
      )
    },
    async finish(client) {
      await client.query(`DELETE FROM ${KINDS.collar.table} WHERE run_id = $1 AND device = $2`, [run.dbRunId, run.probeDevice])
      return this.count(client)
    },
    notApplicable: { P9: LIVE_NA },
  }
}

const cast = (type: string, expr: string): string =>
  type === 'bool' ? `(${expr})::boolean` : type === 'int4' ? `round((${expr})::numeric)::int4` : `(${expr})::float8`

/**
 * A sink map: baselines taken now, before the ingest is ready (receive order past its maximum, insert
 * time from now), so rows of earlier runs in the same tables are left out.
 */
export async function mappedSink(client: pg.Client, map: SinkMap, run: SinkRun): Promise<Sink> {
  const now = await scalar(client, 'SELECT clock_timestamp()::text')
  const exists = (k: Kind): Promise<boolean> => tableExists(client, sinkTable(map, map.kinds[k].table))
  const conditions = new Map<Kind, string[]>()
  for (const k of KIND_NAMES) {
    const s = map.kinds[k]
    const conds = [`${quoteIdent(s.device)}::text <> ${lit(run.probeDevice)}`]
    const above =
      s.receiveOrder !== undefined && (await exists(k))
        ? await scalar(client, `SELECT max(${quoteIdent(s.receiveOrder)})::text FROM ${sinkTable(map, s.table)}`)
        : null
    if (s.receiveOrder !== undefined && above !== null) conds.push(`${quoteIdent(s.receiveOrder)} > ${lit(above)}`)
    if (s.insertedAt !== undefined && now !== null) conds.push(`${quoteIdent(s.insertedAt)} >= ${lit(now)}::timestamptz`)
    conditions.set(k, conds)
  }
  const from = (k: Kind): string => `FROM ${sinkTable(map, map.kinds[k].table)} WHERE ${(conditions.get(k) ?? []).join(' AND ')}`
  return {
    async count(c) {
      let n = 0
      for (const k of KIND_NAMES) if (await exists(k)) n += Number(await scalar(c, `SELECT count(*) ${from(k)}`))
      return n
    },
    async probeSeen(c) {
      if (!(await exists('collar'))) return false
      const s = map.kinds.collar
      return (
        (await scalar(c, `SELECT 1 FROM ${sinkTable(map, s.table)} WHERE ${quoteIdent(s.device)}::text = $1 LIMIT 1`, [
          run.probeDevice,
        ])) !== null
      )
    },
    async finish(c) {
      let n = 0
      for (const k of KIND_NAMES) if (await exists(k)) n += (await c.query(importSql(k, map.kinds[k], from(k), run.dbRunId))).rowCount ?? 0
      // After the readings: an alert without its own sent time takes the stored reading's.
      if (map.alerts && (await tableExists(c, sinkTable(map, map.alerts.table)))) await c.query(alertImportSql(map, map.alerts, now, run))
      const dl = map.deadLetters
      if (dl && (await tableExists(c, sinkTable(map, dl.table)))) {
        const type = await scalar(
          c,
          'SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2',
          [sinkTable(map, dl.table), dl.payload],
        )
        await c.query(deadLetterImportSql(map, dl, now, run.dbRunId, type === 'bytea'))
      }
      return n
    },
    notApplicable: notApplicableOf(map),
  }
}

/** One INSERT … SELECT of a kind's mapped rows into iotbench's table, cast to its column types. */
export function importSql(kind: Kind, s: KindSink, from: string, dbRunId: number): string {
  const spec = KINDS[kind]
  const q = quoteIdent
  const received = s.insertedAt !== undefined ? q(s.insertedAt) : 'clock_timestamp()'
  const sent = s.sentMs !== undefined ? `to_timestamp((${q(s.sentMs)})::float8 / 1000)` : received
  const rx = `row_number() OVER (ORDER BY ${s.receiveOrder !== undefined ? q(s.receiveOrder) : `${q(s.device)}, ${q(s.seq)}`})`
  const fields = spec.fields.map((f) => f.name)
  const values = spec.fields.map((f) => cast(f.type, q(valueColumn(s, f.name))))
  return `INSERT INTO ${spec.table} (run_id, device, seq, ts, sent, received, rx, ${fields.join(', ')})
    SELECT ${Number(dbRunId)}, ${q(s.device)}::text, round((${q(s.seq)})::numeric)::int4, ${q(s.ts)}, ${sent}, ${received}, ${rx}, ${values.join(', ')} ${from}`
}

/** `CASE col WHEN theirs THEN ours … ELSE col END`: the user's names mapped to ours, the rest kept. */
function renamed(col: string, names: Readonly<Record<string, string>> | undefined): string {
  const pairs = Object.entries(names ?? {})
  return pairs.length
    ? `CASE ${col} ${pairs.map(([theirs, ours]) => `WHEN ${lit(theirs)} THEN ${lit(ours)}`).join(' ')} ELSE ${col} END`
    : col
}

/** Rows stamped at or after the run's prepare (the database's clock then); none is left out without one. */
const since = (col: string, now: string | null): string => (now !== null ? ` AND ${quoteIdent(col)} >= ${lit(now)}::timestamptz` : '')

/**
 * The run's raises into iotbench's alerts table, rule names mapped. sent and ts: the alert's sent column
 * if mapped, else the stored reading's (its device names its kind's table), else the raise time; the
 * farm is the device id's first part. value and reading are not P5's business: NaN and {}.
 */
export function alertImportSql(map: SinkMap, a: AlertSink, now: string | null, run: SinkRun): string {
  const q = quoteIdent
  const id = Number(run.dbRunId)
  const device = `${q(a.device)}::text`
  const seq = `round((${q(a.seq)})::numeric)::int4`
  const stored = (col: 'sent' | 'ts'): string =>
    `(SELECT r.${col} FROM (${KIND_NAMES.map((k) => `SELECT ${col}, device, seq FROM ${KINDS[k].table} WHERE run_id = ${id}`).join(' UNION ALL ')}) r WHERE r.device = ${device} AND r.seq = ${seq} LIMIT 1)`
  const raised = `(${q(a.raisedAt)})::timestamptz`
  const sent = a.sentMs !== undefined ? `to_timestamp((${q(a.sentMs)})::float8 / 1000)` : `COALESCE(${stored('sent')}, ${raised})`
  return `INSERT INTO alerts (run_id, farm, device, rule, event, seq, ts, sent, raised_at, value, reading)
    SELECT ${id}, split_part(${device}, '-', 1), ${device}, ${renamed(`${q(a.rule)}::text`, a.rules)}, 'raise', ${seq}, COALESCE(${stored('ts')}, ${raised}), ${sent}, ${raised}, 'NaN'::float8, '{}'::jsonb
    FROM ${sinkTable(map, a.table)} WHERE ${device} <> ${lit(run.probeDevice)}${since(a.raisedAt, now)}`
}

/** The run's dead letters into iotbench's table, reasons mapped; a text payload is taken as its UTF-8 bytes. */
export function deadLetterImportSql(map: SinkMap, d: DeadLetterSink, now: string | null, dbRunId: number, payloadIsBytea: boolean): string {
  const q = quoteIdent
  const payload = payloadIsBytea ? q(d.payload) : `convert_to(${q(d.payload)}::text, 'UTF8')`
  return `INSERT INTO dead_letters (run_id, received, topic, payload, reason)
    SELECT ${Number(dbRunId)}, ${q(d.receivedAt)}, ${q(d.topic)}::text, ${payload}, ${renamed(`${q(d.reason)}::text`, d.reasons)}
    FROM ${sinkTable(map, d.table)} WHERE true${since(d.receivedAt, now)}`
}

/** What a map gives no data for: those properties are "not applicable" with the reason, never a silent pass. */
export function notApplicableOf(map: SinkMap): Partial<Record<PropertyId, string>> {
  const missing = (col: keyof KindSink): string[] => KIND_NAMES.filter((k) => map.kinds[k][col] === undefined)
  const out: Partial<Record<PropertyId, string>> = {}
  const order = missing('receiveOrder')
  if (order.length) out.P3 = `the sink map names no receive-order column (${order.join(', ')})`
  const latency = [...new Set([...missing('insertedAt'), ...missing('sentMs')])]
  if (latency.length)
    out.P4 = `the sink map names no insert-time column with the payload's sent time (${latency.join(', ')}): no commit time to measure latency to`
  if (!map.alerts) out.P5 = 'the sink map names no alerts table: the external ingest raises no alerts iotbench can read'
  if (!map.deadLetters) out.P7 = 'the sink map names no dead-letter table: malformed messages the external ingest rejected cannot be read'
  out.P8 = "the dashboards read iotbench's own tables, not the external ingest's"
  out.P9 = LIVE_NA
  return out
}
