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
