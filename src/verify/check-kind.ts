import type pg from 'pg'
import { KINDS, type FieldValue, type Kind } from '../kinds.js'
import { SetChecker, type DeviceRange, type SetReport } from './completeness.js'
import { OrderChecker, type OrderReport } from './ordering.js'
import { copyRowBatches } from '../db/copy-rows.js'
import type { RunManifest } from './types.js'
import { must } from '../util/must.js'
import { connect } from '../db/connect.js'
import { InfraError, errorMessage } from '../errors.js'
import type { ShareReply, ShareTask } from './parallel.js'

const parseValue = (type: string, s: string | null): FieldValue | null => {
  if (s === null) return null
  if (type === 'bool') return s === 't'
  return Number(s)
}

const sqlText = (s: string): string => `'${s.replace(/'/g, "''")}'`

/** P1–P3 for one kind (optionally a range of its device ids), streamed: one COPY by (device, seq), one by (device, receive order). */
export async function checkKind(
  client: pg.Client,
  runId: number,
  manifest: RunManifest,
  kind: Kind,
  range: DeviceRange = {},
): Promise<{ set: SetReport; order: OrderReport }> {
  const spec = KINDS[kind]
  const set = new SetChecker(manifest, kind, range)
  const cols = spec.fields.map((f) => f.name).join(', ')
  const onlySql = range.only !== undefined ? ` AND device = ANY(ARRAY[${range.only.map(sqlText).join(', ') || "''"}]::text[])` : ''
  const inRangeSql = `${range.lo !== undefined ? ` AND device COLLATE "C" >= ${sqlText(range.lo)}` : ''}${range.hi !== undefined ? ` AND device COLLATE "C" < ${sqlText(range.hi)}` : ''}${onlySql}`
  const byDeviceSeq = `SELECT device, seq, (extract(epoch FROM ts) * 1000)::bigint, ${cols} FROM ${spec.table}
    WHERE run_id = ${Number(runId)}${inRangeSql} ORDER BY device COLLATE "C", seq, rx`
  for await (const rows of copyRowBatches(client, byDeviceSeq)) {
    for (const r of rows) {
      const values: (FieldValue | null)[] = new Array(spec.fields.length)
      for (let i = 0; i < spec.fields.length; i++) values[i] = parseValue(spec.fields[i].type, r[3 + i] ?? null)
      set.add({ device: must(r[0], 'device is NOT NULL'), seq: Number(r[1]), ts: Number(r[2]), values })
    }
  }
  const order = new OrderChecker()
  const byReceive = `SELECT device, seq FROM ${spec.table} WHERE run_id = ${Number(runId)}${inRangeSql} ORDER BY device COLLATE "C", rx`
  for await (const rows of copyRowBatches(client, byReceive))
    for (const r of rows) order.add(must(r[0], 'device is NOT NULL'), Number(r[1]))
  return { set: set.finish(), order: order.report }
}

/**
 * One share of a kind's devices, checked for P1–P3 on a connection of its own: a share thread's whole
 * work (share-worker.ts posts the reply). `open` is connect() but in tests.
 */
export async function checkShare(task: ShareTask, open: typeof connect = connect): Promise<ShareReply> {
  try {
    const client = await open(task.url, task.schema, 'iotbench-verify')
    try {
      return { ok: true, report: await checkKind(client, task.runId, task.manifest, task.kind, task.range) }
    } finally {
      await client.end()
    }
  } catch (err) {
    // An unreachable database stays an InfraError on the main thread (the verdict's exit 5, with its hint).
    return { ok: false, message: errorMessage(err), ...(err instanceof InfraError && { hint: err.hint }) }
  }
}
