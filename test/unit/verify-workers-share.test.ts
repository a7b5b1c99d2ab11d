/**
 * A P1–P3 share thread's work, in-process (src/verify/check-kind.ts, checkShare; share-worker.ts is its
 * shell, run for real by verify-threads-failures): it opens its own connection with the task's URL and
 * schema, checks exactly its share of the kind's devices, closes the connection whatever happens, and
 * turns a failure into a reply that keeps an InfraError's hint. The database is test/support/fake-pg.ts.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type pg from 'pg'
import type { connect } from '../../src/db/connect.js'
import { InfraError } from '../../src/errors.js'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { freePort } from '../../src/util/net.js'
import { checkShare } from '../../src/verify/check-kind.js'
import type { ShareTask } from '../../src/verify/parallel.js'
import type { RunManifest } from '../../src/verify/types.js'
import { fakeClient, type FakeRow } from '../support/fake-pg.js'

const fleet: FleetShape = { farms: 1, cowsPerFarm: 4, stallsPerFarm: 0, tanksPerFarm: 0 }
const PER_DEVICE = 3
const ctx: GeneratorContext = { seed: 5, simStartMs: Date.UTC(2026, 3, 1), fleet }
const manifest: RunManifest = { seed: ctx.seed, simStartMs: ctx.simStartMs, fleet, perDevice: PER_DEVICE, unacked: [], published: 0 }
const collars = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))
/** Every collar's readings once, in order, except the last collar's seq 1 (lost). */
const rows: FakeRow[] = collars.flatMap((d, i) =>
  Array.from({ length: PER_DEVICE }, (_, seq) => {
    const r = generateReading(ctx, d, seq)
    return { device: d.id, seq, ts: r.ts, values: KINDS.collar.fields.map((f) => r.values[f.name]!), rx: i * 10 + seq }
  }).filter((r) => !(r.device === collars[3]!.id && r.seq === 1)),
)
/** The share from the third collar on: two devices, six readings expected, one of them lost. */
const task: ShareTask = {
  url: 'postgres://bench@db.example:6543/farm',
  schema: 'bench_a',
  runId: 1,
  manifest,
  kind: 'collar',
  range: { lo: collars[2]!.id },
}

/** connect() as checkShare sees it: what it was asked to open, and how often each client was closed. */
function opener(client: () => pg.Client | Promise<pg.Client>) {
  const opened: unknown[][] = []
  let ended = 0
  const open = async (...args: unknown[]): Promise<pg.Client> => {
    opened.push(args)
    return Object.assign(await client(), {
      end: async () => {
        ended++
      },
    }) as pg.Client
  }
  return { open: open as unknown as typeof connect, opened, ended: () => ended }
}

describe('checkShare (a share thread, in-process)', () => {
  test("opens its own connection with the task's URL and schema, checks its share alone, and closes it", async () => {
    const db = opener(() => fakeClient({ collar: rows }))
    const reply = await checkShare(task, db.open)
    assert.deepEqual(db.opened, [['postgres://bench@db.example:6543/farm', 'bench_a', 'iotbench-verify']])
    assert.equal(db.ended(), 1)
    assert.ok(reply.ok, JSON.stringify(reply))
    const { counts, lost } = reply.report.set
    assert.deepEqual([counts.expected, counts.ok, counts.lost], [6, 5, 1])
    assert.deepEqual(
      lost.map((l) => [l.device, l.seq]),
      [[collars[3]!.id, 1]],
    )
    assert.equal(reply.report.order.rows, 5)
  })

  test('a check that fails is a reply with its words and no hint, and the connection is still closed', async () => {
    const broken = {
      query: () => {
        throw new Error('relation "collar_readings" does not exist')
      },
    } as unknown as pg.Client
    const db = opener(() => broken)
    const reply = await checkShare(task, db.open)
    assert.deepEqual(reply, { ok: false, message: 'relation "collar_readings" does not exist' })
    assert.equal(db.ended(), 1)
  })

  test('a connection that cannot be opened: an InfraError keeps its hint, another error has none; nothing to close', async () => {
    const down = opener(() => Promise.reject(new InfraError('cannot reach the database', 'is PostgreSQL running?')))
    assert.deepEqual(await checkShare(task, down.open), { ok: false, message: 'cannot reach the database', hint: 'is PostgreSQL running?' })
    assert.equal(down.ended(), 0)
    const refused = opener(() => Promise.reject(new Error('password authentication failed')))
    assert.deepEqual(await checkShare(task, refused.open), { ok: false, message: 'password authentication failed' })
  })

  test('by default it connects for real: a closed port is an InfraError reply with the hint', async () => {
    const reply = await checkShare({ ...task, url: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/none` })
    assert.equal(reply.ok, false)
    assert.ok(!reply.ok && /ECONNREFUSED/.test(reply.message), JSON.stringify(reply))
    assert.ok(!reply.ok && /is PostgreSQL running/.test(reply.hint ?? ''), JSON.stringify(reply))
  })
})
