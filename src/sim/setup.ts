import type { SimSlice } from '../config/slices.js'
import type { FleetShape } from '../fleet.js'
import type { FleetOutage, GeneratorContext } from './context.js'
import type { SensorModels } from './models.js'
import { loadReplay, type ReplayRef } from './replay.js'
import { seqAt, type Spike } from './schedule.js'

/** The simulation constants of a run that the manifest stores for the oracle (beyond seed, start and fleet). */
export interface SimManifest {
  readonly models?: SensorModels
  readonly startHour?: number
  readonly outages?: readonly FleetOutage[]
  /** Simulated seconds per wall second at the baseline rate (informational: readings do not depend on it). */
  readonly speed?: number
  readonly spikes?: readonly Spike[]
  readonly replay?: ReplayRef
}

export interface SimSetup {
  readonly ctx: GeneratorContext
  readonly replay: ReplayRef | undefined
  readonly manifest: SimManifest
}

/** Everything the simulators and the oracle share, from the simulation's slice of the config and the run's start. */
export function simulationOf(cfg: SimSlice, simStartMs: number, fleet: FleetShape, devices: number): SimSetup {
  const spikes = cfg.load?.spikes ?? []
  // A fleet outage is given in wall seconds after the load starts; readings are keyed by seq, so it
  // becomes the seqs due in that interval (the schedule is deterministic).
  const outages: FleetOutage[] = (cfg.load?.outages ?? []).map((o) => ({
    fromSeq: seqAt(cfg.rate, o.atSeconds, devices, spikes),
    toSeq: seqAt(cfg.rate, o.atSeconds + o.seconds, devices, spikes),
    share: o.share,
  }))
  const replay = cfg.replay ? (({ path, files }) => ({ path, files }))(loadReplay(cfg.replay)) : undefined
  const ctx: GeneratorContext = {
    seed: cfg.seed,
    simStartMs,
    fleet,
    models: cfg.models,
    startHour: cfg.startHour,
    outages,
  }
  return {
    ctx,
    replay,
    manifest: {
      models: cfg.models,
      startHour: cfg.startHour,
      outages,
      speed: cfg.speed,
      spikes,
      ...(replay && { replay }),
    },
  }
}
