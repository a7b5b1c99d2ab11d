import type { FleetShape } from '../fleet.js'
import { KINDS } from '../kinds.js'
import type { SensorModels } from './models.js'

/** Every sensor samples once per this many simulated seconds (the same for every kind: see docs/sensor-models.md). */
export const SAMPLE_INTERVAL_S = KINDS.collar.intervalSeconds
/** Readings per sensor per simulated day. */
export const SEQS_PER_DAY = Math.round(86_400 / SAMPLE_INTERVAL_S)

/** A fleet-wide outage (burst profile): each device is in it with probability `share`, seqs [fromSeq, toSeq). */
export interface FleetOutage {
  readonly fromSeq: number
  readonly toSeq: number
  readonly share: number
}

/**
 * The run constants a reading depends on besides (seed, device, seq). All are stored in the run's
 * manifest, so the verifier's oracle regenerates exactly what the simulators sent.
 */
export interface GeneratorContext {
  readonly seed: number
  /** Simulated midnight (UTC) of the run's first day, epoch ms. */
  readonly simStartMs: number
  readonly fleet: FleetShape
  /** Sensor models; absent means the shipped sensor-profiles/sensors/*.json. */
  readonly models?: SensorModels
  /** Simulated hour of day of seq 0 (default 0): lets a short run start just before a milking. */
  readonly startHour?: number
  readonly outages?: readonly FleetOutage[]
}

/** Simulated time of (device, seq) before any clock skew, epoch ms. */
export const nominalTime = (ctx: GeneratorContext, seq: number): number =>
  ctx.simStartMs + Math.round((ctx.startHour ?? 0) * 3_600_000) + seq * SAMPLE_INTERVAL_S * 1000

const DAY_MS = 86_400_000
/** How far before the wall clock a run's last reading is stamped: the refresh policies' end_offset (1 minute) and one bucket. */
export const SENSOR_CLOCK_MARGIN_MS = 2 * 60_000

/** The largest clock skew (ahead) any sensor model can inject, ms: 0 where no model injects one. */
export const maxClockSkewMs = (models: SensorModels): number =>
  Math.max(
    0,
    ...[models.collar, models.milk, models.chiller].map((m) => {
      const skew = m.anomalies.clockSkew
      return skew.perDay > 0 && skew.magnitude ? Math.max(...skew.magnitude) * 1000 : 0
    }),
  )

/**
 * Simulated midnight (UTC) of a run: the latest one from which every reading — seq 0 at `startHour`,
 * `perDevice` samples, the largest clock skew — is stamped at least SENSOR_CLOCK_MARGIN_MS before
 * `anchorMs` (the run's start). Sensor time runs faster than the wall clock, so a run's readings all lie in
 * the past, as a real farm's do: a refresh policy (whose window ends at now − 1 minute) materializes
 * every one of them, and dashboards with a "last 24 hours" range show the run. The time of day is kept,
 * so a profile still starts just before its milking.
 */
export function sensorDayStart(anchorMs: number, startHour: number, perDevice: number, maxSkewMs: number): number {
  const lastMs = Math.round(startHour * 3_600_000) + Math.max(0, perDevice - 1) * SAMPLE_INTERVAL_S * 1000 + maxSkewMs
  return Math.floor((anchorMs - SENSOR_CLOCK_MARGIN_MS - lastMs) / DAY_MS) * DAY_MS
}
