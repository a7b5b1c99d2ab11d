import type pg from 'pg'
import type { Interrupt } from './interrupt.js'
import { isSharded, type ShardPlan } from './shard/plan.js'
import { offeredBy, type Schedule } from './sim/schedule.js'
import type { PendingDigests } from './verify/oracle-digests.js'

/**
 * Readings per device of a run stopped at `nowMs`: every round already due, plus two more so that no
 * thread has published past the cut when it hears of it (a round of a 260-device fleet at 2,000/s is
 * 130 ms). Every device stops at the same seq, so the shortened run is a run with fewer readings per
 * device: the oracle, P1–P9 and `iotbench verify` need nothing else to judge it.
 */
export function cutAt(schedule: Pick<Schedule, 't0Ms' | 'rate' | 'devices' | 'perDevice' | 'spikes'>, nowMs: number): number {
  if (!Number.isFinite(schedule.t0Ms)) return 0 // the load had not started
  const offered = offeredBy(schedule.rate, Math.max(0, (nowMs - schedule.t0Ms) / 1000), schedule.spikes)
  return Math.min(schedule.perDevice, Math.floor(offered / schedule.devices) + 2)
}

export interface Shortened {
  readonly perDevice: number
  /** For result.json and the verdict line. */
  readonly note: string
}

/**
 * After an interrupt: the run is judged on `cut` readings per device, and its row says so. Undefined
 * when the signal came after the load had ended: the whole run is judged as usual.
 */
export async function shortenRun(
  admin: pg.Client,
  dbRunId: number,
  interrupt: Interrupt,
  planned: number,
  cut: number,
  digests: PendingDigests,
  log: (line: string) => void,
): Promise<Shortened | undefined> {
  if (cut >= planned) {
    log(`${interrupt.reason} after the load had ended: the whole run is judged`)
    return undefined
  }
  // The oracle's digests being computed cover the planned run: the verifier computes the shortened one's.
  await digests.stop()
  await admin.query(`UPDATE runs SET config = config || jsonb_build_object('perDevice', $2::int, 'interrupted', $3::text) WHERE id = $1`, [
    dbRunId,
    cut,
    interrupt.reason,
  ])
  const note = `${interrupt.reason}: the load stopped after ${cut} of ${planned} readings per device; properties judged on what was offered until then`
  log(note)
  return { perDevice: cut, note }
}

/**
 * How the simulators hear of an interrupt. A shard agent (--shard) publishes its whole share: the
 * merge judges every agent on the same readings per device, so only a second Ctrl-C stops it.
 */
export function stopOf(interrupt: Interrupt | undefined, plan: ShardPlan, perDevice: () => number) {
  if (!interrupt || isSharded(plan)) return undefined
  return { signal: interrupt.signal, perDevice, onHardStop: (fn: () => Promise<void>) => interrupt.onHardStop(fn) }
}
