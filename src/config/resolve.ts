import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join, basename } from 'node:path'
import { Ajv } from 'ajv'
import { ConfigError } from '../errors.js'
import { PROFILES_DIR } from '../paths.js'
import { DEFAULTS, OPTIONS, envName, type OptionSpec, type RunConfig } from './options.js'

type Partial_ = { -readonly [K in keyof RunConfig]?: RunConfig[K] }
export type PartialConfig = Partial_

/** JSON schema of a bench profile file, built from the option table (so it cannot drift from it). */
export function profileSchema(): object {
  const root: { type: 'object'; properties: Record<string, any>; additionalProperties: false; required: string[] } = {
    type: 'object',
    properties: { $schema: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' } },
    additionalProperties: false,
    required: ['name', 'description'],
  }
  for (const spec of OPTIONS) {
    if (!spec.profilePath) continue
    let node = root
    for (const seg of spec.profilePath.slice(0, -1)) {
      node.properties[seg] ??= { type: 'object', properties: {}, additionalProperties: false, required: [] }
      node = node.properties[seg]
    }
    const leaf = spec.profilePath[spec.profilePath.length - 1]!
    node.properties[leaf] = jsonType(spec)
  }
  return root
}

function jsonType(spec: OptionSpec): object {
  switch (spec.type) {
    case 'int': return { type: 'integer', minimum: spec.min, maximum: spec.max, description: spec.help }
    case 'number': return { type: 'number', minimum: spec.min, maximum: spec.max, description: spec.help }
    case 'enum': return { enum: spec.values.map((v) => (/^\d+$/.test(v) ? Number(v) : v)), description: spec.help }
    default: return { type: 'string', description: spec.help }
  }
}

export interface Profile {
  readonly name: string
  readonly description: string
  readonly file: string
  readonly values: PartialConfig
}

/** Profile names shipped in sensor-profiles/ (every *.json but schemas). */
export function listProfiles(dir = PROFILES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .map((f) => basename(f, '.json'))
    .sort()
}

/** Loads a profile by name (from sensor-profiles/) or by path; every schema problem is reported at once. */
export function loadProfile(nameOrPath: string, dir = PROFILES_DIR): Profile {
  const file = nameOrPath.endsWith('.json') ? nameOrPath : join(dir, `${nameOrPath}.json`)
  if (!existsSync(file)) {
    throw new ConfigError([`profile "${nameOrPath}" not found (known profiles: ${listProfiles(dir).join(', ')}; or give a path to a .json file)`])
  }
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError([`profile ${file} is not valid JSON: ${(err as Error).message}`])
  }
  const ajv = new Ajv({ allErrors: true, strict: false })
  const validate = ajv.compile(profileSchema())
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath || '(top level)'
      const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : ''
      return `profile ${basename(file)}: ${where} ${e.message ?? 'is invalid'}${extra}`
    })
    throw new ConfigError(problems)
  }
  const obj = raw as Record<string, unknown>
  const values: PartialConfig = {}
  for (const spec of OPTIONS) {
    if (!spec.profilePath) continue
    let v: unknown = obj
    for (const seg of spec.profilePath) v = v === undefined ? undefined : (v as Record<string, unknown>)[seg]
    if (v !== undefined) (values as Record<string, unknown>)[spec.key] = spec.type === 'enum' ? String(v) : v
  }
  return { name: String(obj.name), description: String(obj.description), file, values }
}

/** IOTBENCH_* variables as raw strings, keyed by option. */
export function fromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const spec of OPTIONS) {
    const v = env[envName(spec.key)]
    if (v !== undefined && v !== '') out[spec.key] = v
  }
  return out
}

function convert(spec: OptionSpec, raw: unknown, source: string, problems: string[]): unknown {
  const label = `${source === 'flag' ? `--${spec.flag}` : source === 'env' ? envName(spec.key) : spec.key}`
  switch (spec.type) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
      if (!Number.isFinite(n)) return void problems.push(`${label} must be a number (got ${JSON.stringify(raw)})`)
      if (spec.type === 'int' && !Number.isInteger(n)) return void problems.push(`${label} must be a whole number (got ${JSON.stringify(raw)})`)
      if (n < spec.min || n > spec.max) return void problems.push(`${label} must be between ${spec.min} and ${spec.max} (got ${n})`)
      return n
    }
    case 'enum': {
      const s = String(raw)
      if (!spec.values.includes(s)) return void problems.push(`${label} must be one of ${spec.values.join(', ')} (got ${JSON.stringify(raw)})`)
      return spec.key === 'qos' ? Number(s) : s
    }
    case 'url': {
      const s = String(raw)
      let u: URL
      try {
        u = new URL(s)
      } catch {
        return void problems.push(`${label} is not a URL (got ${JSON.stringify(redactUrl(s))})`)
      }
      if (!spec.protocols.includes(u.protocol)) return void problems.push(`${label} must use ${spec.protocols.join(' or ')} (got ${u.protocol})`)
      return s
    }
    case 'string': {
      const s = String(raw)
      if (spec.pattern && !spec.pattern.test(s)) return void problems.push(`${label} must be ${spec.patternHelp ?? spec.pattern.source} (got ${JSON.stringify(s)})`)
      return s
    }
  }
}

/** Hides the password of a URL before it is printed or stored. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')
  }
}

export interface Layers {
  readonly profile: string
  readonly env: NodeJS.ProcessEnv
  readonly flags: Record<string, unknown>
  readonly profilesDir?: string
}

/**
 * The one place where configuration layers meet: defaults < profile file < IOTBENCH_* env < flags.
 * Every problem in every layer is collected and thrown together as one ConfigError.
 */
export function resolveConfig(layers: Layers): RunConfig {
  const problems: string[] = []
  let profile: Profile | undefined
  try {
    profile = loadProfile(layers.profile, layers.profilesDir)
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems)
    else throw err
  }
  const merged: Record<string, unknown> = { ...DEFAULTS }
  if (profile) Object.assign(merged, { profile: profile.name, description: profile.description })
  const sources: Array<[string, Record<string, unknown>]> = [['profile', profile?.values ?? {}], ['env', fromEnv(layers.env)], ['flag', layers.flags]]
  for (const [source, values] of sources) {
    for (const spec of OPTIONS) {
      if (values[spec.key] === undefined) continue
      const v = convert(spec, values[spec.key], source, problems)
      if (v !== undefined) merged[spec.key] = v
    }
  }
  const cfg = merged as unknown as RunConfig
  problems.push(...crossChecks(cfg))
  if (problems.length > 0) throw new ConfigError(problems)
  return cfg
}

/** Rules that involve more than one option. */
function crossChecks(c: RunConfig): string[] {
  const problems: string[] = []
  if (c.ingestWorkers > c.farms) problems.push(`ingest-workers (${c.ingestWorkers}) must be ≤ farms (${c.farms}): ingest splits the fleet by farm`)
  const devices = c.farms * (c.cowsPerFarm + c.stallsPerFarm + c.tanksPerFarm)
  if (c.simWorkers > devices) problems.push(`sim-workers (${c.simWorkers}) must be ≤ the number of devices (${devices})`)
  if (c.rate * c.durationSeconds < devices) problems.push(`rate × duration (${c.rate * c.durationSeconds}) must give every one of the ${devices} devices at least one reading`)
  return problems
}
