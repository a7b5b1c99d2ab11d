import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join, basename } from 'node:path'
import { Ajv } from 'ajv'
import { ConfigError } from '../errors.js'
import { kafkaChecks } from '../transport/kafka/config.js'
import { PROFILES_DIR } from '../paths.js'
import { SAMPLE_INTERVAL_S } from '../sim/context.js'
import { fleetChecks, loadSensorModels } from '../sim/models.js'
import { loadReplay } from '../sim/replay.js'
import { dueSeconds, offeredBy } from '../sim/schedule.js'
import { loadChecks } from './load.js'
import { mqttSecurityChecks } from '../transport/mqtt-options.js'
import { externalIngestChecks } from '../external/config.js'
import { databaseTlsChecks } from '../db/tls.js'
import { redactUrl } from '../util/redact.js'
import { faultChecks } from '../faults/config.js'
import { shardChecks } from '../shard/plan.js'
import {
  DEFAULTS,
  OPTIONS,
  envName,
  type OptionKey,
  type OptionSpec,
  type OptionValues,
  type RunConfig,
  type RunOptions,
} from './options.js'
import { must } from '../util/must.js'
import { slicesOf } from './slices.js'
import { textOf } from '../util/text.js'

/** A profile's values: a partial input, as every layer's. */
export type PartialConfig = RunOptions

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
    const leaf = spec.profilePath[spec.profilePath.length - 1]
    node.properties[leaf] = jsonType(spec)
  }
  return root
}

function jsonType(spec: OptionSpec): object {
  switch (spec.type) {
    case 'int':
      return { type: 'integer', minimum: spec.min, maximum: spec.max, description: spec.help }
    case 'number':
      return { type: 'number', minimum: spec.min, maximum: spec.max, description: spec.help }
    case 'enum':
      return { enum: spec.values.map((v) => (/^\d+$/.test(v) ? Number(v) : v)), description: spec.help }
    case 'boolean':
      return { type: 'boolean', description: spec.help }
    case 'json':
      return { ...spec.schema(), description: spec.help }
    default:
      return { type: 'string', description: spec.help }
  }
}

export interface Profile {
  readonly name: string
  readonly description: string
  readonly file: string
  readonly values: PartialConfig
}

/** Profile names shipped in sensor-profiles/ (every *.json but schemas; sensor models live in sensors/). */
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
    throw new ConfigError([
      `profile "${nameOrPath}" not found (known profiles: ${listProfiles(dir).join(', ')}; or give a path to a .json file)`,
    ])
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
    if (v !== undefined) (values as Record<string, unknown>)[spec.key] = spec.type === 'enum' ? textOf(v) : v
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
      if (spec.type === 'int' && !Number.isInteger(n))
        return void problems.push(`${label} must be a whole number (got ${JSON.stringify(raw)})`)
      if (n < spec.min || n > spec.max) return void problems.push(`${label} must be between ${spec.min} and ${spec.max} (got ${n})`)
      return n
    }
    case 'enum': {
      const s = String(raw)
      if (!spec.values.includes(s))
        return void problems.push(`${label} must be one of ${spec.values.join(', ')} (got ${JSON.stringify(raw)})`)
      return spec.key === 'qos' ? Number(s) : s
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw
      const s = String(raw).trim().toLowerCase()
      if (['true', '1', 'yes'].includes(s)) return true
      if (['false', '0', 'no'].includes(s)) return false
      return void problems.push(`${label} must be true or false (got ${JSON.stringify(raw)})`)
    }
    case 'url': {
      const s = String(raw)
      let u: URL
      try {
        u = new URL(s)
      } catch {
        return void problems.push(`${label} is not a URL (got ${JSON.stringify(redactUrl(s))})`)
      }
      if (!spec.protocols.includes(u.protocol))
        return void problems.push(`${label} must use ${spec.protocols.join(' or ')} (got ${u.protocol})`)
      if (!u.hostname)
        return void problems.push(`${label} has no host (got ${JSON.stringify(redactUrl(s))}): write it as ${spec.protocols[0]}//host:port`)
      return s
    }
    case 'json': {
      let v: unknown = raw
      if (typeof raw === 'string') {
        try {
          v = JSON.parse(raw)
        } catch (err) {
          return void problems.push(`${label} must be JSON (${(err as Error).message})`)
        }
      }
      const validate = new Ajv({ allErrors: true, strict: false }).compile(spec.schema())
      if (!validate(v)) {
        for (const e of validate.errors ?? []) {
          const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : ''
          problems.push(`${label}${e.instancePath} ${e.message ?? 'is invalid'}${extra}`)
        }
        return undefined
      }
      return v
    }
    case 'string': {
      const s = String(raw)
      if (spec.pattern && !spec.pattern.test(s))
        return void problems.push(`${label} must be ${spec.patternHelp ?? spec.pattern.source} (got ${JSON.stringify(s)})`)
      return s
    }
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
  const sources: Array<[string, Record<string, unknown>]> = [
    ['profile', profile?.values ?? {}],
    ['env', fromEnv(layers.env)],
    ['flag', layers.flags],
  ]
  /** The layer (0 defaults, 1 profile, 2 env, 3 flags) that set each option. */
  const layerOf: Record<string, number> = {}
  sources.forEach(([source, values], layer) => {
    for (const spec of OPTIONS) {
      if (values[spec.key] === undefined) continue
      const v = convert(spec, values[spec.key], source, problems)
      if (v !== undefined) {
        merged[spec.key] = v
        layerOf[spec.key] = layer + 1
      }
    }
  })
  // The rate/speed/replay arithmetic needs valid numbers; the sensor models are checked regardless,
  // so a bad flag never hides a problem in a model.
  if (problems.length === 0) resolveSimulation(merged, layerOf, problems)
  else resolveModels(merged, problems)
  // Every value in `merged` came from DEFAULTS or through the table's converter for its key.
  const values = merged as unknown as OptionValues
  problems.push(...crossChecks(values))
  if (problems.length > 0) throw new ConfigError(problems)
  return filled(values)
}

/** The options with every field a run relies on set, and the knobs derived from them (resolved here, once). */
function filled(v: OptionValues): RunConfig {
  const options = {
    ...v,
    speed: must(v.speed, 'resolveSimulation sets --speed'),
    models: must(v.models, 'resolveModels loads the sensor models'),
  }
  return { ...options, slices: slicesOf(options) }
}

const LAYER_NAMES = ['the defaults', 'the profile', 'the environment', 'the flags']
const flagOf = (key: OptionKey): string =>
  must(
    OPTIONS.find((o) => o.key === key),
    `option ${key} in the table`,
  ).flag
const FLEET_KEYS = ['farms', 'cowsPerFarm', 'stallsPerFarm', 'tanksPerFarm'] as const

/**
 * What the simulation options imply for the others, in one place:
 * - --replay: the fleet and the readings per device are the trace's; the duration follows from the rate.
 * - --speed and --rate are one knob (rate = speed × devices / 60 s): whichever a later layer set wins;
 *   both in the same layer is an error. The resolved config always has both.
 * - the sensor models are loaded, overridden by the profile's "sensors" and validated.
 */
function resolveSimulation(m: Record<string, unknown>, layerOf: Record<string, number>, problems: string[]): void {
  const devicesOf = (): number => Number(m.farms) * (Number(m.cowsPerFarm) + Number(m.stallsPerFarm) + Number(m.tanksPerFarm))
  let replayPerDevice: number | undefined
  if (typeof m.replay === 'string') {
    for (const key of [...FLEET_KEYS, 'durationSeconds'] as const) {
      if ((layerOf[key] ?? 0) >= 2)
        problems.push(`--replay decides the fleet and the duration (from the trace); ${LAYER_NAMES[layerOf[key]]} also set ${flagOf(key)}`)
    }
    try {
      const trace = loadReplay(m.replay)
      Object.assign(m, trace.fleet)
      replayPerDevice = trace.perDevice
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems)
      else throw err
    }
  }
  const devices = devicesOf()
  const speedLayer = layerOf.speed ?? -1
  const rateLayer = layerOf.rate ?? 0
  if (speedLayer >= 0 && speedLayer === rateLayer) {
    problems.push(`give rate or speed, not both: ${LAYER_NAMES[rateLayer]} set both (rate = speed × devices / ${SAMPLE_INTERVAL_S} s)`)
  } else if (speedLayer > rateLayer) {
    m.rate = (Number(m.speed) * devices) / SAMPLE_INTERVAL_S
  }
  m.speed = (Number(m.rate) * SAMPLE_INTERVAL_S) / devices
  const load = m.load as OptionValues['load']
  if (replayPerDevice !== undefined) {
    // The duration that offers exactly the trace's readings (half a reading of slack against rounding).
    m.durationSeconds = dueSeconds(Number(m.rate), replayPerDevice * devices + 0.5, load?.spikes)
  }
  problems.push(...loadChecks(load, Number(m.durationSeconds)))
  resolveModels(m, problems)
}

/** Loads the sensor models (defaults overridden by the profile's "sensors"), validated against the fleet. */
function resolveModels(m: Record<string, unknown>, problems: string[]): void {
  try {
    const models = loadSensorModels(m.sensors ?? {})
    m.models = models
    problems.push(
      ...fleetChecks(models, {
        farms: Number(m.farms),
        cowsPerFarm: Number(m.cowsPerFarm),
        stallsPerFarm: Number(m.stallsPerFarm),
        tanksPerFarm: Number(m.tanksPerFarm),
      }),
    )
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems)
    else throw err
  }
}

/** Rules that involve more than one option. */
function crossChecks(c: OptionValues): string[] {
  const problems: string[] = []
  if (c.transport === 'mqtt' && c.ingestWorkers > c.farms)
    problems.push(`ingest-workers (${c.ingestWorkers}) must be ≤ farms (${c.farms}): ingest splits the fleet by farm`)
  if (c.transport === 'kafka') problems.push(...kafkaChecks(c))
  problems.push(...externalIngestChecks(c))
  const devices = c.farms * (c.cowsPerFarm + c.stallsPerFarm + c.tanksPerFarm)
  if (c.simWorkers > devices) problems.push(`sim-workers (${c.simWorkers}) must be ≤ the number of devices (${devices})`)
  const offered = offeredBy(c.rate, c.durationSeconds, c.load?.spikes)
  if (offered < devices)
    problems.push(`rate × duration (${Math.floor(offered)}) must give every one of the ${devices} devices at least one reading`)
  problems.push(...mqttSecurityChecks(c), ...databaseTlsChecks(c))
  problems.push(...faultChecks(c))
  problems.push(...shardChecks(c))
  return problems
}
