// A small run for P8's fast tests: its manifest, its raw rows as the ingest stores them (the oracle's
// readings) and a P8 server model holding them, with the aggregates the server would show.
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { oracleFor } from '../../src/sim/oracle.js'
import { AGGREGATES } from '../../src/verify/dashboard-aggregates.js'
import type { RunManifest } from '../../src/verify/types.js'
import { bucketsOf, p8Server, type P8Server, type RawRow } from './p8-server.js'

export const RUN_ID = 7
export const RUN_NAME = 'p8-run'
export const SIM_START = Date.parse('2026-12-01T04:00:00Z')
export const FLEET: FleetShape = { farms: 2, cowsPerFarm: 2, stallsPerFarm: 1, tanksPerFarm: 1 }

export const manifestOf = (perDevice: number, over: Partial<RunManifest> = {}): RunManifest => ({
  seed: 5,
  simStartMs: SIM_START,
  fleet: FLEET,
  perDevice,
  unacked: [],
  published: fleetSize(FLEET) * perDevice,
  startHour: 4,
  ...over,
})

/** The run's readings by sensor table, as stored (every one, once). */
export function rawRowsOf(m: RunManifest, runId = RUN_ID): Map<string, RawRow[]> {
  const oracle = oracleFor(m)
  const out = new Map<string, RawRow[]>()
  for (let i = 0; i < fleetSize(m.fleet); i++) {
    const d = deviceAt(m.fleet, i)
    const rows = out.get(KINDS[d.kind].table) ?? []
    for (let seq = 0; seq < m.perDevice; seq++) {
      const r = oracle.expected(d, seq)
      rows.push({ run_id: runId, device: d.id, ts: r.ts, values: r.values })
    }
    out.set(KINDS[d.kind].table, rows)
  }
  return out
}

/** A server holding the run, its aggregates computed from the raw rows (fully refreshed). */
export function serverWithRun(m: RunManifest, over: Parameters<typeof p8Server>[0] = {}): P8Server {
  const raw = rawRowsOf(m)
  const aggs = new Map(AGGREGATES.map((a) => [a.view, bucketsOf(a, raw.get(a.table) ?? [])]))
  return p8Server({ runs: [{ id: RUN_ID, name: RUN_NAME, started_at: new Date('2026-12-07T05:00:00Z') }], raw, aggs, ...over })
}
