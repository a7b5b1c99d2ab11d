/**
 * verify.ts without a server (issue 23, mutation testing over all of src/verify/): checkKind reads only
 * its share of the devices (lo, hi, only) and parses each field type; a property whose check throws is
 * that property's FAIL with the error as evidence, while a setup error (config, infrastructure) is the
 * whole verdict's. The database is test/support/fake-pg.ts, which honours the share's bounds.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type pg from 'pg'
import { ConfigError, InfraError } from '../../src/errors.js'
import { deviceAt, fleetSize, type Device, type FleetShape } from '../../src/fleet.js'
import { KINDS, type FieldValue, type Kind } from '../../src/kinds.js'
import { generateReading, type GeneratorContext } from '../../src/sim/generator.js'
import { sloOf } from '../../src/verify/slo.js'
import type { RunManifest } from '../../src/verify/types.js'
import { checkKind, failedCheck, guarded, verifyRun, type VerifyOptions } from '../../src/verify/verify.js'
import { DeviceDigest } from '../../src/verify/digest.js'
import type { OracleDigests } from '../../src/verify/oracle-digests.js'
import { PROPERTIES, type Property, type PropertyOutcome } from '../../src/verify/properties/index.js'
import { fakeClient, fakeWithOracleDigests, type FakeRow } from '../support/fake-pg.js'

const fleet: FleetShape = { farms: 1, cowsPerFarm: 3, stallsPerFarm: 0, tanksPerFarm: 1 }
const PER_DEVICE = 4
const ctx: GeneratorContext = { seed: 11, simStartMs: Date.UTC(2026, 3, 1), fleet }
const manifest: RunManifest = { seed: ctx.seed, simStartMs: ctx.simStartMs, fleet, perDevice: PER_DEVICE, unacked: [], published: 0 }
const devices: Device[] = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))
const ofKind = (kind: Kind): Device[] => devices.filter((d) => d.kind === kind)
/** Every reading of the kind's devices once, in seq order, as the ingest stores it. */
const ideal = (kind: Kind): FakeRow[] =>
  ofKind(kind).flatMap((d, i) =>
    Array.from({ length: PER_DEVICE }, (_, seq) => {
      const r = generateReading(ctx, d, seq)
      return { device: d.id, seq, ts: r.ts, values: KINDS[kind].fields.map((f) => r.values[f.name]!), rx: i * 100 + seq }
    }),
  )
const tables = { collar: ideal('collar'), chiller: ideal('chiller') }

const summary = { count: 1, p50Ms: 1, p90Ms: 1, p99Ms: 1, p999Ms: 1, maxMs: 1, meanMs: 1 }
const latency = { endToEnd: summary, brokerHop: summary, scheduleLag: summary }
/** The fake database over `tables`, with the oracle_digests table (test/support/fake-pg.ts). */
const database = (opts: Parameters<typeof fakeWithOracleDigests>[1] = {}) => fakeWithOracleDigests(tables, opts)
const run = (client: pg.Client, opts: VerifyOptions = {}, properties: readonly Property[] = PROPERTIES) =>
  verifyRun(client, 1, manifest, latency, sloOf({}), undefined, { skipDashboards: true, ...opts }, properties)

describe('checkKind (P1–P3 of one kind, streamed)', () => {
  test('booleans and numbers read back as the oracle has them: every reading ok, in order', async () => {
    assert.ok(KINDS.chiller.fields.some((f) => f.type === 'bool'))
    const { set, order } = await checkKind(fakeClient(tables), 1, manifest, 'chiller')
    assert.equal(set.counts.expected, ofKind('chiller').length * PER_DEVICE)
    assert.equal(set.counts.ok, set.counts.expected)
    assert.equal(set.counts.corrupted, 0)
    assert.deepEqual([order.rows, order.outOfOrder], [set.counts.expected, 0])
  })

  test('a boolean stored the other way round is corrupted', async () => {
    const i = KINDS.chiller.fields.findIndex((f) => f.type === 'bool')
    const rows = tables.chiller.map((r, k) => (k === 1 ? { ...r, values: r.values.map((v, j) => (j === i ? !v : v)) } : r))
    const { set } = await checkKind(fakeClient({ chiller: rows }), 1, manifest, 'chiller')
    assert.equal(set.counts.corrupted, 1)
  })

  test('a NULL is read as null, never as false or 0', async () => {
    const i = KINDS.chiller.fields.findIndex((f) => f.type === 'bool')
    const k = tables.chiller.findIndex((r) => r.values[i] === false)
    assert.ok(k >= 0, 'some chiller reading has the boolean false')
    const rows = tables.chiller.map((r, n) => (n === k ? { ...r, values: r.values.map((v, j) => (j === i ? null : v)) } : r))
    const { set } = await checkKind(fakeClient({ chiller: rows }), 1, manifest, 'chiller')
    assert.equal(set.counts.corrupted, 1)
  })

  test('a share reads its devices alone: from lo (inclusive), below hi, within only', async () => {
    const ids = ofKind('collar').map((d) => d.id)
    const share = async (range: Parameters<typeof checkKind>[4]) => {
      const { set, order } = await checkKind(fakeClient(tables), 1, manifest, 'collar', range)
      assert.equal(set.counts.unexpected, 0, 'no device outside the share is read')
      assert.equal(set.counts.ok, set.counts.expected)
      assert.equal(order.rows, set.counts.expected, 'the receive-order read is the same share')
      return set.counts.expected / PER_DEVICE
    }
    assert.equal(await share({}), 3)
    assert.equal(await share({ lo: ids[1] }), 2)
    assert.equal(await share({ hi: ids[1] }), 1)
    assert.equal(await share({ lo: ids[1], hi: ids[2] }), 1)
    assert.equal(await share({ only: [ids[0]!, ids[2]!] }), 2)
    assert.equal(await share({ only: [] }), 0)
    // A quote in an id is doubled (one not in the fleet: it finds nothing, and the query still parses).
    assert.equal(await share({ only: [ids[1]!, "o'brien"] }), 1)
  })
})

describe('a property whose check throws', () => {
  test('fails with the message and the first lines of the stack as evidence', () => {
    const err = new Error('bad row')
    const r = failedCheck('P2', 'integrity', err)
    assert.deepEqual(
      { ...r, evidence: { ...r.evidence, stack: undefined } },
      {
        id: 'P2',
        name: 'integrity',
        pass: false,
        summary: 'the check itself failed: bad row',
        evidence: { error: 'bad row', stack: undefined },
      },
    )
    assert.equal(r.evidence.stack, err.stack!.split('\n').slice(0, 8).join('\n'))
    assert.deepEqual(failedCheck('P7', 'bad input', 'a string').evidence, { error: 'a string' })
  })

  test('guarded: a result passes through, a plain error becomes the FAIL, a setup error is rethrown', async () => {
    const ok = { id: 'P4' as const, name: 'latency', pass: true, summary: 's', evidence: {} }
    assert.equal(await guarded('P4', 'latency', () => ok), ok)
    assert.equal(await guarded('P8', 'dashboard data', () => undefined), undefined)
    assert.equal((await guarded('P4', 'latency', () => Promise.reject(new Error('x')))).summary, 'the check itself failed: x')
    await assert.rejects(
      guarded('P1', 'c', () => Promise.reject(new ConfigError(['changed']))),
      ConfigError,
    )
    await assert.rejects(
      guarded('P1', 'c', () => Promise.reject(new InfraError('down', 'start it'))),
      InfraError,
    )
  })

  test('an oracle record that cannot be read for an infrastructure reason ends the verdict; any other reason fails P1–P3 alone', async () => {
    await assert.rejects(run(database({ oracle: new InfraError('database down', 'start it') }).client), InfraError)
    // Before any property is judged, even those that never read the oracle record.
    const judged: string[] = []
    const spy = (id: Property['id'], lane: Property['lane']): Property => ({
      id,
      name: id,
      lane,
      check: () => Promise.resolve(void judged.push(id)),
    })
    const down = database({ oracle: new InfraError('database down', 'start it') }).client
    await assert.rejects(run(down, {}, [spy('P4', 'main'), spy('P6', 'side')]), InfraError)
    assert.deepEqual(judged, [])
    const out = await run(database({ oracle: new Error('relation "oracle_digests" does not exist') }).client)
    for (const id of ['P1', 'P2', 'P3']) {
      const p = out.find((x) => x.id === id)!
      assert.equal(p.pass, false, id)
      assert.match(p.summary, /relation "oracle_digests" does not exist/, id)
    }
    // The side connection is opened from connect()'s record, which the fake has not.
    assert.match(out.find((x) => x.id === 'P5')!.summary, /opened by connect/)
    assert.equal(out.find((x) => x.id === 'P4')?.pass, true)
  })
})

describe('the oracle record P1–P3 are judged with', () => {
  const P1 = PROPERTIES.filter((p) => p.id === 'P1')
  const digests = (): OracleDigests =>
    new Map(
      devices.map((d) => {
        const g = new DeviceDigest(d.kind)
        for (const r of tables[d.kind as 'collar' | 'chiller'].filter((x) => x.device === d.id))
          g.add(r.seq, r.ts, r.values as FieldValue[])
        return [d.id, { rows: PER_DEVICE, digest: g.sum, exact: true }]
      }),
    )
  const pending = () => {
    const p = { hurried: 0, result: Promise.resolve(digests()), hurry: () => void p.hurried++, stop: () => Promise.resolve() }
    return p
  }
  const checked = (out: PropertyOutcome[]) => (out[0]!.evidence as { checked: Record<string, unknown> }).checked

  test('digests computed during the run: hurried, stored with the run, and the set pass clears every device', async () => {
    const { client, stored } = database()
    const p = pending()
    const out = await run(client, { pendingDigests: p }, P1)
    assert.equal(out[0]!.pass, true)
    assert.equal(p.hurried, 1)
    const d = [...digests()]
    assert.deepEqual(stored, [
      [1, d.map(([id]) => id), d.map(([, x]) => x.rows), d.map(([, x]) => x.digest), d.map(([, x]) => x.exact), d.map(() => null)],
    ])
    assert.match(String(checked(out).method), /^set-based: /)
    assert.equal(checked(out).oracleDigests, 'computed during the run')
    assert.equal(checked(out).clearedInDatabase, devices.length)
  })

  test('digests stored with the run are read back, none computed nor stored again; the set pass clears every device', async () => {
    const kept = [...digests()].map(([device, x]) => ({ device, rows: x.rows, digest: x.digest, exact: x.exact, alerts: null }))
    const { client, stored } = database({ kept })
    const out = await run(client, {}, P1)
    assert.equal(out[0]!.pass, true)
    assert.equal(checked(out).oracleDigests, 'stored with the run')
    assert.equal(checked(out).clearedInDatabase, devices.length)
    assert.deepEqual(stored, [])
  })

  test('--row-by-row reads no oracle record', async () => {
    const { client, stored } = database({ oracle: new Error('must not be read') })
    const out = await run(client, { rowByRow: true }, P1)
    assert.equal(out[0]!.pass, true)
    assert.deepEqual(checked(out), { method: 'row by row (--row-by-row)' })
    assert.deepEqual(stored, [])
  })
})
