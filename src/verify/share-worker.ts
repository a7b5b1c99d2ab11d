import { parentPort, workerData } from 'node:worker_threads'
import { connect } from '../db/connect.js'
import { InfraError, errorMessage } from '../errors.js'
import type { ShareReply, ShareTask } from './parallel.js'
import { checkKind } from './check-kind.js'
import { nameThread } from '../metrics/cpu.js'

nameThread('oracle')

/** One share of a kind's devices, checked for P1–P3 on this thread's own connection. */
const task = workerData as ShareTask
const reply = (m: ShareReply): void => parentPort?.postMessage(m)
try {
  const client = await connect(task.url, task.schema, 'iotbench-verify')
  try {
    reply({ ok: true, report: await checkKind(client, task.runId, task.manifest, task.kind, task.range) })
  } finally {
    await client.end()
  }
} catch (err) {
  // An unreachable database stays an InfraError on the main thread (the verdict's exit 5, with its hint).
  reply({ ok: false, message: errorMessage(err), ...(err instanceof InfraError && { hint: err.hint }) })
}
