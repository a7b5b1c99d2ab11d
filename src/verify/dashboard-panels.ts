import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../paths.js'
import { REL_TOLERANCE } from './dashboard-aggregates.js'
import { textOf } from '../util/text.js'

/** The provisioned Grafana dashboards (what docker-compose.yml mounts into Grafana). */
export const DASHBOARDS_DIR = join(PACKAGE_ROOT, 'dashboards', 'grafana', 'dashboards')

/** One SQL query of a panel whose datasource is PostgreSQL/TimescaleDB. */
export interface SqlPanel {
  readonly dashboard: string
  readonly panel: string
  readonly refId: string
  readonly rawSql: string
}

export interface TemplateVariable {
  readonly name: string
  readonly multi: boolean
  readonly includeAll: boolean
}

interface PanelJson {
  title?: string
  datasource?: { type?: string; uid?: string }
  targets?: Array<{ refId?: string; rawSql?: string; datasource?: { type?: string } }>
  panels?: PanelJson[]
}
interface DashboardJson {
  title?: string
  panels?: PanelJson[]
  templating?: { list?: Array<{ name: string; multi?: boolean; includeAll?: boolean }> }
}

const isSqlSource = (type: string | undefined): boolean => type === 'grafana-postgresql-datasource' || type === 'postgres'

/** Every PostgreSQL-datasource query of every dashboard in `dir` (nested row panels included), and the dashboards' variables. */
export function loadSqlPanels(dir = DASHBOARDS_DIR): { panels: SqlPanel[]; variables: Map<string, TemplateVariable>; dashboards: number } {
  const panels: SqlPanel[] = []
  const variables = new Map<string, TemplateVariable>()
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
  for (const file of files) {
    const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as DashboardJson
    const dashboard = json.title ?? file
    for (const v of json.templating?.list ?? [])
      variables.set(v.name, { name: v.name, multi: v.multi === true, includeAll: v.includeAll === true })
    const walk = (list: readonly PanelJson[]): void => {
      for (const p of list) {
        for (const t of p.targets ?? []) {
          if (t.rawSql === undefined || !isSqlSource(t.datasource?.type ?? p.datasource?.type)) continue
          panels.push({ dashboard, panel: p.title ?? '(untitled)', refId: t.refId ?? 'A', rawSql: t.rawSql })
        }
        walk(p.panels ?? [])
      }
    }
    walk(json.panels ?? [])
  }
  return { panels, variables, dashboards: files.length }
}

/** What the macros and variables of a panel stand for in one run. */
export interface PanelContext {
  /** The schema the dashboards' `iotbench.` prefix is replaced with (quoted). */
  readonly schemaSql: string
  /** Values of each variable (a run has one `run`; `farm` is every farm of the run). */
  readonly values: ReadonlyMap<string, readonly string[]>
  readonly variables: ReadonlyMap<string, TemplateVariable>
  /** The dashboard's time range: the run's sensor time. */
  readonly fromMs: number
  readonly toMs: number
}

const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`
const ts = (ms: number): string => `'${new Date(ms).toISOString()}'::timestamptz`

/** Grafana interval text ('1m', '5s', '1h', '$__interval') to seconds. */
function seconds(text: string): number {
  const m = /^'?(\d+)(ms|s|m|h|d)'?$/.exec(text.trim())
  if (!m) throw new Error(`cannot read the interval ${text}`)
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd']
}

/**
 * A panel's SQL with Grafana's macros and variables replaced by the run's concrete values, as Grafana's
 * PostgreSQL datasource expands them (multi-value and include-all variables become a quoted list, single
 * values are inserted as they are). Throws on a macro or variable it cannot fill, so such a panel fails
 * P8 with the reason instead of being skipped.
 */
export function fillPanelSql(sql: string, c: PanelContext): string {
  const value = (name: string, format: string | undefined): string => {
    const vals = c.values.get(name)
    if (!vals) throw new Error(`the variable $${name} has no value P8 can give it`)
    const v = c.variables.get(name)
    if (format === 'sqlstring' || format === 'singlequote' || (format === undefined && (v?.multi || v?.includeAll)))
      return vals.map(quote).join(',')
    if (format === 'csv' || format === 'raw' || format === undefined) return vals.join(',')
    throw new Error(`the variable format \${${name}:${format}} is not supported by P8`)
  }
  const bucket = (col: string, interval: string): string => {
    const s = interval.trim() === '$__interval' ? 60 : seconds(interval)
    return `to_timestamp(floor(extract(epoch FROM ${col}) / ${s}) * ${s})`
  }
  let out = sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, col: string) => `${col.trim()} BETWEEN ${ts(c.fromMs)} AND ${ts(c.toMs)}`)
    .replace(/\$__timeFrom\(\)/g, ts(c.fromMs))
    .replace(/\$__timeTo\(\)/g, ts(c.toMs))
    .replace(
      /\$__unixEpochFilter\(([^)]+)\)/g,
      (_, col: string) => `${col.trim()} >= ${Math.floor(c.fromMs / 1000)} AND ${col.trim()} <= ${Math.floor(c.toMs / 1000)}`,
    )
    .replace(/\$__timeGroupAlias\(([^,]+),([^)]+)\)/g, (_, col: string, iv: string) => `${bucket(col, iv)} AS "time"`)
    .replace(/\$__timeGroup\(([^,]+),([^)]+)\)/g, (_, col: string, iv: string) => bucket(col, iv))
    .replace(/\$__time\(([^)]+)\)/g, (_, col: string) => `${col.trim()} AS "time"`)
  const unknownMacro = /\$__\w+/.exec(out)
  if (unknownMacro) throw new Error(`the macro ${unknownMacro[0]} is not supported by P8`)
  out = out
    .replace(/\$\{(\w+)(?::(\w+))?\}/g, (_, name: string, format: string | undefined) => value(name, format))
    .replace(/\[\[(\w+)\]\]/g, (_, name: string) => value(name, undefined))
    .replace(/\$([A-Za-z_]\w*)/g, (_, name: string) => value(name, undefined))
  return out.replace(/\biotbench\./g, `${c.schemaSql}.`)
}

/** The tables of the dashboards' schema a (filled) query reads. */
export const tablesRead = (filledSql: string, schemaSql: string): string[] => {
  const esc = schemaSql.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return [...new Set([...filledSql.matchAll(new RegExp(`${esc}\\.(\\w+)`, 'g'))].map((m) => m[1]))]
}

/** A result row, normalised: key columns (time, text) and numeric columns (numbers, numeric and bigint text). */
interface NormRow {
  readonly key: string
  readonly time: number | undefined
  readonly nums: ReadonlyArray<number | null>
}

function normalise(rows: ReadonlyArray<Record<string, unknown>>): NormRow[] {
  const cols = rows[0] ? Object.keys(rows[0]) : []
  const isNum = cols.map((k) =>
    rows.every((r) => {
      const v = r[k]
      return (
        v === null ||
        typeof v === 'number' ||
        typeof v === 'bigint' ||
        (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)))
      )
    }),
  )
  const out = rows.map((r) => {
    let time: number | undefined
    const key: string[] = []
    const nums: Array<number | null> = []
    cols.forEach((k, i) => {
      const v = r[k]
      if (v instanceof Date) {
        time ??= v.getTime()
        key.push(v.toISOString())
      } else if (isNum[i] && !(k === 'time' || k === 'metric')) nums.push(v === null ? null : Number(v))
      else key.push(v === null ? 'NULL' : textOf(v))
    })
    return { key: key.join(' | '), time, nums }
  })
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

export interface PanelDifference {
  readonly row: string
  readonly expected: string
  readonly found: string
}

/**
 * Compares a panel's rows over the run's database with the same query over the oracle's aggregates:
 * rows match by their time and text columns; numbers within the relative tolerance. Rows at a time
 * `skipTime` rejects (a bucket not yet refreshed) are left out on both sides.
 */
export function comparePanelRows(
  found: ReadonlyArray<Record<string, unknown>>,
  expected: ReadonlyArray<Record<string, unknown>>,
  skipTime: (t: number) => boolean,
  limit = 5,
): { compared: number; differences: PanelDifference[]; differing: number } {
  const keep = (r: NormRow): boolean => r.time === undefined || !skipTime(r.time)
  const f = normalise(found).filter(keep)
  const e = normalise(expected).filter(keep)
  const differences: PanelDifference[] = []
  let differing = 0
  const note = (d: PanelDifference): void => {
    differing++
    if (differences.length < limit) differences.push(d)
  }
  const show = (nums: ReadonlyArray<number | null>): string => nums.map((x) => String(x)).join(', ')
  let i = 0
  let j = 0
  while (i < e.length || j < f.length) {
    const a = e[i]
    const b = f[j]
    if (a && (!b || a.key < b.key)) {
      note({ row: a.key, expected: show(a.nums), found: 'no row' })
      i++
    } else if (b && (!a || b.key < a.key)) {
      note({ row: b.key, expected: 'no row', found: show(b.nums) })
      j++
    } else {
      const same =
        a.nums.length === b.nums.length &&
        a.nums.every((x, k) => {
          const y = b.nums[k] ?? null
          return x === null || y === null ? x === y : Math.abs(x - y) <= REL_TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y))
        })
      if (!same) note({ row: a.key, expected: show(a.nums), found: show(b.nums) })
      i++
      j++
    }
  }
  return { compared: Math.max(e.length, f.length), differences, differing }
}

/**
 * What each panel of the provisioned dashboards means, independently of its SQL: per farm and minute,
 * `across` of one aggregate column over the farm's devices (times `scale`). The oracle computes this
 * from its own buckets, so a panel whose query computes something else (max where it means avg, the
 * wrong column, a lost filter) differs from it. A panel without a declared meaning is compared with
 * the same query run over the oracle's aggregates (which checks its data, not its meaning).
 */
export interface PanelMeaning {
  readonly title: string
  readonly sources: ReadonlyArray<{ readonly view: string; readonly column: string }>
  readonly across: 'avg' | 'max' | 'sum'
  readonly scale?: number
}

export const PANEL_MEANINGS: readonly PanelMeaning[] = [
  { title: 'Neck temperature, herd mean per farm (°C)', sources: [{ view: 'collar_1m', column: 'neck_temp_c' }], across: 'avg' },
  { title: 'Hottest cow per farm (°C)', sources: [{ view: 'collar_1m', column: 'neck_temp_max_c' }], across: 'max' },
  { title: 'Activity index, herd mean per farm', sources: [{ view: 'collar_1m', column: 'activity' }], across: 'avg' },
  { title: 'Rumination, herd mean per farm (min/h)', sources: [{ view: 'collar_1m', column: 'rumination_min' }], across: 'avg', scale: 60 },
  { title: 'Milk yield per farm (kg/min)', sources: [{ view: 'milk_1m', column: 'yield_kg' }], across: 'sum' },
  { title: 'Conductivity per farm (mS/cm)', sources: [{ view: 'milk_1m', column: 'conductivity_ms_cm' }], across: 'avg' },
  { title: 'Bulk-tank milk temperature per farm (°C)', sources: [{ view: 'chiller_1m', column: 'milk_temp_max_c' }], across: 'max' },
  { title: 'Compressor duty per farm', sources: [{ view: 'chiller_1m', column: 'compressor_duty' }], across: 'avg' },
  {
    title: 'Readings per minute per farm',
    sources: ['collar_1m', 'milk_1m', 'chiller_1m'].map((view) => ({ view, column: 'readings' })),
    across: 'sum',
  },
]

/** The oracle's series of one panel meaning: per (minute, farm), accumulated bucket by bucket. */
export class FarmSeries {
  private readonly acc = new Map<string, Map<number, { n: number; sum: number; max: number }>>()
  constructor(readonly meaning: PanelMeaning) {}

  /** Whether this panel reads that column of that aggregate (the caller routes buckets with it once). */
  reads(view: string, column: string): boolean {
    return this.meaning.sources.some((s) => s.view === view && s.column === column)
  }

  /** One device's bucket value of a column this panel reads (see `reads`). */
  add(farm: string, t: number, value: number | null): void {
    let byTime = this.acc.get(farm)
    if (!byTime) this.acc.set(farm, (byTime = new Map()))
    let a = byTime.get(t)
    // A farm and minute with only NULLs still has its row (its value NULL, as avg/sum/max of NULLs is).
    if (!a) byTime.set(t, (a = { n: 0, sum: 0, max: -Infinity }))
    if (value === null) return
    a.n++
    a.sum += value
    if (value > a.max) a.max = value
  }

  /** Rows shaped like the panel's result: time, metric (the farm), value. */
  rows(): Array<Record<string, unknown>> {
    const s = this.meaning.scale ?? 1
    return [...this.acc].flatMap(([farm, byTime]) =>
      [...byTime].map(([t, a]) => ({
        time: new Date(t),
        metric: farm,
        value: a.n === 0 ? null : { avg: a.sum / a.n, sum: a.sum, max: a.max }[this.meaning.across] * s,
      })),
    )
  }
}
