import { parentPort, workerData } from 'node:worker_threads'
import { deviceAt } from '../fleet.js'
import { errorMessage } from '../errors.js'
import { KINDS } from '../kinds.js'
import { oracleFor } from '../sim/oracle.js'
import { DeviceDigest } from './digest.js'
import type { DigestRow, DigestTask } from './oracle-digests.js'

/** Digests devices [from, to) of the oracle's stream; paced: about a third of a core until told to hurry. */
const task = workerData as DigestTask
let paced = task.paced
parentPort!.on('message', (m) => {
  if (m === 'hurry') paced = false
})
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

try {
  const oracle = oracleFor(task.spec)
  const rows: DigestRow[] = []
  let busySince = performance.now()
  for (let i = task.from; i < task.to; i++) {
    const device = deviceAt(task.spec.fleet, i)
    const names = KINDS[device.kind].fields.map((f) => f.name)
    const digest = new DeviceDigest(device.kind)
    const values: Array<number | boolean | undefined> = new Array(names.length)
    for (let seq = 0; seq < task.spec.perDevice; seq++) {
      const r = oracle.expected(device, seq)
      for (let f = 0; f < names.length; f++) values[f] = r.values[names[f]!]
      digest.add(seq, r.ts, values)
      if (paced && (seq & 1023) === 1023 && performance.now() - busySince > 20) {
        await sleep(2 * (performance.now() - busySince))
        busySince = performance.now()
      }
    }
    rows.push([device.id, task.spec.perDevice, digest.d1, digest.d2, digest.exact])
    if (paced && performance.now() - busySince > 20) {
      await sleep(2 * (performance.now() - busySince))
      busySince = performance.now()
    }
  }
  parentPort!.postMessage({ ok: true, rows })
} catch (err) {
  parentPort!.postMessage({ ok: false, message: errorMessage(err) })
}
