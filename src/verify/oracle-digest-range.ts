import { alertRulesOf } from '../alerts/rules.js'
import { deviceAt } from '../fleet.js'
import { errorMessage } from '../errors.js'
import { ThreadMetrics } from '../metrics/thread-metrics.js'
import { KINDS } from '../kinds.js'
import type { Reading } from '../sim/generator.js'
import { defaultSensorModels } from '../sim/models.js'
import { oracleFor, type Oracle } from '../sim/oracle.js'
import { AlertChecker } from './alerts.js'
import { DeviceDigest } from './digest.js'
import type { DigestRow, DigestTask, FromDigestThread } from './oracle-digests.js'

/** An oracle digest thread's link to its parent, its clock and its timer: injected, so that a test runs the thread's work in-process. */
export interface DigestThreadIo {
  readonly port: { on(event: 'message', listener: (m: unknown) => void): unknown; postMessage(m: FromDigestThread): void }
  readonly now: () => number
  readonly sleep: (ms: number) => Promise<void>
  /** Calls `fn` every `ms` for as long as the thread lives (its metrics). */
  readonly every: (fn: () => void, ms: number) => void
}

/**
 * An oracle digest thread's whole work (oracle-digest-worker.ts is its shell): digests devices [from, to)
 * of the oracle's stream and, from the same readings, what P5 expects of their alerts (not for a replayed
 * trace, which has no injected anomalies), then posts the rows or why there are none. Paced: about a
 * third of a core until the parent says 'hurry'.
 */
export async function runDigestThread(task: DigestTask, io: DigestThreadIo): Promise<void> {
  let paced = task.paced
  io.port.on('message', (m) => {
    if (m === 'hurry') paced = false
  })
  // Its memory once a second, for the soak's per-thread drift (when the caller takes metrics), for as
  // long as the thread lives: it stays (idle) after its result until the run ends.
  if (task.metrics) {
    const metrics = new ThreadMetrics().watchRuntime()
    io.every(() => io.port.postMessage({ metrics: metrics.snapshot() }), 1000)
  }
  try {
    io.port.postMessage({ ok: true, rows: await digestRange(task, () => paced, io) })
  } catch (err) {
    io.port.postMessage({ ok: false, message: errorMessage(err) })
  }
}

async function digestRange(task: DigestTask, paced: () => boolean, io: DigestThreadIo): Promise<DigestRow[]> {
  const oracle = oracleFor(task.spec)
  // The device's readings, kept while it is digested, so the rules are evaluated without regenerating them.
  let readings: Reading[] = []
  const cached: Oracle = { expected: (device, seq) => readings[seq] ?? oracle.expected(device, seq) }
  const alerts = task.spec.replay ? undefined : new AlertChecker(task.spec, alertRulesOf(task.spec.models ?? defaultSensorModels()), cached)
  const rows: DigestRow[] = []
  let busySince = io.now()
  const breathe = async (): Promise<void> => {
    if (paced() && io.now() - busySince > 20) {
      await io.sleep(2 * (io.now() - busySince))
      busySince = io.now()
    }
  }
  for (let i = task.from; i < task.to; i++) {
    const device = deviceAt(task.spec.fleet, i)
    const names = KINDS[device.kind].fields.map((f) => f.name)
    const digest = new DeviceDigest(device.kind)
    const values: Array<number | boolean | undefined> = new Array(names.length)
    readings = new Array(task.spec.perDevice)
    for (let seq = 0; seq < task.spec.perDevice; seq++) {
      const r = oracle.expected(device, seq)
      readings[seq] = r
      for (let f = 0; f < names.length; f++) values[f] = r.values[names[f]]
      digest.add(seq, r.ts, values)
      if ((seq & 1023) === 1023) await breathe()
    }
    rows.push([device.id, task.spec.perDevice, digest.sum, digest.exact, alerts ? alerts.expectationsOf(device, true) : null])
    readings = []
    await breathe()
  }
  return rows
}
