import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import type pg from 'pg'
import { ConfigError } from '../../src/errors.js'
import { publish, RUN_OUTPUTS, VERIFY_OUTPUTS } from '../../src/report/outputs.js'
import { verdictOf } from '../../src/verify/judge.js'
import { junitXml } from '../../src/report/junit.js'
import { notApplicable, PROPERTIES, type Property, type PropertyOutcome } from '../../src/verify/properties/index.js'
import type { LatencyEvidence, Slo } from '../../src/verify/slo.js'
import type { RunManifest } from '../../src/verify/types.js'
import { verifyRun } from '../../src/verify/verify.js'

const summary = { count: 1, p50Ms: 1, p90Ms: 1, p99Ms: 1, p999Ms: 1, maxMs: 1, meanMs: 1 }
const latency: LatencyEvidence = { endToEnd: summary, brokerHop: summary, scheduleLag: summary }
const slo: Slo = {
  p99Ms: 1000,
  maxLost: 0,
  alertRecall: 1,
  alertPrecision: 1,
  detectionP99Ms: 1000,
  rateTolerance: 0.9,
  maxScheduleLagMs: 1000,
}
const manifest = { seed: 1, perDevice: 1 } as unknown as RunManifest
/** A client no property here reads: opening the side connection fails, which only side properties see. */
const noClient = {} as pg.Client
const ok = (id: Property['id']): PropertyOutcome => ({ id, name: id, pass: true, summary: 'held', evidence: {} })
const prop = (id: Property['id'], check: Property['check'], lane: Property['lane'] = 'main'): Property => ({
  id,
  name: `name of ${id}`,
  lane,
  check,
})
const run = (props: readonly Property[]): Promise<PropertyOutcome[]> =>
  verifyRun(noClient, 1, manifest, latency, slo, undefined, { rowByRow: true }, props)

describe('the property registry', () => {
  test('lists P1–P9 and S1 once each, in verdict order', () => {
    assert.deepEqual(
      PROPERTIES.map((p) => p.id),
      ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9', 'S1'],
    )
    assert.deepEqual(
      PROPERTIES.map((p) => p.name),
      [
        'completeness',
        'integrity',
        'ordering',
        'latency',
        'alerts',
        'throughput',
        'bad input',
        'dashboard data',
        'live feed',
        'memory drift',
      ],
    )
  })

  test('runs each property once, in registry order across lanes; left-out ones are absent', async () => {
    const calls: string[] = []
    const props = [
      prop('P1', async () => (calls.push('P1'), ok('P1'))),
      prop('P5', async () => (calls.push('P5'), ok('P5')), 'side'),
      prop('P8', async () => (calls.push('P8'), undefined)),
      prop('P9', async () => (calls.push('P9'), ok('P9'))),
    ]
    const out = await run(props)
    assert.deepEqual(
      out.map((p) => p.id),
      ['P1', 'P5', 'P9'],
    )
    assert.deepEqual([...calls].sort(), ['P1', 'P5', 'P8', 'P9'])
  })

  test('a check that throws fails that property alone, with the error as evidence', async () => {
    const out = await run([
      prop('P2', () => Promise.reject(new Error('bad row'))),
      prop('P4', async () => ok('P4')),
      prop('P7', async (ctx) => (ctx.sideClient(), ok('P7')), 'side'),
    ])
    assert.equal(out[0].pass, false)
    assert.match(out[0].summary, /the check itself failed: bad row/)
    assert.equal(out[0].name, 'name of P2')
    assert.equal(out[1].pass, true)
    // The side connection could not be opened (no connect() client): P7 fails, the rest still stand.
    assert.equal(out[2].pass, false)
    assert.match(out[2].summary, /verification needs a client opened by connect/)
  })

  test('a setup error is the whole verdict’s answer', async () => {
    await assert.rejects(
      run([prop('P1', () => Promise.reject(new ConfigError(['the run changed']))), prop('P5', async () => ok('P5'), 'side')]),
      ConfigError,
    )
  })

  test('a property may answer "not applicable": reported, and it fails no verdict', async () => {
    const out = await run([
      prop('P1', async () => ok('P1')),
      prop('P8', async (ctx) => notApplicable({ id: 'P8', name: 'dashboard data' }, `external ingest of run ${ctx.runId}`)),
    ])
    assert.equal(out[1].notApplicable, 'external ingest of run 1')
    assert.match(out[1].summary, /^not applicable: /)
    assert.equal(verdictOf(out), 'pass')
    assert.equal(verdictOf([...out, { ...ok('P3'), pass: false }]), 'fail')
    // A not-applicable outcome that says pass: false (however a module builds it) still fails nothing.
    assert.equal(verdictOf([{ ...out[1], pass: false }]), 'pass')
    assert.equal(verdictOf(out, 'stopped by SIGINT'), 'interrupted')
    // JUnit: a skipped case with the reason, not a failure.
    const xml = junitXml('r1', 'ci', [...out, { ...out[1], id: 'P9', pass: false }])
    assert.match(xml, /<testsuite [^>]*tests="3" failures="0" errors="0" skipped="2"/)
    assert.match(xml, /name="P8 dashboard data" time="0">\n {6}<skipped message="not applicable: external ingest of run 1"\/>/)
  })
})

describe('the outputs', () => {
  test('a re-verify writes verify.json and junit.xml and renders the summary; no result.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotbench-outputs-'))
    const record = {
      runId: 'r1',
      profile: 'ci',
      verdict: 'fail' as const,
      storage: 'postgresql',
      properties: [{ ...ok('P1'), pass: false, summary: 'lost 3' }],
    }
    const made = publish(
      { kind: 'verify', record, environment: { broker: 'b', database: 'd', storage: 'postgresql' } },
      dir,
      VERIFY_OUTPUTS,
    )
    assert.deepEqual(Object.keys(made).sort(), ['junit', 'summary', 'verify'])
    assert.deepEqual(JSON.parse(readFileSync(made.verify, 'utf8')), record)
    assert.match(readFileSync(made.junit, 'utf8'), /failures="1"/)
    assert.match(made.summary, /FAIL P1 P1: lost 3/)
    assert.equal(existsSync(join(dir, 'result.json')), false)
    assert.equal(RUN_OUTPUTS.map((o) => o.name).join(), 'result,reports,junit,summary')
  })
})
