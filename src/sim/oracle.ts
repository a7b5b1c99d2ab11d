import type { Device } from '../fleet.js'
import type { GeneratorContext } from './context.js'
import { generateReading, type Reading } from './generator.js'
import { openReplay, type ReplayRef } from './replay.js'

/**
 * The source of truth for what a device sent: the generator re-run from the seed, or — for a replayed
 * run — the same recorded trace (whose hashes were stored with the run). The simulators publish from
 * it and the verifier compares the database with it, so both sides read one definition.
 */
export interface Oracle {
  expected(device: Device, seq: number): Reading
}

/** The run constants an oracle is built from (a subset of the verifier's RunManifest). */
export interface OracleSpec extends GeneratorContext {
  readonly replay?: ReplayRef
}

export const contextOf = (s: OracleSpec): GeneratorContext => ({
  seed: s.seed,
  simStartMs: s.simStartMs,
  fleet: s.fleet,
  ...(s.models && { models: s.models }),
  ...(s.startHour !== undefined && { startHour: s.startHour }),
  ...(s.outages && { outages: s.outages }),
})

export function generatorOracle(ctx: GeneratorContext): Oracle {
  return { expected: (device, seq) => generateReading(ctx, device, seq) }
}

export function replayOracle(ref: ReplayRef): Oracle {
  const trace = openReplay(ref)
  return {
    expected(device, seq) {
      const row = trace.rows.get(device.id)?.[seq]
      if (!row) throw new Error(`replay trace has no row for ${device.id} seq ${seq}`)
      return { device, seq, ts: row.ts, values: row.values }
    },
  }
}

/** The oracle of a run: the trace it replayed, or the generator with the run's constants. */
export const oracleFor = (s: OracleSpec): Oracle => (s.replay ? replayOracle(s.replay) : generatorOracle(contextOf(s)))
