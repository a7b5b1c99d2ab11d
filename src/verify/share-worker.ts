import { parentPort, workerData } from 'node:worker_threads'
import { connect } from '../db/connect.js'
import { errorMessage } from '../errors.js'
import type { ShareTask } from './parallel.js'
import { checkKind } from './verify.js'

/** One share of a kind's devices, checked for P1–P3 on this thread's own connection. */
const task = workerData as ShareTask
try {
  const client = await connect(task.url, task.schema, 'iotbench-verify')
  try {
    parentPort!.postMessage({ ok: true, report: await checkKind(client, task.runId, task.manifest, task.kind, task.range) })
  } finally {
    await client.end()
  }
} catch (err) {
  parentPort!.postMessage({ ok: false, message: errorMessage(err) })
}
