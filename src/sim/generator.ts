import type { Device, FleetShape } from '../fleet.js'
import type { FieldValue } from '../kinds.js'
import { anomaliesAt, type AnomalyWindow } from './anomalies.js'
import { nominalTime, SAMPLE_INTERVAL_S, type GeneratorContext } from './context.js'
import { defaultSensorModels, type ChillerModel, type CollarModel, type MilkModel, type Range, type SensorModels } from './models.js'
import { normal, uniform } from './random.js'

export type { GeneratorContext } from './context.js'

/** One sensor reading: a pure function of (seed, device, seq) and the run constants in the context. */
export interface Reading {
  readonly device: Device
  readonly seq: number
  /** Sensor time (simulated, clock skew included), epoch milliseconds. */
  readonly ts: number
  readonly values: Readonly<Record<string, FieldValue>>
}

const MIN = 60_000
const DAY = 86_400_000
const round2 = (x: number): number => Math.round(x * 100) / 100
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))
const lerp = (r: Range, u: number): number => r[0] + u * (r[1] - r[0])
const msOfDay = (ts: number): number => ((ts % DAY) + DAY) % DAY
/** A bump centred on `centre` (hours), `width` hours wide, wrapping around midnight. */
function bump(h: number, centre: number, width: number): number {
  const d = Math.min(Math.abs(h - centre), 24 - Math.abs(h - centre))
  return Math.exp(-(d * d) / (2 * width * width))
}
const daily = (h: number, peakHour: number): number => Math.cos((2 * Math.PI * (h - peakHour)) / 24)

// Streams of the counter-based randomness (see random.ts): per-reading noise uses normal streams 0–9
// (uniform 0–19); constants of a cow or device use uniform 100–149 at seq 0; per-milking draws use
// seq = day × 8 + session with normal streams 115–129 (uniform 230–259).
const COW = 100
const MILKING_NORMAL = 115

const modelsOf = (ctx: GeneratorContext): SensorModels => ctx.models ?? defaultSensorModels()

/** A cow's identity for randomness: its collar's device index (collars come first in each farm). */
export const cowKey = (fleet: FleetShape, farmIndex: number, cowOrdinal: number): number =>
  farmIndex * (fleet.cowsPerFarm + fleet.stallsPerFarm + fleet.tanksPerFarm) + cowOrdinal

export interface CowTraits {
  readonly dailyYieldKg: number
  readonly peakFlowKgMin: number
  readonly conductivityMsCm: number
  readonly fatPct: number
  readonly proteinPct: number
}

/** The constants of one cow (0-based ordinal in its farm), drawn once from the milk model's ranges. */
export function cowTraits(ctx: GeneratorContext, farmIndex: number, cowOrdinal: number): CowTraits {
  const m = modelsOf(ctx).milk
  const key = cowKey(ctx.fleet, farmIndex, cowOrdinal)
  const u = (s: number): number => uniform(ctx.seed, key, 0, COW + s)
  return {
    dailyYieldKg: lerp(m.dailyYieldKg, u(0)),
    peakFlowKgMin: lerp(m.peakFlowKgMin, u(1)),
    conductivityMsCm: lerp(m.conductivityMsCm, u(2)),
    fatPct: lerp(m.fatPct, u(3)),
    proteinPct: lerp(m.proteinPct, u(4)),
  }
}

/** Minutes a milking session lasts on this fleet: every stall milks its share of the cows, one slot each. */
export const sessionMinutes = (fleet: FleetShape, m: MilkModel): number =>
  fleet.stallsPerFarm > 0 ? Math.ceil(fleet.cowsPerFarm / fleet.stallsPerFarm) * m.slotMinutes : 120

// Flow curve of one milking over x = t / duration: rises to the peak by 15 %, holds to 60 %, falls to 20 %.
const RISE = 0.15
const HOLD = 0.6
const TAIL = 0.2
const SHAPE_MEAN = RISE / 2 + (HOLD - RISE) + ((1 - HOLD) * (1 + TAIL)) / 2
/** Fraction of a milking's yield given by x ∈ [0, 1] of its duration. */
function yieldFraction(x: number): number {
  let area: number
  if (x <= RISE) area = (x * x) / (2 * RISE)
  else if (x <= HOLD) area = RISE / 2 + (x - RISE)
  else area = RISE / 2 + (HOLD - RISE) + (x - HOLD) - ((1 - TAIL) * (x - HOLD) ** 2) / (2 * (1 - HOLD))
  return area / SHAPE_MEAN
}

export interface Milking {
  readonly cowOrdinal: number
  /** Day number (epoch days) and index of the session the milking belongs to. */
  readonly day: number
  readonly session: number
  /** Minutes since the cow entered the stall. */
  readonly minuteInSlot: number
  readonly yieldKg: number
  readonly durationMin: number
  readonly traits: CowTraits
}

/** Which cow (if any) a stall's meter sees at sensor time `tsNominal`, and that milking's totals. */
export function milkingAt(ctx: GeneratorContext, device: Device, tsNominal: number): Milking | undefined {
  const m = modelsOf(ctx).milk
  const { fleet } = ctx
  const minute = msOfDay(tsNominal) / MIN
  const slot = m.slotMinutes
  const length = sessionMinutes(fleet, m)
  for (let s = 0; s < m.sessionHours.length; s++) {
    const offset = (minute - m.sessionHours[s] * 60 + 1440) % 1440
    if (offset >= length) continue
    const position = Math.floor(offset / slot)
    const cowOrdinal = position * fleet.stallsPerFarm + device.ordinal
    if (cowOrdinal >= fleet.cowsPerFarm) return undefined
    const day = Math.floor((tsNominal - offset * MIN) / DAY)
    const traits = cowTraits(ctx, device.farmIndex, cowOrdinal)
    const key = cowKey(fleet, device.farmIndex, cowOrdinal)
    const k = clamp(normal(ctx.seed, key, day * 8 + s, MILKING_NORMAL), -2.5, 2.5)
    const yieldKg = (traits.dailyYieldKg / m.sessionHours.length) * (1 + m.milkingCv * k)
    const durationMin = yieldKg / (SHAPE_MEAN * traits.peakFlowKgMin)
    return { cowOrdinal, day, session: s, minuteInSlot: offset - position * slot, yieldKg, durationMin, traits }
  }
  return undefined
}

const find = (active: readonly AnomalyWindow[], kind: string): AnomalyWindow | undefined => active.find((w) => w.kind === kind)

function collar(
  ctx: GeneratorContext,
  m: CollarModel,
  device: Device,
  seq: number,
  h: number,
  active: readonly AnomalyWindow[],
): Record<string, FieldValue> {
  const n = (stream: number): number => normal(ctx.seed, device.index, seq, stream)
  const c = (stream: number): number => uniform(ctx.seed, device.index, 0, COW + stream)
  const feeding = m.feedingHours.reduce((sum, f) => sum + bump(h, f, m.feedingWidthHours), 0)
  const resting = bump(h, m.restHour, m.restWidthHours)
  let activity = Math.max(0, m.activity.base + m.activity.feedingPeak * feeding - m.activity.restingDip * resting + m.activity.noise * n(0))
  const eating = clamp(m.eating.base + m.eating.feedingPeak * feeding + m.eating.noise * n(1), 0, 1)
  let rumination = clamp(
    m.rumination.base + m.rumination.resting * resting - m.rumination.feedingDip * feeding + m.rumination.noise * n(2),
    0,
    1 - eating,
  )
  let neck = m.neckTempC.mean + m.neckTempC.diurnalAmplitude * daily(h, m.neckTempC.peakHour) + m.neckTempC.noise * clamp(n(3), -4, 4)
  const heat = find(active, 'heat')
  if (heat) activity *= heat.magnitude
  const drop = find(active, 'ruminationDrop')
  if (drop) rumination *= 1 - drop.magnitude
  const fever = find(active, 'fever')
  if (fever) neck = 39.5 + fever.magnitude + Math.abs(0.05 * n(3))
  const days = (seq * SAMPLE_INTERVAL_S) / 86_400
  const battery = Math.max(0, lerp(m.battery.startPct, c(10)) - lerp(m.battery.drainPctPerDay, c(11)) * days)
  return {
    activity: round2(activity),
    rumination_min: round2(rumination),
    eating_min: round2(eating),
    neck_temp_c: round2(neck),
    battery_pct: round2(battery),
    rssi_dbm: Math.round(lerp(m.rssiDbm.cowMean, c(12)) + m.rssiDbm.noise * n(4)),
  }
}

function milk(
  ctx: GeneratorContext,
  m: MilkModel,
  device: Device,
  seq: number,
  tsNominal: number,
  active: readonly AnomalyWindow[],
): Record<string, FieldValue> {
  const n = (stream: number): number => normal(ctx.seed, device.index, seq, stream)
  const idle = (cow: number): Record<string, FieldValue> => ({
    cow,
    yield_kg: 0,
    flow_mean_kg_min: 0,
    flow_peak_kg_min: 0,
    conductivity_ms_cm: 0,
    fat_pct: 0,
    protein_pct: 0,
    // an empty meter reads the parlour's air
    milk_temp_c: round2(15 + 0.3 * n(6)),
    duration_s: 0,
  })
  const mk = milkingAt(ctx, device, tsNominal)
  if (!mk) return idle(0)
  const t = mk.minuteInSlot - m.prepMinutes
  if (t <= 0) return idle(mk.cowOrdinal + 1) // the cow is in the stall, no milk has flowed yet
  if (t - 1 >= mk.durationMin) return idle(0) // the milking ended before the previous reading: the cow has left
  const tt = Math.min(t, mk.durationMin)
  const x = tt / mk.durationMin
  let yieldKg = mk.yieldKg * yieldFraction(x)
  const drop = find(active, 'yieldDrop')
  if (drop) yieldKg *= 1 - drop.magnitude
  const base = mk.traits.conductivityMsCm
  let ec = base * (1 + m.conductivityNoise * clamp(n(3), -3, 3))
  const mastitis = find(active, 'mastitis')
  if (mastitis) ec = base * (1 + mastitis.magnitude) + Math.abs(ec - base) + 0.01
  return {
    cow: mk.cowOrdinal + 1,
    yield_kg: round2(yieldKg),
    flow_mean_kg_min: tt > 0 ? round2(yieldKg / tt) : 0,
    flow_peak_kg_min: round2(mk.traits.peakFlowKgMin * (drop ? 1 - drop.magnitude : 1) * Math.min(1, x / RISE)),
    conductivity_ms_cm: tt > 0 ? round2(ec) : 0,
    fat_pct: tt > 0 ? round2(mk.traits.fatPct + 0.05 * n(4)) : 0,
    protein_pct: tt > 0 ? round2(mk.traits.proteinPct + 0.03 * n(5)) : 0,
    milk_temp_c: round2(m.milkTempC.mean + m.milkTempC.noise * n(6)),
    duration_s: Math.round(tt * 60),
  }
}

/** Litres one session's milk adds to one tank on this fleet (the farm's cows, shared by its tanks). */
export function sessionLitres(fleet: FleetShape, m: MilkModel): number {
  const meanDaily = (m.dailyYieldKg[0] + m.dailyYieldKg[1]) / 2
  return ((fleet.cowsPerFarm / Math.max(1, fleet.tanksPerFarm)) * meanDaily) / m.sessionHours.length / 1.03
}

function chiller(
  ctx: GeneratorContext,
  c: ChillerModel,
  mm: MilkModel,
  device: Device,
  seq: number,
  tsNominal: number,
  active: readonly AnomalyWindow[],
): Record<string, FieldValue> {
  const n = (stream: number): number => normal(ctx.seed, device.index, seq, stream)
  const minute = msOfDay(tsNominal) / MIN
  const h = minute / 60
  const length = sessionMinutes(ctx.fleet, mm)
  const litres = sessionLitres(ctx.fleet, mm)
  const sinceCollection = (minute - c.collectionHour * 60 + 1440) % 1440
  const offsets = mm.sessionHours.map((s) => (s * 60 - c.collectionHour * 60 + 1440) % 1440)
  let volume = 0
  let latest = -1
  for (let s = 0; s < offsets.length; s++) {
    volume += clamp((sinceCollection - offsets[s]) / length, 0, 1) * litres
    if (offsets[s] <= sinceCollection && (latest < 0 || offsets[s] > offsets[latest])) latest = s
  }
  const ambient = c.ambientC.mean + c.ambientC.amplitude * daily(h, c.ambientC.peakHour) + c.ambientC.noise * n(2)
  let temp: number
  let compressor: boolean
  if (latest < 0) {
    // Empty since collection: the probe drifts towards the air temperature.
    temp = c.setpointC + (ambient - c.setpointC) * (1 - Math.exp(-sinceCollection / 60)) + 0.05 * n(0)
    compressor = false
  } else {
    const t = sinceCollection - offsets[latest]
    const before = offsets.filter((o) => o < offsets[latest]).length * litres
    const peak = (c.intakeWarmingC * litres) / (before + litres)
    const intake = t < length
    const excess = intake
      ? peak * (1 - Math.exp(-t / c.intakeTimeConstantMinutes))
      : peak * (1 - Math.exp(-length / c.intakeTimeConstantMinutes)) * Math.exp(-(t - length) / c.coolingTimeConstantMinutes)
    temp = c.setpointC + excess + 0.05 * clamp(n(0), -3, 3)
    compressor = intake || excess > 0.25
  }
  const failure = find(active, 'chillerFailure')
  if (failure) {
    const hours = ((seq - failure.fromSeq) * SAMPLE_INTERVAL_S) / 3600
    temp = Math.max(temp, c.maxStoredC + 0.5 + failure.magnitude * hours)
    compressor = false
  }
  const agitator = compressor || (volume > 0 && Math.floor(minute) % c.agitator.everyMinutes < c.agitator.runMinutes)
  return {
    milk_temp_c: round2(temp),
    compressor_on: compressor,
    agitator_on: agitator,
    volume_l: volume > 0 ? round2(volume * (1 + c.volumeNoise * clamp(n(1), -3, 3))) : 0,
    ambient_c: round2(ambient),
  }
}

/** The field a stuck sensor freezes, per kind. */
export const STUCK_FIELD = { collar: 'neck_temp_c', milk: 'milk_temp_c', chiller: 'milk_temp_c' } as const

function valuesAt(ctx: GeneratorContext, device: Device, seq: number, active: readonly AnomalyWindow[]): Record<string, FieldValue> {
  const models = modelsOf(ctx)
  const tsNominal = nominalTime(ctx, seq)
  switch (device.kind) {
    case 'collar':
      return collar(ctx, models.collar, device, seq, msOfDay(tsNominal) / 3_600_000, active)
    case 'milk':
      return milk(ctx, models.milk, device, seq, tsNominal, active)
    case 'chiller':
      return chiller(ctx, models.chiller, models.milk, device, seq, tsNominal, active)
  }
}

export function generateReading(ctx: GeneratorContext, device: Device, seq: number): Reading {
  const active = anomaliesAt(ctx, device, seq)
  const values = valuesAt(ctx, device, seq, active)
  const stuck = find(active, 'stuck')
  if (stuck && seq > stuck.fromSeq) {
    // A stuck sensor repeats the value it measured when it stuck.
    const field = STUCK_FIELD[device.kind]
    values[field] = valuesAt(ctx, device, stuck.fromSeq, anomaliesAt(ctx, device, stuck.fromSeq))[field]
  }
  const skew = find(active, 'clockSkew')
  const ts = nominalTime(ctx, seq) + (skew ? Math.round(skew.magnitude * 1000) : 0)
  return { device, seq, ts, values }
}

/** The wire payload. `sent` is the intended send time (epoch ms), from which latency is measured. */
export function encodePayload(r: Reading, sentMs: number): string {
  return JSON.stringify({ device: r.device.id, kind: r.device.kind, seq: r.seq, ts: r.ts, sent: sentMs, values: r.values })
}
