// An oracle digest thread (src/verify/oracle-digests.ts starts it): a shell around runDigestThread
// (oracle-digest-range.ts), which the unit tests call in-process, since the mutation runner's coverage
// does not follow a worker thread.
// Stryker disable all: the shell runs only in a worker thread; verify-workers-digests runs the real worker (docs/testing.md)
import { workerData } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { threadPort } from '../util/must.js'
import { nameThread } from '../metrics/cpu.js'
import type { DigestTask } from './oracle-digests.js'
import { runDigestThread } from './oracle-digest-range.js'

nameThread('oracle')
await runDigestThread(workerData as DigestTask, {
  port: threadPort('the oracle digests'),
  now: () => performance.now(),
  sleep: (ms) => sleep(ms),
  every: (fn, ms) => setInterval(fn, ms).unref(),
})
