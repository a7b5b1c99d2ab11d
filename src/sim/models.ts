import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { ConfigError } from '../errors.js'
import type { FleetShape } from '../fleet.js'
import type { Kind } from '../kinds.js'
import { PROFILES_DIR } from '../paths.js'
import { ALERTS_SCHEMA, ruleChecks, type AlertRule } from '../alerts/rules.js'

/**
 * Sensor models as data (sensor-profiles/sensors/<kind>.json): baselines, noise, diurnal patterns,
 * milkings, cooling, anomaly rates and magnitudes. The generator reads only these numbers, so a model
 * can be tuned without touching code; a bench profile may override any of them under "sensors".
 */
export type Range = readonly [min: number, max: number]

/** One injected anomaly type: how often (per device per simulated day), how long, how strong. */
export interface AnomalySpec {
  readonly perDay: number
  /** Window length in simulated minutes, drawn uniformly from [min, max]. */
  readonly minutes: Range
  /** Drawn uniformly from [min, max]; its meaning depends on the anomaly (see docs/sensor-models.md). */
  readonly magnitude?: Range
}

export const ANOMALIES = {
  collar: ['fever', 'ruminationDrop', 'heat', 'stuck', 'offline', 'clockSkew'],
  milk: ['mastitis', 'yieldDrop', 'stuck', 'offline', 'clockSkew'],
  chiller: ['chillerFailure', 'stuck', 'offline', 'clockSkew'],
} as const satisfies Record<Kind, readonly string[]>
export type AnomalyKind = (typeof ANOMALIES)[Kind][number]
/** Anomalies whose magnitude is required (the others ignore it). */
const NEEDS_MAGNITUDE: ReadonlySet<string> = new Set([
  'fever',
  'ruminationDrop',
  'heat',
  'mastitis',
  'yieldDrop',
  'chillerFailure',
  'clockSkew',
])

export interface CollarModel {
  readonly kind: 'collar'
  readonly description: string
  /** Feed is pushed up at these hours (after each milking); activity and eating peak around them. */
  readonly feedingHours: readonly number[]
  readonly feedingWidthHours: number
  /** Cows lie down and ruminate most around this hour. */
  readonly restHour: number
  readonly restWidthHours: number
  readonly activity: { readonly base: number; readonly feedingPeak: number; readonly restingDip: number; readonly noise: number }
  /** Fractions of each reading interval spent eating / ruminating. */
  readonly eating: { readonly base: number; readonly feedingPeak: number; readonly noise: number }
  readonly rumination: { readonly base: number; readonly resting: number; readonly feedingDip: number; readonly noise: number }
  readonly neckTempC: { readonly mean: number; readonly diurnalAmplitude: number; readonly peakHour: number; readonly noise: number }
  readonly battery: { readonly startPct: Range; readonly drainPctPerDay: Range }
  readonly rssiDbm: { readonly cowMean: Range; readonly noise: number }
  readonly anomalies: Readonly<Record<(typeof ANOMALIES)['collar'][number], AnomalySpec>>
}

export interface MilkModel {
  readonly kind: 'milk'
  readonly description: string
  /** Start of each milking session (hours, 2 or 3 a day); every cow is milked once per session. */
  readonly sessionHours: readonly number[]
  /** Minutes each cow occupies a stall: preparation + milking + exit. */
  readonly slotMinutes: number
  readonly prepMinutes: number
  /** Each cow's daily yield is drawn from this range once; every milking varies around its share. */
  readonly dailyYieldKg: Range
  /** Coefficient of variation of one milking's yield around the cow's share. */
  readonly milkingCv: number
  readonly peakFlowKgMin: Range
  /** Each cow's healthy conductivity baseline. */
  readonly conductivityMsCm: Range
  /** Relative noise of one conductivity reading. */
  readonly conductivityNoise: number
  readonly fatPct: Range
  readonly proteinPct: Range
  readonly milkTempC: { readonly mean: number; readonly noise: number }
  readonly anomalies: Readonly<Record<(typeof ANOMALIES)['milk'][number], AnomalySpec>>
}

export interface ChillerModel {
  readonly kind: 'chiller'
  readonly description: string
  /** The compressor holds the milk at this temperature. */
  readonly setpointC: number
  /** Milk must be back at or below this temperature … */
  readonly maxStoredC: number
  /** … within this many minutes after a milking session ends. */
  readonly coolingLimitMinutes: number
  readonly coolingTimeConstantMinutes: number
  /** Time constant of warming while warm milk flows in. */
  readonly intakeTimeConstantMinutes: number
  /** Excess temperature over the setpoint that a session's milk causes in an empty tank (less in a fuller one). */
  readonly intakeWarmingC: number
  /** The milk truck empties the tank at this hour. */
  readonly collectionHour: number
  readonly volumeNoise: number
  readonly ambientC: { readonly mean: number; readonly amplitude: number; readonly peakHour: number; readonly noise: number }
  readonly agitator: { readonly everyMinutes: number; readonly runMinutes: number }
  readonly anomalies: Readonly<Record<(typeof ANOMALIES)['chiller'][number], AnomalySpec>>
}

export interface SensorModels {
  readonly collar: CollarModel
  readonly milk: MilkModel
  readonly chiller: ChillerModel
}

export const SENSORS_DIR = join(PROFILES_DIR, 'sensors')

// ---------------------------------------------------------------------------------------------- schema
const num = (minimum?: number, maximum?: number): object => ({
  type: 'number',
  ...(minimum !== undefined && { minimum }),
  ...(maximum !== undefined && { maximum }),
})
const range = (minimum?: number, maximum?: number): object => ({ type: 'array', items: num(minimum, maximum), minItems: 2, maxItems: 2 })
const obj = (properties: Record<string, object>): object => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => k !== '$schema' && k !== 'alerts'),
  additionalProperties: false,
})
const anomaly = (name: string): object => ({
  type: 'object',
  properties: { perDay: num(0, 50), minutes: range(1, 1440), magnitude: name === 'clockSkew' ? range(1, 86_400) : range(0, 1000) },
  required: NEEDS_MAGNITUDE.has(name) ? ['perDay', 'minutes', 'magnitude'] : ['perDay', 'minutes'],
  additionalProperties: false,
})
const anomalies = (kind: Kind): object => obj(Object.fromEntries(ANOMALIES[kind].map((a) => [a, anomaly(a)])))
const hour = num(0, 23.99)

/** JSON schemas of the three sensor models (`iotbench` validates every model file and override against them). */
export const MODEL_SCHEMAS: Readonly<Record<Kind, object>> = {
  collar: obj({
    $schema: { type: 'string' },
    kind: { const: 'collar' },
    description: { type: 'string' },
    feedingHours: { type: 'array', items: hour, minItems: 1, maxItems: 6 },
    feedingWidthHours: num(0.1, 12),
    restHour: hour,
    restWidthHours: num(0.1, 12),
    activity: obj({ base: num(0, 1000), feedingPeak: num(0, 1000), restingDip: num(0, 1000), noise: num(0, 1000) }),
    eating: obj({ base: num(0, 1), feedingPeak: num(0, 1), noise: num(0, 1) }),
    rumination: obj({ base: num(0, 1), resting: num(0, 1), feedingDip: num(0, 1), noise: num(0, 1) }),
    neckTempC: obj({ mean: num(30, 45), diurnalAmplitude: num(0, 3), peakHour: hour, noise: num(0, 2) }),
    battery: obj({ startPct: range(0, 100), drainPctPerDay: range(0, 100) }),
    rssiDbm: obj({ cowMean: range(-130, 0), noise: num(0, 30) }),
    anomalies: anomalies('collar'),
    alerts: ALERTS_SCHEMA,
  }),
  milk: obj({
    $schema: { type: 'string' },
    kind: { const: 'milk' },
    description: { type: 'string' },
    sessionHours: { type: 'array', items: hour, minItems: 2, maxItems: 3 },
    slotMinutes: { type: 'integer', minimum: 3, maximum: 60 },
    prepMinutes: { type: 'integer', minimum: 0, maximum: 10 },
    dailyYieldKg: range(1, 100),
    milkingCv: num(0, 0.5),
    peakFlowKgMin: range(0.5, 10),
    conductivityMsCm: range(1, 20),
    conductivityNoise: num(0, 0.05),
    fatPct: range(1, 10),
    proteinPct: range(1, 10),
    milkTempC: obj({ mean: num(20, 45), noise: num(0, 3) }),
    anomalies: anomalies('milk'),
    alerts: ALERTS_SCHEMA,
  }),
  chiller: obj({
    $schema: { type: 'string' },
    kind: { const: 'chiller' },
    description: { type: 'string' },
    setpointC: num(0, 10),
    maxStoredC: num(0, 15),
    coolingLimitMinutes: num(10, 600),
    coolingTimeConstantMinutes: num(1, 600),
    intakeTimeConstantMinutes: num(1, 600),
    intakeWarmingC: num(0, 40),
    collectionHour: hour,
    volumeNoise: num(0, 0.1),
    ambientC: obj({ mean: num(-40, 50), amplitude: num(0, 30), peakHour: hour, noise: num(0, 10) }),
    agitator: obj({
      everyMinutes: { type: 'integer', minimum: 1, maximum: 1440 },
      runMinutes: { type: 'integer', minimum: 0, maximum: 1440 },
    }),
    anomalies: anomalies('chiller'),
    alerts: ALERTS_SCHEMA,
  }),
}

/** Schema of a bench profile's "sensors" overrides: any subset of each model, deep-merged onto its file. */
export function overridesSchema(): object {
  const loosen = (s: any): any => {
    if (s?.type !== 'object' || !s.properties) return s
    return { ...s, required: [], properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, loosen(v)])) }
  }
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(MODEL_SCHEMAS).map(([k, s]) => [k, loosen(s)])),
    additionalProperties: false,
  }
}

// ---------------------------------------------------------------------------------------------- loading
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over
  const out: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v)
  return out
}

function describeAjv(
  where: string,
  errors: ReadonlyArray<{ instancePath: string; message?: string; keyword: string; params: unknown }>,
): string[] {
  return errors.map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : ''
    return `${where}: ${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}${extra}`
  })
}

/** Rules a schema cannot say: ordered ranges, a cooling curve that meets its own limit, … */
export function modelChecks(m: SensorModels): string[] {
  const problems: string[] = []
  const ranges = (where: string, o: unknown): void => {
    if (!isPlainObject(o)) return
    for (const [k, v] of Object.entries(o)) {
      if (
        Array.isArray(v) &&
        v.length === 2 &&
        typeof v[0] === 'number' &&
        typeof v[1] === 'number' &&
        k !== 'feedingHours' &&
        k !== 'sessionHours'
      ) {
        if (v[0] > v[1]) problems.push(`${where}.${k}: [min, max] must have min ≤ max (got [${v[0]}, ${v[1]}])`)
      } else ranges(`${where}.${k}`, v)
    }
  }
  for (const kind of ['collar', 'milk', 'chiller'] as const) ranges(kind, m[kind])
  const sessions = m.milk.sessionHours
  for (let i = 1; i < sessions.length; i++) {
    if (!(sessions[i] > sessions[i - 1])) problems.push(`milk.sessionHours must be increasing (got ${sessions.join(', ')})`)
  }
  if (m.milk.prepMinutes >= m.milk.slotMinutes)
    problems.push(`milk.prepMinutes (${m.milk.prepMinutes}) must be < slotMinutes (${m.milk.slotMinutes})`)
  const c = m.chiller
  if (c.setpointC >= c.maxStoredC) problems.push(`chiller.setpointC (${c.setpointC}) must be below maxStoredC (${c.maxStoredC})`)
  // The worst case is a session's milk into an empty tank: its excess must decay below the limit in time.
  const worst = c.intakeWarmingC * Math.exp(-c.coolingLimitMinutes / c.coolingTimeConstantMinutes)
  if (c.setpointC + worst > c.maxStoredC) {
    problems.push(
      `chiller: cooling is too slow to meet its own limit: ${c.intakeWarmingC} °C of excess with a ${c.coolingTimeConstantMinutes} min time constant is still ${(c.setpointC + worst).toFixed(2)} °C after ${c.coolingLimitMinutes} min (must be ≤ ${c.maxStoredC})`,
    )
  }
  if (c.anomalies.chillerFailure.perDay > 0 && c.anomalies.chillerFailure.minutes[0] <= c.coolingLimitMinutes) {
    problems.push(
      `chiller.anomalies.chillerFailure.minutes must all exceed coolingLimitMinutes (${c.coolingLimitMinutes}): a failure is "too warm for longer than allowed"`,
    )
  }
  const fever = m.collar.anomalies.fever.magnitude
  if (fever && fever[0] <= 0) problems.push('collar.anomalies.fever.magnitude: the rise above 39.5 °C must be > 0')
  const mastitis = m.milk.anomalies.mastitis.magnitude
  if (mastitis && mastitis[0] < 0.2)
    problems.push('milk.anomalies.mastitis.magnitude: the conductivity rise must be ≥ 0.2 (+20 % of the cow’s baseline)')
  for (const [name, spec] of [
    ['collar.anomalies.ruminationDrop', m.collar.anomalies.ruminationDrop],
    ['milk.anomalies.yieldDrop', m.milk.anomalies.yieldDrop],
  ] as const) {
    if (spec.magnitude && (spec.magnitude[0] <= 0 || spec.magnitude[1] >= 1))
      problems.push(`${name}.magnitude: the fraction lost must be in (0, 1)`)
  }
  const heat = m.collar.anomalies.heat.magnitude
  if (heat && heat[0] <= 1) problems.push('collar.anomalies.heat.magnitude: the activity multiplier must be > 1')
  return problems
}

/** Rules that involve the fleet: every session must fit before the next one starts. */
export function fleetChecks(m: SensorModels, fleet: FleetShape): string[] {
  const problems: string[] = []
  if (fleet.stallsPerFarm > 0) {
    const cowsPerStall = Math.ceil(fleet.cowsPerFarm / fleet.stallsPerFarm)
    const s = m.milk.sessionHours
    const gaps = s.map((h, i) => ((s[(i + 1) % s.length] - h + 24) % 24 || 24) * 60)
    const session = cowsPerStall * m.milk.slotMinutes
    if (session > Math.min(...gaps)) {
      problems.push(
        `a milking session (${cowsPerStall} cows per stall × ${m.milk.slotMinutes} min = ${session} min) must end before the next one starts (${Math.min(...gaps)} min later): add stalls or milk fewer cows per farm`,
      )
    }
  }
  return problems
}

/**
 * Loads the three sensor models from `dir`, deep-merges a bench profile's overrides onto them and
 * validates the result; every problem in every file is reported at once (ConfigError).
 */
export function loadSensorModels(overrides: unknown = {}, dir = SENSORS_DIR): SensorModels {
  const problems: string[] = []
  const ajv = new Ajv({ allErrors: true, strict: false })
  const over = isPlainObject(overrides) ? overrides : {}
  const models: Record<string, unknown> = {}
  for (const kind of ['collar', 'milk', 'chiller'] as const) {
    const file = join(dir, `${kind}.json`)
    if (!existsSync(file)) {
      problems.push(`sensor model ${file} not found`)
      continue
    }
    let raw: unknown
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'))
    } catch (err) {
      problems.push(`sensor model ${kind}.json is not valid JSON: ${(err as Error).message}`)
      continue
    }
    const merged = deepMerge(raw, over[kind])
    const validate = ajv.compile(MODEL_SCHEMAS[kind])
    if (!validate(merged)) {
      problems.push(
        ...describeAjv(
          over[kind] === undefined ? `sensor model ${kind}.json` : `sensor model ${kind}.json with the profile's overrides`,
          validate.errors ?? [],
        ),
      )
      continue
    }
    models[kind] = merged
  }
  if (problems.length === 0) problems.push(...modelChecks(models as unknown as SensorModels))
  for (const kind of ['collar', 'milk', 'chiller'] as const)
    problems.push(...ruleChecks(kind, (models[kind] as { alerts?: Record<string, AlertRule> } | undefined)?.alerts ?? {}))
  if (problems.length > 0) throw new ConfigError(problems)
  return models as unknown as SensorModels
}

let defaults: SensorModels | undefined
/** The shipped models without overrides (cached): what a context without models generates from. */
export function defaultSensorModels(): SensorModels {
  defaults ??= loadSensorModels()
  return defaults
}
