// A stand-in for src/verify/share-worker.ts in test/unit/verify-threads-failures.test.ts: a share thread
// that fails in the way its task's `fault` names. Run outside a worker (`node --test dist/test/` runs
// every file it finds) it does nothing.
import { parentPort, workerData } from 'node:worker_threads'

/** throw; exit with `code` before any reply; post `reply` (whatever it is); or spin, counting `beats`, until terminated. */
export type FaultTask =
  | { readonly fault: 'throw' }
  | { readonly fault: 'exit'; readonly code: number }
  | { readonly fault: 'reply'; readonly reply: unknown }
  | { readonly fault: 'spin'; readonly beats: Int32Array }

if (parentPort) {
  const task = workerData as FaultTask
  if (task.fault === 'throw') throw new Error('share thread broke on purpose')
  if (task.fault === 'exit') process.exit(task.code)
  if (task.fault === 'reply') parentPort.postMessage(task.reply)
  if (task.fault === 'spin') setInterval(() => Atomics.add(task.beats, 0, 1), 5)
}
