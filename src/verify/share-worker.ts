// A P1–P3 share thread (src/verify/parallel.ts starts it): a shell around checkShare (check-kind.ts), which
// the unit tests call in-process, since the mutation runner's coverage does not follow a worker thread.
// Stryker disable all: the shell runs only in a worker thread; the real worker is run by verify-threads-failures and verify-threads (docs/testing.md)
import { parentPort, workerData } from 'node:worker_threads'
import type { ShareTask } from './parallel.js'
import { checkShare } from './check-kind.js'
import { nameThread } from '../metrics/cpu.js'

nameThread('oracle')
parentPort?.postMessage(await checkShare(workerData as ShareTask))
