import type { AlertEvent } from '../alerts/engine.js'
import type { DeadLetter } from './batch.js'
import type { DecodedReading } from './decode.js'

/** An accepted reading a fault holds back: its receive time and receive order. */
export interface Accepted {
  readonly reading: DecodedReading
  readonly received: number
  readonly rx: number
}

/** What a fault may do to the batch besides storing readings through `store`. */
export interface FaultBatch {
  /** Stores the reading with its receive time and order (and runs its alert rules). */
  store(reading: DecodedReading, received: number, rx: number): void
  /** Puts the reading into the batch once more, without its alert rules (a second copy of a stored reading). */
  storeAgain(reading: DecodedReading, received: number): void
  deadLetter(d: DeadLetter): void
}

/**
 * The ingest core's seam for test-only faults (--fault-hook, src/faults/ingest-hook.ts): each method
 * is where the core hands a step over; NO_FAULTS, the default, passes everything through unchanged.
 */
export interface IngestFaultSeam {
  /** An accepted reading (not a redelivery): stored as it is, unless a fault drops, changes, holds or copies it. */
  write(reading: DecodedReading, received: number, rx: number, batch: FaultBatch): void
  /** A stored reading's alert events, as they go into the batch. */
  alerts(reading: DecodedReading, events: readonly AlertEvent[]): readonly AlertEvent[]
  /** Before a batch's COPY. */
  beforeCommit(): Promise<void>
  /** A committed batch's readings, as the live feed gets them. */
  live(readings: DecodedReading[]): DecodedReading[]
  /** At the drain: stores what a fault still holds back. */
  release(batch: FaultBatch): void
}

export const NO_FAULTS: IngestFaultSeam = {
  // Positional, not an object: this runs once per reading, and the default allocates nothing.
  write: (reading, received, rx, batch) => batch.store(reading, received, rx),
  alerts: (_reading, events) => events,
  beforeCommit: async () => undefined,
  live: (readings) => readings,
  release: () => undefined,
}
