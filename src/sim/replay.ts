import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { deviceAt, fleetSize, type FleetShape } from '../fleet.js'
import { KINDS, KIND_NAMES, type FieldValue, type Kind } from '../kinds.js'

/**
 * Recorded traces: one CSV file per sensor kind (docs/sensor-models.md), header
 * `device,seq,ts,<the kind's fields in src/kinds.ts order>`, one row per reading. `--replay PATH`
 * names one such file or a folder of them (collar.csv, milk.csv, chiller.csv). The fleet is what the
 * files contain: every device of the implied fleet must have the same seqs 0..n-1, each once.
 */
export interface ReplayFile {
  readonly kind: Kind
  readonly file: string
  readonly sha256: string
}

/** What a run stores about its trace; the oracle checks the files still have these hashes. */
export interface ReplayRef {
  readonly path: string
  readonly files: readonly ReplayFile[]
}

export interface ReplayRow {
  readonly ts: number
  readonly values: Readonly<Record<string, FieldValue>>
}

export interface ReplayTrace extends ReplayRef {
  readonly fleet: FleetShape
  readonly perDevice: number
  /** Rows of each device id, indexed by seq. */
  readonly rows: ReadonlyMap<string, readonly ReplayRow[]>
}

const MAX_PROBLEMS = 20
const DEVICE_ID = /^farm(\d+)-(collar|milk|chiller)-(\d{4})$/

export const headerOf = (kind: Kind): string => ['device', 'seq', 'ts', ...KINDS[kind].fields.map((f) => f.name)].join(',')

function parseValue(type: string, s: string): FieldValue | undefined {
  if (type === 'bool') return s === 'true' || s === 't' || s === '1' ? true : s === 'false' || s === 'f' || s === '0' ? false : undefined
  if (s.trim() === '') return undefined
  const n = Number(s)
  if (!Number.isFinite(n)) return undefined
  if (type === 'int4' && (!Number.isInteger(n) || n < -(2 ** 31) || n > 2 ** 31 - 1)) return undefined
  return n
}

function parseTs(s: string): number | undefined {
  const n = /^-?\d+$/.test(s) ? Number(s) : Date.parse(s)
  return Number.isInteger(n) && n >= 0 && n <= 7_258_118_400_000 ? n : undefined
}

/** The CSV files a replay path names: the file itself, or every *.csv in the folder. */
function filesOf(path: string, problems: string[]): string[] {
  if (!existsSync(path)) {
    problems.push(`replay: ${path} does not exist`)
    return []
  }
  if (statSync(path).isDirectory()) {
    const files = readdirSync(path)
      .filter((f) => f.endsWith('.csv'))
      .sort()
      .map((f) => join(path, f))
    if (files.length === 0) problems.push(`replay: folder ${path} holds no .csv file (expected collar.csv, milk.csv, chiller.csv)`)
    return files
  }
  return [path]
}

export const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')

/** Reads and validates a trace; every problem (up to 20) is reported at once as a ConfigError. */
export function loadReplay(pathArg: string): ReplayTrace {
  const path = resolve(pathArg)
  const problems: string[] = []
  const note = (p: string): void =>
    void (problems.length < MAX_PROBLEMS ? problems.push(p) : problems.length === MAX_PROBLEMS && problems.push('… and more problems'))
  const files: ReplayFile[] = []
  const rows = new Map<string, ReplayRow[]>()
  const max = { farm: 0, collar: 0, milk: 0, chiller: 0 }
  for (const file of filesOf(path, problems)) {
    const name = basename(file)
    const text = readFileSync(file, 'utf8')
    const lines = text.split(/\r?\n/)
    if (lines[lines.length - 1] === '') lines.pop()
    const header = lines[0] ?? ''
    const kind = KIND_NAMES.find((k) => headerOf(k) === header)
    if (!kind) {
      note(
        `replay ${name}: header must be one of:\n      ${KIND_NAMES.map(headerOf).join('\n      ')}\n    (got ${JSON.stringify(header.slice(0, 200))})`,
      )
      continue
    }
    if (files.some((f) => f.kind === kind)) note(`replay ${name}: a second file of ${kind} readings (one file per kind)`)
    files.push({ kind, file: name, sha256: createHash('sha256').update(text).digest('hex') })
    const fields = KINDS[kind].fields
    for (let i = 1; i < lines.length; i++) {
      const cells = lines[i].split(',')
      const where = `replay ${name} line ${i + 1}`
      if (cells.length !== fields.length + 3) {
        note(`${where}: ${cells.length} columns, expected ${fields.length + 3}`)
        continue
      }
      const [device, seqText, tsText] = cells as [string, string, string]
      const id = DEVICE_ID.exec(device)
      if (!id || id[2] !== kind) {
        note(`${where}: device ${JSON.stringify(device)} is not a ${kind} id like farm01-${kind}-0001`)
        continue
      }
      const seq = /^\d+$/.test(seqText) ? Number(seqText) : NaN
      if (!Number.isSafeInteger(seq) || seq > 2 ** 31 - 1) {
        note(`${where}: seq ${JSON.stringify(seqText)} is not a whole number ≥ 0`)
        continue
      }
      const ts = parseTs(tsText)
      if (ts === undefined) {
        note(`${where}: ts ${JSON.stringify(tsText)} is neither epoch milliseconds nor an ISO 8601 time`)
        continue
      }
      const values: Record<string, FieldValue> = {}
      let bad = false
      fields.forEach((f, j) => {
        const v = parseValue(f.type, cells[3 + j])
        if (v === undefined) {
          note(`${where}: ${f.name} ${JSON.stringify(cells[3 + j])} is not a valid ${f.type}`)
          bad = true
        } else values[f.name] = v
      })
      if (bad) continue
      max.farm = Math.max(max.farm, Number(id[1]))
      max[kind] = Math.max(max[kind], Number(id[3]))
      let list = rows.get(device)
      if (!list) rows.set(device, (list = []))
      if (list[seq] !== undefined) note(`${where}: ${device} seq ${seq} appears twice`)
      list[seq] = { ts, values }
    }
  }
  const fleet: FleetShape = { farms: max.farm, cowsPerFarm: max.collar, stallsPerFarm: max.milk, tanksPerFarm: max.chiller }
  let perDevice = 0
  if (problems.length === 0) {
    if (fleet.farms < 1 || fleet.cowsPerFarm < 1 || fleet.tanksPerFarm < 1) {
      note(
        'replay: a trace must hold at least one collar and one chiller per farm (collar.csv and chiller.csv): the fleet needs cows and a tank',
      )
    } else {
      perDevice = Math.max(...[...rows.values()].map((l) => l.length))
      const ids = new Set<string>()
      for (let i = 0; i < fleetSize(fleet); i++) {
        const d = deviceAt(fleet, i)
        ids.add(d.id)
        const list = rows.get(d.id)
        if (!list) {
          note(
            `replay: the trace implies a fleet of ${fleet.farms} farms × (${fleet.cowsPerFarm} collars, ${fleet.stallsPerFarm} milk meters, ${fleet.tanksPerFarm} chillers) but has no rows for ${d.id}`,
          )
          continue
        }
        const missing = list.length < perDevice ? list.length : list.findIndex((r) => r === undefined)
        if (missing >= 0 && missing < perDevice)
          note(`replay: ${d.id} has no row for seq ${missing} (every device needs seqs 0..${perDevice - 1})`)
      }
      for (const id of rows.keys())
        if (!ids.has(id))
          note(`replay: device ${id} is not numbered like the fleet the trace implies (farm ids ${deviceAt(fleet, 0).farm}…, zero-padded)`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return { path, files, fleet, perDevice, rows }
}

const traces = new Map<string, ReplayTrace>()
/**
 * The trace a run recorded, checked against the hashes stored with the run: verification of a
 * replayed run must fail clearly, not compare against a different file. The files are hashed again on
 * every call; only the parsing is cached (by content).
 */
export function openReplay(ref: ReplayRef): ReplayTrace {
  const problems: string[] = []
  const single = existsSync(ref.path) && !statSync(ref.path).isDirectory()
  for (const f of ref.files) {
    const file = single ? ref.path : join(ref.path, f.file)
    if (!existsSync(file)) problems.push(`replay trace ${file} is gone: the run replayed it (sha256 ${f.sha256})`)
    else {
      const now = sha256Of(file)
      if (now !== f.sha256)
        problems.push(`replay trace ${f.file} in ${ref.path} changed since the run: sha256 ${now} ≠ ${f.sha256} recorded with the run`)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const key = `${ref.path}#${ref.files.map((f) => f.sha256).join(',')}`
  const hit = traces.get(key)
  if (hit) return hit
  const trace = loadReplay(ref.path)
  if (trace.files.length !== ref.files.length)
    throw new ConfigError([`replay trace ${ref.path} now holds ${trace.files.length} files; the run replayed ${ref.files.length}`])
  traces.set(key, trace)
  return trace
}
