import type pg from 'pg'
import { KINDS, type FieldValue, type Kind } from '../../src/kinds.js'
import { DeviceDigest } from '../../src/verify/digest.js'

/** A stored reading as a table row; `rx` is the receive order (prior_seq follows from it). */
export interface FakeRow {
  readonly device: string
  readonly seq: number
  readonly ts: number
  /** null: a NULL in that column (only checkKind's reads serve it). */
  readonly values: readonly (FieldValue | null)[]
  readonly rx: number
}
/** A dead_letters row; null: a NULL in that column (the table forbids it; the checker must say so, not miscount). */
export interface FakeDeadLetter {
  readonly topic: string | null
  readonly payload: Buffer | null
  readonly reason: string | null
}

/**
 * Just enough of a pg.Client for the verifier's reads, over rows held in memory: digestSelect (the set
 * pass; the database's digest computed as PostgreSQL does, which verify-digest-pinned.test.ts pins),
 * checkKind's two COPY reads (by device and seq, by device and receive order; `only` and the share's bounds honoured), and
 * the dead letters. Anything else throws, so a test cannot pass on a query it did not mean to serve.
 */
export function fakeClient(tables: Partial<Record<Kind, readonly FakeRow[]>>, deadLetters: readonly FakeDeadLetter[] = []): pg.Client {
  const kindOf = (sql: string): Kind => {
    const k = (Object.keys(KINDS) as Kind[]).find((k) => new RegExp(`FROM ${KINDS[k].table}\\b`).test(sql))
    if (!k) throw new Error(`fake pg: no table in ${sql}`)
    return k
  }
  const only = (sql: string): Set<string> | undefined => {
    const m = /device = ANY\(ARRAY\[(.*?)\]::text\[\]\)/.exec(sql)
    return m ? new Set([...m[1]!.matchAll(/'((?:[^']|'')*)'/g)].map((x) => x[1]!.replace(/''/g, "'"))) : undefined
  }
  /** checkKind's share of device ids: `device COLLATE "C" >= 'lo'` and `< 'hi'` (code-point order, as JavaScript compares). */
  const inShare = (sql: string): ((device: string) => boolean) => {
    const bound = (op: string): string | undefined =>
      new RegExp(`device COLLATE "C" ${op} '((?:[^']|'')*)'`).exec(sql)?.[1]?.replace(/''/g, "'")
    const lo = bound('>=')
    const hi = bound('<')
    return (device) => (lo === undefined || device >= lo) && (hi === undefined || device < hi)
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  const text = (v: FieldValue | null): string =>
    v === null ? '\\N' : typeof v === 'boolean' ? (v ? 't' : 'f') : Number.isNaN(v) ? 'NaN' : String(v)
  /** checkKind's two reads exactly (columns, run, share), as PostgreSQL would parse them: any other text throws. */
  const ID = String.raw`'(?:[^']|'')*'`
  const FILTER = String.raw`(?: AND device COLLATE "C" >= ${ID})?(?: AND device COLLATE "C" < ${ID})?(?: AND device = ANY\(ARRAY\[${ID}(?:, ${ID})*\]::text\[\]\))?`
  const checkKindRead = (kind: Kind, sql: string): boolean => {
    const { table, fields } = KINDS[kind]
    const cols = fields.map((f) => f.name).join(', ')
    return (
      new RegExp(
        String.raw`^SELECT device, seq, \(extract\(epoch FROM ts\) \* 1000\)::bigint, ${cols} FROM ${table}\s+WHERE run_id = \d+${FILTER} ORDER BY device COLLATE "C", seq, rx$`,
      ).test(sql) ||
      new RegExp(String.raw`^SELECT device, seq FROM ${table} WHERE run_id = \d+${FILTER} ORDER BY device COLLATE "C", rx$`).test(sql)
    )
  }
  const copy = (sql: string): string => {
    if (/FROM dead_letters/.test(sql))
      return deadLetters.map((d) => `${d.topic ?? '\\N'}\t${d.payload?.toString('hex') ?? '\\N'}\t${d.reason ?? '\\N'}\n`).join('')
    const kind = kindOf(sql)
    if (!checkKindRead(kind, sql)) throw new Error(`fake pg: not one of checkKind's reads: ${sql}`)
    const keep = only(sql)
    const share = inShare(sql)
    const rows = (tables[kind] ?? []).filter((r) => (!keep || keep.has(r.device)) && share(r.device))
    if (/ORDER BY device COLLATE "C", seq, rx/.test(sql)) {
      return [...rows]
        .sort((a, b) => cmp(a.device, b.device) || a.seq - b.seq || a.rx - b.rx)
        .map((r) => `${r.device}\t${r.seq}\t${r.ts}\t${r.values.map(text).join('\t')}\n`)
        .join('')
    }
    if (/ORDER BY device COLLATE "C", rx/.test(sql))
      return [...rows]
        .sort((a, b) => cmp(a.device, b.device) || a.rx - b.rx)
        .map((r) => `${r.device}\t${r.seq}\n`)
        .join('')
    throw new Error(`fake pg: unexpected COPY ${sql}`)
  }
  const digests = (sql: string): { rows: Array<{ device: string; n: string; digest: string; late: number }> } => {
    const kind = kindOf(sql)
    const by = new Map<string, FakeRow[]>()
    for (const r of tables[kind] ?? []) by.set(r.device, [...(by.get(r.device) ?? []), r])
    return {
      rows: [...by].map(([device, rows]) => {
        const d = new DeviceDigest(kind)
        let highest = -1
        let late = -Infinity
        for (const r of [...rows].sort((a, b) => a.rx - b.rx)) {
          d.add(r.seq, r.ts, r.values)
          late = Math.max(late, highest - r.seq) // max(prior_seq - seq)
          highest = Math.max(highest, r.seq)
        }
        return { device, n: String(rows.length), digest: d.sum, late }
      }),
    }
  }
  const client = {
    query(q: string | { text: string; push(chunk: Buffer | null): boolean; _read?: () => void }): unknown {
      if (typeof q === 'string') {
        if (/^SELECT device, count\(\*\)::int8 AS n, sum\(/.test(q)) return Promise.resolve(digests(q))
        throw new Error(`fake pg: unexpected query ${q}`)
      }
      const sql = /^COPY \(([\s\S]*)\) TO STDOUT$/.exec(q.text)?.[1]
      if (sql === undefined) throw new Error(`fake pg: unexpected ${q.text}`)
      q._read = () => undefined // no connection behind the stream: the data is pushed here
      q.push(Buffer.from(copy(sql)))
      q.push(null)
      return q
    },
  }
  return client as unknown as pg.Client
}

/**
 * fakeClient with the oracle_digests table too: reading it fails with `oracle`, else finds `kept` (nothing
 * unless given: the digests are then regenerated); what is stored is recorded in `stored`, one entry of
 * parameters an INSERT.
 */
export function fakeWithOracleDigests(
  tables: Partial<Record<Kind, readonly FakeRow[]>>,
  { oracle, kept = [] }: { oracle?: Error; kept?: readonly object[] } = {},
): { client: pg.Client; stored: unknown[] } {
  const inner = fakeClient(tables)
  const stored: unknown[] = []
  const client = {
    query: (q: unknown, params?: unknown[]) => {
      if (typeof q === 'string' && q.includes('FROM oracle_digests'))
        return oracle ? Promise.reject(oracle) : Promise.resolve({ rows: kept })
      if (typeof q === 'string' && q.startsWith('INSERT INTO oracle_digests')) {
        stored.push(params)
        return Promise.resolve({ rows: [] })
      }
      return inner.query(q as string)
    },
  } as unknown as pg.Client
  return { client, stored }
}
