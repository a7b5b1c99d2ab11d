import type { FleetShape } from '../fleet.js'
import type { BadMessage } from '../sim/bad-input.js'
import type { UnackedRange } from '../sim/messages.js'
import type { SimManifest } from '../sim/setup.js'

/** P1–P9 from the verifier; S1 (memory drift) from a run with a soak SLO (src/report/soak.ts). */
export type PropertyId = 'P1' | 'P2' | 'P3' | 'P4' | 'P5' | 'P6' | 'P7' | 'P8' | 'P9' | 'S1'

export interface PropertyResult {
  readonly id: PropertyId
  readonly name: string
  readonly pass: boolean
  /** One line a person reads first. */
  readonly summary: string
  readonly evidence: Readonly<Record<string, unknown>>
  /**
   * Set when the run has no data to judge this property (e.g. an external ingest's sink map names no
   * receive-order column): the reason. Printed as "N/A", never counted as a failure (pass stays true so
   * no verdict fails on it) nor as a pass.
   */
  readonly notApplicable?: string
}

/**
 * What the verifier needs to regenerate the expected stream; stored in runs so `verify` works later.
 * SimManifest adds the simulation constants: sensor models, start hour, fleet outages, speed, spikes,
 * and for a replayed run the trace's path and sha256 hashes.
 */
export interface RunManifest extends SimManifest {
  readonly seed: number
  readonly simStartMs: number
  readonly fleet: FleetShape
  readonly perDevice: number
  /** Published but never acknowledged at the source (device, [from, to) seqs). */
  readonly unacked: readonly UnackedRange[]
  readonly published: number
  /** Malformed messages the simulators injected (P7). */
  readonly badInput?: readonly BadMessage[]
}

/** A (device, seq) named in evidence. */
export interface Sample {
  readonly device: string
  readonly seq: number
  readonly detail?: string
}
