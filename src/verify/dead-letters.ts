import type pg from 'pg'
import { copyRows } from '../db/copy-rows.js'
import { deviceAt, fleetSize, type Device } from '../fleet.js'
import { oracleFor } from '../sim/oracle.js'
import type { BadMessage } from '../sim/bad-input.js'
import type { RunManifest } from './types.js'

export interface DeadLetterReport {
  readonly injected: number
  found: number
  readonly missing: Array<{ topic: string; reason: string; type: string }>
  readonly wrongReason: Array<{ topic: string; expected: string; got: string; type: string }>
  /** Dead letters holding exactly a reading the oracle says this run sent: a valid reading rejected. */
  readonly validRejected: Array<{ device: string; seq: number; reason: string }>
  /** Dead letters neither injected by the run nor a reading of it (someone else's junk): reported, allowed. */
  foreign: number
  readonly byReason: Record<string, number>
}

const SAMPLES = 20

/**
 * P7 bad input: every malformed message the simulators injected (the manifest lists them) is in
 * dead_letters with the reason the wire contract gives it, and no reading of the run is there. A
 * dead letter is matched to an injected message by topic and exact payload bytes. Streamed.
 */
export async function checkDeadLetters(client: pg.Client, runId: number, manifest: RunManifest): Promise<DeadLetterReport> {
  const injected = (manifest as RunManifest & { badInput?: readonly BadMessage[] }).badInput ?? []
  const want = new Map<string, BadMessage[]>()
  for (const m of injected) {
    const key = `${m.topic}\u0000${Buffer.from(m.payload, 'base64').toString('hex')}`
    want.set(key, [...(want.get(key) ?? []), m])
  }
  const byId = new Map<string, Device>()
  for (let i = 0; i < fleetSize(manifest.fleet); i++) byId.set(deviceAt(manifest.fleet, i).id, deviceAt(manifest.fleet, i))
  const oracle = oracleFor(manifest)
  /** The payload is a reading of this run, equal to the oracle's (kind, ts and every value). */
  const isValidReading = (o: { device?: unknown; kind?: unknown; seq?: unknown; ts?: unknown; values?: unknown }): boolean => {
    const d = typeof o.device === 'string' ? byId.get(o.device) : undefined
    if (!d || o.kind !== d.kind || typeof o.seq !== 'number' || !Number.isInteger(o.seq) || o.seq < 0 || o.seq >= manifest.perDevice)
      return false
    if (typeof o.values !== 'object' || o.values === null) return false
    const want = oracle.expected(d, o.seq)
    const got = o.values as Record<string, unknown>
    return (
      o.ts === want.ts &&
      Object.keys(want.values).length === Object.keys(got).length &&
      Object.entries(want.values).every(([k, v]) => got[k] === v)
    )
  }
  const r: DeadLetterReport = {
    injected: injected.length,
    found: 0,
    missing: [],
    wrongReason: [],
    validRejected: [],
    foreign: 0,
    byReason: {},
  }
  let validCount = 0
  let wrongCount = 0
  for await (const [topic, hex, reason] of copyRows(
    client,
    `SELECT topic, encode(payload, 'hex'), reason FROM dead_letters WHERE run_id = ${Number(runId)}`,
  )) {
    if (topic === null || hex === null || reason === null) throw new Error('a dead_letters row has a NULL topic, payload or reason')
    r.byReason[reason] = (r.byReason[reason] ?? 0) + 1
    const list = want.get(`${topic}\u0000${hex}`)
    const m = list?.shift()
    if (m) {
      r.found++
      if (m.reason !== reason) {
        wrongCount++
        if (r.wrongReason.length < SAMPLES) r.wrongReason.push({ topic, expected: m.reason, got: reason, type: m.type })
      }
      continue
    }
    let doc: unknown
    try {
      doc = JSON.parse(Buffer.from(hex, 'hex').toString('utf8'))
    } catch {
      doc = undefined
    }
    const o = doc as { device?: unknown; kind?: unknown; seq?: unknown; ts?: unknown; values?: unknown } | undefined
    if (o && typeof o === 'object' && isValidReading(o)) {
      validCount++
      if (r.validRejected.length < SAMPLES) r.validRejected.push({ device: String(o.device), seq: Number(o.seq), reason })
    } else r.foreign++
  }
  for (const list of want.values())
    for (const m of list) if (r.missing.length < SAMPLES) r.missing.push({ topic: m.topic, reason: m.reason, type: m.type })
  return Object.assign(r, {
    validRejectedCount: validCount,
    wrongReasonCount: wrongCount,
    missingCount: [...want.values()].reduce((n, l) => n + l.length, 0),
  })
}
