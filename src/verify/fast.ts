import type pg from 'pg'
import { deviceAt, fleetSize, type Device } from '../fleet.js'
import { KIND_NAMES, type Kind } from '../kinds.js'
import { digestSelect } from './digest.js'
import type { OracleDigests } from './oracle-digests.js'
import { checkKindExactly, mergeReports, type KindReport } from './parallel.js'
import type { RunManifest } from './types.js'
import { checkKind } from './check-kind.js'

/** How the set-based pass split the work: devices cleared in the database, devices checked row by row. */
export interface FastStats {
  readonly devices: number
  readonly clearedInDatabase: number
  readonly checkedRowByRow: number
  /** Why devices were sent to the row-by-row check, with counts (absent, count, digest, order, unacked, no digest, unknown). */
  readonly reasons: Record<string, number>
}

/** Above this share of a kind's devices failing the set-based pass, the kind is checked row by row as a whole. */
const ROW_BY_ROW_SHARE = 0.25

const emptyReport = (): KindReport => ({
  set: {
    counts: { expected: 0, ok: 0, lost: 0, unacknowledgedLost: 0, recovered: 0, duplicated: 0, unexpected: 0, corrupted: 0 },
    lost: [],
    duplicated: [],
    unexpected: [],
    corrupted: [],
    lostByDevice: [],
  },
  order: { rows: 0, outOfOrder: 0, worstDisplacement: 0, samples: [] },
})

/**
 * P1–P3 set-based: one aggregate query per kind fingerprints every device's stored rows inside the
 * database (src/verify/digest.ts) and compares them with the oracle's digests. A device whose row
 * count, digest and receive order (prior_seq) all match is fully
 * verified without leaving the database: all its readings are ok, none lost, duplicated, corrupted or
 * out of order. Every other device — and any device id that is not the run's — is checked row by row
 * by the streaming checkers, which classify each reading and name the first offending (device, seq).
 * The pass never fails a device on its own; it only clears the ones that provably match.
 */
export async function checkKindsFast(
  client: pg.Client,
  runId: number,
  manifest: RunManifest,
  digests: OracleDigests,
): Promise<{ perKind: Map<Kind, KindReport>; stats: FastStats }> {
  const byKind: Record<Kind, Device[]> = { collar: [], milk: [], chiller: [] }
  for (let i = 0; i < fleetSize(manifest.fleet); i++) {
    const d = deviceAt(manifest.fleet, i)
    byKind[d.kind].push(d)
  }
  const unacked = new Set(manifest.unacked.map(([device]) => device))
  const reasons: Record<string, number> = {}
  const flag = (list: string[], device: string, reason: string): void => {
    list.push(device)
    reasons[reason] = (reasons[reason] ?? 0) + 1
  }
  const perKind = new Map<Kind, KindReport>()
  let cleared = 0
  let rowByRow = 0
  for (const kind of KIND_NAMES) {
    const devices = byKind[kind]
    const ids = new Map(devices.map((d) => [d.id, d]))
    const rows = await client.query<{ device: string; n: string; digest: string | null; late: number }>(digestSelect(kind, runId))
    const flagged: string[] = []
    const seen = new Set<string>()
    for (const r of rows.rows) {
      seen.add(r.device)
      const d = ids.get(r.device)
      const want = digests.get(r.device)
      if (!d) flag(flagged, r.device, 'not a device of this run')
      else if (!want || !want.exact) flag(flagged, r.device, 'no oracle digest')
      else if (unacked.has(d.index)) flag(flagged, r.device, 'has unacknowledged readings')
      else if (Number(r.n) !== manifest.perDevice) flag(flagged, r.device, 'row count')
      else if (r.digest !== want.digest) flag(flagged, r.device, 'digest differs')
      else if (r.late > 0) flag(flagged, r.device, 'receive order')
    }
    for (const d of devices) if (!seen.has(d.id)) flag(flagged, d.id, 'no rows stored')
    const clearedHere = devices.length - flagged.filter((id) => ids.has(id)).length
    const fast = emptyReport()
    fast.set.counts.expected = fast.set.counts.ok = fast.order.rows = clearedHere * manifest.perDevice
    if (flagged.length === 0) {
      cleared += clearedHere
      perKind.set(kind, fast)
    } else if (flagged.length > devices.length * ROW_BY_ROW_SHARE) {
      rowByRow += devices.length + flagged.filter((id) => !ids.has(id)).length
      perKind.set(kind, await checkKindExactly(client, runId, manifest, kind))
    } else {
      cleared += clearedHere
      rowByRow += flagged.length
      perKind.set(kind, mergeReports([fast, await checkKind(client, runId, manifest, kind, { only: flagged })]))
    }
  }
  return { perKind, stats: { devices: fleetSize(manifest.fleet), clearedInDatabase: cleared, checkedRowByRow: rowByRow, reasons } }
}
