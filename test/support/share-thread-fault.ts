// A stand-in for src/verify/share-worker.ts in test/unit/verify-threads-failures.test.ts: a share thread
// that fails in the way its task's `fault` names. Run outside a worker (`node --test dist/test/` runs
// every file it finds) it does nothing.
import { parentPort, workerData } from 'node:worker_threads'

export type Fault = 'throw' | 'exit-3' | 'exit-0' | 'malformed' | 'null' | 'no-ok' | 'no-reason' | 'spin' | 'report'
export interface FaultTask { readonly fault: Fault; readonly beats?: Int32Array }

if (parentPort) {
  const task = workerData as FaultTask
  const port = parentPort
  switch (task.fault) {
    case 'throw':
      throw new Error('share thread broke on purpose')
    case 'exit-3':
      process.exit(3)
      break
    case 'exit-0':
      process.exit(0)
      break
    case 'malformed':
      port.postMessage({ rows: 12 })
      break
    case 'null':
      port.postMessage(null)
      break
    case 'no-ok':
      port.postMessage({ report: { set: {}, order: {} } })
      break
    case 'no-reason':
      port.postMessage({ ok: false })
      break
    case 'report':
      port.postMessage({ ok: true, report: { set: { counts: {} }, order: { rows: 1 } } })
      break
    case 'spin':
      // Counts heartbeats into memory the test shares, until it is terminated.
      setInterval(() => Atomics.add(task.beats!, 0, 1), 5)
      break
  }
}
