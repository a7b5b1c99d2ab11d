// A stand-in for src/verify/oracle-digest-worker.ts in test/unit/verify-workers-digests.test.ts: an oracle
// digest thread that behaves as its spec's `fault` says. Its rows name the range it was given, so a test
// sees how the devices were split. Run outside a worker (`node --test dist/test/` runs every file it
// finds) it does nothing.
import { parentPort, workerData } from 'node:worker_threads'
import type { DigestRow, DigestTask, FromDigestThread } from '../../src/verify/oracle-digests.js'

/**
 * rows: reply at once; after-hurry: reply when told to hurry (and never otherwise); fail: reply with a
 * failure; throw; exit: exit with code 0 before any reply.
 */
export type DigestFault = 'rows' | 'after-hurry' | 'fail' | 'throw' | 'exit'
export type FaultyDigestTask = DigestTask & { readonly spec: { readonly fault: DigestFault } }

/** The stand-in's rows: device `d<i>` for i in [from, to), digest `<from>-<to>` (and ` paced`, ` metrics` as asked), alerts on even devices only. */
export const standInRows = ({ from, to, paced, metrics, spec }: DigestTask): DigestRow[] =>
  Array.from({ length: to - from }, (_, k) => {
    const i = from + k
    const alerts = i % 2 === 0 ? { [`rule${i}`]: { episodes: [] } } : null
    return [
      `d${i}`,
      spec.perDevice,
      `${from}-${to}${paced ? ' paced' : ''}${metrics ? ' metrics' : ''}`,
      i % 3 !== 0,
      alerts,
    ] as unknown as DigestRow
  })

if (parentPort) {
  const port = parentPort
  const task = workerData as FaultyDigestTask
  const post = (m: FromDigestThread): void => port.postMessage(m)
  const rows = (): void => post({ ok: true, rows: standInRows(task) })
  // With metrics asked for, one snapshot before anything else (the real thread sends one a second).
  if (task.metrics) post({ metrics: { counters: {}, histograms: {}, gauges: { heapUsed: { '': task.from } } } })
  const fault = task.spec.fault
  if (fault === 'rows') rows()
  if (fault === 'after-hurry') port.on('message', (m) => m === 'hurry' && rows())
  if (fault === 'fail') post({ ok: false, message: `no trace for devices ${task.from}…${task.to}` })
  if (fault === 'throw') throw new Error('digest thread broke on purpose')
  if (fault === 'exit') process.exit(0)
}
