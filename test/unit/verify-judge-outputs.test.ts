/**
 * The verdict's plumbing, field by field (issue 23, mutation testing over all of src/verify/): the JUnit
 * file as CI reads it, which failures timing alone explains, not-applicable results, the registry's
 * lanes and what each property's check reads, P5's and P6's wrappers and `judge` (what it stores and
 * returns). The database is test/support/fake-pg.ts plus the UPDATEs `judge` writes, recorded.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type pg from 'pg'
import { alertRulesOf } from '../../src/alerts/rules.js'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import type { HostLoad } from '../../src/metrics/host.js'
import { generateReading } from '../../src/sim/generator.js'
import { defaultSensorModels } from '../../src/sim/models.js'
import { initHistograms, encodeHistogram, newHistogram, recordMs } from '../../src/util/histogram.js'
import { AlertChecker } from '../../src/verify/alerts.js'
import { judge, latencyOf } from '../../src/verify/judge.js'
import { junitXml } from '../../src/report/junit.js'
import { checkAlerts } from '../../src/verify/properties/alerts.js'
import { PROPERTIES, notApplicable, type JudgeContext, type PropertyOutcome } from '../../src/verify/properties/index.js'
import { checkBadInput } from '../../src/verify/properties/bad-input.js'
import { checkThroughput } from '../../src/verify/properties/throughput.js'
import { checkRates, type RateRecord } from '../../src/verify/rates.js'
import { sloOf, type LatencyEvidence, type Slo } from '../../src/verify/slo.js'
import { markNotApplicable, propertyStatus } from '../../src/verify/status.js'
import { failedOnTimingOnly, timingOnSaturatedHost } from '../../src/verify/timing.js'
import type { PropertyResult, RunManifest } from '../../src/verify/types.js'
import { checkDeadLetters } from '../../src/verify/dead-letters.js'
import { badInputProperty } from '../../src/verify/verdicts.js'
import { memoryProperty } from '../../src/report/soak.js'
import { fakeClient, type FakeRow } from '../support/fake-pg.js'

const result = (id: string, pass: boolean, evidence: Record<string, unknown> = {}, summary = `${id} said so`): PropertyResult => ({
  id: id as PropertyResult['id'],
  name: `name of ${id}`,
  pass,
  summary,
  evidence,
})
const host = (saturated: boolean): HostLoad => ({
  cpus: 2,
  seconds: 10,
  ownMeanPct: 50,
  loadAvgMax: saturated ? 8 : 0.5,
  loopLagMaxMs: 1,
  loopLagMeanMs: 1,
  saturated,
  why: saturated ? ['load 8 on 2 cores', 'CPU busy 99 %'] : [],
})
const slo: Slo = sloOf({ sloP99Ms: 1000 })
const summaryOf = (p99Ms: number) => ({ count: 10, p50Ms: 1, p90Ms: 1, p99Ms, p999Ms: p99Ms, maxMs: p99Ms, meanMs: 1 })
/** Two seconds of load offered at 100/s, nothing committed. */
const stalled: RateRecord = {
  rate: 100,
  spikes: [],
  offered: 200,
  plannedSeconds: 2,
  samples: [1, 2].map((t) => ({ t, sent: 100 * t, ingested: 0 })),
}
const latency: LatencyEvidence = { endToEnd: summaryOf(5), brokerHop: summaryOf(5), scheduleLag: summaryOf(5) }

describe('JUnit XML', () => {
  test('the whole file for a pass, a failure, a skipped case, an interrupt and a saturated host, escaped', () => {
    const xml = junitXml(
      'run <1>',
      'ci&"x"',
      [
        result('P1', true, {}, 'all 4 stored'),
        result('P4', false, { p99Ms: 7 }, 'p99 7 > 5 ms'),
        { ...result('P8', false), notApplicable: 'external ingest' },
        result('P2', false, { bad: 'a>b\u0001' }, 'corrupted <1>'),
      ],
      12.5,
      { interrupted: 'stopped by SIGINT', saturated: { ids: ['P4'], summary: 'P4 on a busy host' } },
    )
    assert.equal(
      xml,
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="iotbench" tests="6" failures="2" errors="1" time="12.5">',
        '  <testsuite name="iotbench run &lt;1&gt;" tests="6" failures="2" errors="1" skipped="1" time="12.5">',
        '    <testcase classname="iotbench.ci&amp;&quot;x&quot;" name="P1 name of P1" time="0">',
        '      <system-out>all 4 stored</system-out>',
        '    </testcase>',
        '    <testcase classname="iotbench.ci&amp;&quot;x&quot;" name="P4 name of P4" time="0">',
        '      <failure message="p99 7 &gt; 5 ms" type="TimingFailedOnSaturatedHost">{',
        '  &quot;p99Ms&quot;: 7',
        '}</failure>',
        '      <system-out>p99 7 &gt; 5 ms</system-out>',
        '    </testcase>',
        '    <testcase classname="iotbench.ci&amp;&quot;x&quot;" name="P8 name of P8" time="0">',
        '      <skipped message="not applicable: external ingest"/>',
        '      <system-out>P8 said so</system-out>',
        '    </testcase>',
        '    <testcase classname="iotbench.ci&amp;&quot;x&quot;" name="P2 name of P2" time="0">',
        // JSON escapes the control character; the XML escape then drops nothing more.
        '      <failure message="corrupted &lt;1&gt;" type="PropertyFailed">{',
        '  &quot;bad&quot;: &quot;a&gt;b\\u0001&quot;',
        '}</failure>',
        '      <system-out>corrupted &lt;1&gt;</system-out>',
        '    </testcase>',
        '    <testcase classname="iotbench.ci&amp;&quot;x&quot;" name="run interrupted" time="0">',
        '      <error message="stopped by SIGINT" type="Interrupted"/>',
        '    </testcase>',
        '    <testcase classname="iotbench.ci&amp;&quot;x&quot;" name="host saturated" time="0">',
        '      <system-out>P4 on a busy host</system-out>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    )
  })

  test('characters XML 1.0 forbids are dropped, not escaped', () => {
    const xml = junitXml('r', 'p', [result('P1', true, {}, 'a\u0000b\u0008c\u000bd\u001fe\uffffF\tG\nH')])
    assert.match(xml, /<system-out>abcdeF\tG\nH<\/system-out>/)
  })
})

describe('failures timing alone explains', () => {
  test('P6 is timing whatever its evidence holds; P4 likewise', () => {
    // Evidence shaped like P5's (a miss counted) does not make P4 or P6 a correctness failure.
    for (const id of ['P4', 'P6']) assert.equal(failedOnTimingOnly(result(id, false, { counts: { missed: 1 }, missing: [1] })), true, id)
  })

  test('P5: each of missed, late and spurious alone makes it a correctness failure', () => {
    for (const k of ['missed', 'late', 'spurious']) {
      assert.equal(failedOnTimingOnly(result('P5', false, { counts: { [k]: 1 } })), false, `${k} as a number`)
      assert.equal(failedOnTimingOnly(result('P5', false, { counts: { [k]: [{ seq: 1 }] } })), false, `${k} as a list`)
    }
    assert.equal(failedOnTimingOnly(result('P5', false, { counts: { other: 3 } })), true)
    assert.equal(failedOnTimingOnly(result('P5', false)), true, 'no counts at all: nothing missed')
  })

  test('P9: each of its five correctness fields alone makes it a correctness failure', () => {
    for (const k of ['missing', 'duplicated', 'unexpected', 'alertMismatches', 'failedClients']) {
      assert.equal(failedOnTimingOnly(result('P9', false, { [k]: ['x'] })), false, `${k} as a list`)
      assert.equal(failedOnTimingOnly(result('P9', false, { [k]: 2 })), false, `${k} as a number`)
    }
    assert.equal(failedOnTimingOnly(result('P9', false, { latencyP99Ms: 9000, missing: 0 })), true)
  })

  test('the verdict’s words, and no host measured explains nothing', () => {
    const failed = [result('P1', true), result('P4', false), result('P6', false)]
    assert.deepEqual(timingOnSaturatedHost(failed, host(true)), {
      ids: ['P4', 'P6'],
      summary:
        'P4, P6 failed on timing alone while the host was saturated (load 8 on 2 cores; CPU busy 99 %); every correctness property held — rerun on a quieter host',
    })
    assert.equal(timingOnSaturatedHost(failed, undefined), undefined)
    assert.equal(timingOnSaturatedHost(failed, host(false)), undefined)
    // A not-applicable outcome is no failure, whatever its pass says.
    assert.deepEqual(timingOnSaturatedHost([{ ...result('P1', false), notApplicable: 'x' }, result('P4', false)], host(true))?.ids, ['P4'])
  })
})

describe('not applicable', () => {
  test('only the properties given a reason are replaced; the others are returned as they are', () => {
    const p1 = result('P1', false)
    const p8 = result('P8', false)
    const out = markNotApplicable([p1, p8], { P8: 'external ingest' })
    assert.equal(out[0], p1)
    assert.deepEqual(out[1], {
      id: 'P8',
      name: 'name of P8',
      pass: true,
      summary: 'not applicable: external ingest',
      evidence: { notApplicable: 'external ingest' },
      notApplicable: 'external ingest',
    })
    assert.deepEqual(out.map(propertyStatus), ['FAIL', 'N/A'])
    assert.equal(notApplicable({ id: 'P9', name: 'live feed' }, 'why').pass, true)
  })
})

describe('the registry: each property’s lane and what its check reads', () => {
  const byId = new Map(PROPERTIES.map((p) => [p.id, p]))
  const ctx = (over: Partial<JudgeContext> = {}): JudgeContext => ({
    runId: 7,
    manifest: { seed: 1, perDevice: 1 } as unknown as RunManifest,
    latency,
    slo,
    rates: undefined,
    opts: {},
    client: {} as pg.Client,
    sideClient: () => {
      throw new Error('side client read')
    },
    oracle: () => {
      throw new Error('oracle read')
    },
    sets: () => Promise.reject(new Error('sets read')),
    ...over,
  })

  test('P5 and P7 run on the side connection, every other property on the main one', () => {
    assert.deepEqual(
      PROPERTIES.map((p) => `${p.id}:${p.lane}`),
      ['P1:main', 'P2:main', 'P3:main', 'P4:main', 'P5:side', 'P6:main', 'P7:side', 'P8:main', 'P9:main', 'S1:main'],
    )
  })

  test('P1–P3 read the set pass; P5 and P7 the side connection', async () => {
    for (const id of ['P1', 'P2', 'P3'] as const) await assert.rejects(async () => byId.get(id)!.check(ctx()), /sets read/, id)
    await assert.rejects(async () => byId.get('P5')!.check(ctx()), /side client read/)
    await assert.rejects(async () => byId.get('P7')!.check(ctx()), /side client read/)
  })

  test('P4 judges the latency against the SLO; P6 the rates; P9 the live clients', async () => {
    const p4 = await byId.get('P4')!.check(ctx({ latency: { ...latency, endToEnd: summaryOf(1500) } }))
    assert.equal(p4?.id, 'P4')
    assert.equal(p4?.pass, false)
    assert.equal((await byId.get('P4')!.check(ctx()))?.pass, true)
    assert.equal((await byId.get('P6')!.check(ctx()))?.summary, 'not applicable: this run predates the rate timeline (runs.rates)')
    assert.match((await byId.get('P9')!.check(ctx()))?.summary ?? '', /^not applicable: no simulated live clients/)
  })

  test('P8 is left out under skipDashboards and reads the database otherwise; S1 only with a soak SLO', async () => {
    assert.equal(await byId.get('P8')!.check(ctx({ opts: { skipDashboards: true } })), undefined)
    const queried: string[] = []
    const client = {
      query: (sql: string) => {
        queried.push(sql)
        return Promise.reject(new Error('no database here'))
      },
    } as unknown as pg.Client
    await assert.rejects(byId.get('P8')!.check(ctx({ client })), /no database here/)
    assert.ok(queried.length > 0)
    assert.equal(await byId.get('S1')!.check(ctx()), undefined)
    const s1 = await byId.get('S1')!.check(ctx({ opts: { soak: { drift: undefined, maxRssGrowthPct: 10, warmupSeconds: 60 } } }))
    assert.deepEqual(s1, memoryProperty(undefined, 10, 60))
  })
})

describe('P6 wrapper', () => {
  test('a run without a rate timeline is not applicable; one with it is judged by checkRates', () => {
    assert.deepEqual(checkThroughput(undefined, summaryOf(1), slo), {
      id: 'P6',
      name: 'throughput',
      pass: true,
      summary: 'not applicable: this run predates the rate timeline (runs.rates)',
      evidence: { notApplicable: 'this run predates the rate timeline (runs.rates)' },
      notApplicable: 'this run predates the rate timeline (runs.rates)',
    })
    const v = checkRates(stalled, summaryOf(1), slo.rateTolerance, slo.maxScheduleLagMs, slo.p99Ms)
    assert.equal(v.pass, false)
    assert.deepEqual(checkThroughput(stalled, summaryOf(1), slo), { id: 'P6', name: 'throughput', ...v })
  })
})

const fleet: FleetShape = { farms: 1, cowsPerFarm: 2, stallsPerFarm: 0, tanksPerFarm: 0 }
const manifest: RunManifest = { seed: 3, simStartMs: Date.UTC(2026, 3, 1), fleet, perDevice: 4, unacked: [], published: 8 }
const devices = Array.from({ length: fleetSize(fleet) }, (_, i) => deviceAt(fleet, i))

describe('P5 wrapper (checkAlerts)', () => {
  const rules = alertRulesOf(defaultSensorModels())
  const rule = rules.collar[0]!
  const alertsClient = (rows: Array<Record<string, unknown>>, seen: unknown[][] = []) =>
    ({
      query: (sql: string, params: unknown[]) => {
        seen.push([sql, params])
        return Promise.resolve({ rows })
      },
    }) as unknown as pg.Client

  test('a replayed trace is not applicable, and nothing is read', async () => {
    const seen: unknown[][] = []
    const r = await checkAlerts(alertsClient([], seen), 9, { ...manifest, replay: { file: 'x' } } as unknown as RunManifest, slo, undefined)
    assert.deepEqual(r, {
      id: 'P5',
      name: 'alerts',
      pass: true,
      summary: 'not applicable: a replayed trace has no injected anomalies',
      evidence: { notApplicable: 'a replayed trace has no injected anomalies' },
      notApplicable: 'a replayed trace has no injected anomalies',
    })
    assert.equal(seen.length, 0)
  })

  test('a stored alert no anomaly explains is spurious, with its fields; the rules and the source are in the evidence', async () => {
    const seen: unknown[][] = []
    const d = devices[0]!
    const row = { id: '41', device: d.id, rule: rule.name, seq: 2, sent: '1000', raised: '1250' }
    const r = await checkAlerts(alertsClient([row], seen), 9, manifest, slo, undefined)
    assert.equal(seen.length, 1)
    assert.match(String(seen[0]![0]), /FROM alerts WHERE run_id = \$1 AND event = 'raise'/)
    assert.deepEqual(seen[0]![1], [9])
    assert.equal(r.pass, false)
    const e = r.evidence as Record<string, unknown>
    assert.deepEqual(e.spurious, [
      { device: d.id, rule: rule.name, seq: 2, alertId: 41, detail: `no ${rule.rule.anomaly} injected at this seq` },
    ])
    assert.equal(e.expectations, 'computed from the oracle while checking')
    assert.deepEqual((e.rules as Record<string, unknown[]>).collar![0], {
      name: rule.name,
      anomaly: rule.rule.anomaly,
      maxDelayReadings: rule.rule.maxDelayReadings,
    })
    assert.deepEqual(Object.keys(e.rules as object), Object.keys(KINDS))
    assert.match(String(e.reproduce), /seed 3; alerts: SELECT \* FROM alerts WHERE run_id = 9/)
  })

  test('stored expectations are used and counted by device; a device without them is not', async () => {
    const expect = new AlertChecker(manifest, rules).expectationsOf(devices[0]!)
    const digests = new Map([
      [devices[0]!.id, { rows: 4, digest: '0', exact: true, alerts: expect }],
      [devices[1]!.id, { rows: 4, digest: '0', exact: true }],
    ])
    const r = await checkAlerts(alertsClient([]), 9, manifest, slo, { digests, source: 'stored with the run' })
    assert.equal((r.evidence as Record<string, unknown>).expectations, 'stored with the run (1 devices)')
    const none = await checkAlerts(alertsClient([]), 9, manifest, slo, { digests: new Map(), source: 'stored with the run' })
    assert.equal((none.evidence as Record<string, unknown>).expectations, 'computed from the oracle while checking')
  })
})

describe('P7 wrapper (checkBadInput)', () => {
  test('the dead-letter report judged by P7’s rule, with the run id', async () => {
    const topic = `farm/${devices[0]!.farm}/collar/${devices[0]!.id}/telemetry`
    const m: RunManifest = {
      ...manifest,
      badInput: [{ topic, payload: Buffer.from('[1]').toString('base64'), reason: 'not-an-object', type: 'not-an-object' }],
    }
    const letters = [{ topic, payload: Buffer.from('[1]'), reason: 'invalid-json' }]
    const r = await checkBadInput(fakeClient({}, letters), 12, m)
    const report = await checkDeadLetters(fakeClient({}, letters), 12, m)
    assert.deepEqual(r, badInputProperty(report as Parameters<typeof badInputProperty>[0], 12))
    assert.equal(r.pass, false)
  })
})

describe('judge', () => {
  const ideal = (): FakeRow[] =>
    devices.flatMap((d, i) =>
      Array.from({ length: manifest.perDevice }, (_, seq) => {
        const r = generateReading({ seed: manifest.seed, simStartMs: manifest.simStartMs, fleet }, d, seq)
        return { device: d.id, seq, ts: r.ts, values: KINDS[d.kind].fields.map((f) => r.values[f.name]!), rx: i * 100 + seq }
      }),
    )
  /** The fake database, recording the UPDATEs judge writes. */
  const database = () => {
    const inner = fakeClient({ collar: ideal() })
    const updates: Array<[string, unknown[]]> = []
    const client = {
      query: (q: unknown, params?: unknown[]) => {
        if (typeof q === 'string' && q.startsWith('UPDATE')) {
          updates.push([q, params ?? []])
          return Promise.resolve({ rows: [] })
        }
        return inner.query(q as string)
      },
    } as unknown as pg.Client
    return { client, updates }
  }
  // P5 and P7 need a second connection, which the fake cannot open: they are left out here.
  const withoutSide = (ps: PropertyOutcome[]): PropertyOutcome[] => ps.filter((p) => p.id !== 'P5' && p.id !== 'P7')
  const p4Failed = (ps: PropertyOutcome[]): PropertyOutcome[] => withoutSide(ps).map((p) => (p.id === 'P4' ? { ...p, pass: false } : p))
  const base = { dbRunId: 5, manifest, slo, verify: { rowByRow: true, skipDashboards: true } }

  /** Three readings' end-to-end latency, 1–3 ms. */
  const endToEnd = async (): Promise<string[]> => {
    await initHistograms()
    const h = newHistogram()
    for (const ms of [1, 2, 3]) recordMs(h, ms)
    return [encodeHistogram(h)]
  }

  test('a run: its rates and evidence stored first, then the verdict with the saturated host’s word', async () => {
    const { client, updates } = database()
    const rates = stalled
    const j = await judge({
      ...base,
      client,
      histograms: { endToEnd: await endToEnd(), brokerHop: [], scheduleLag: [] },
      rates,
      evidence: { faults: 1 },
      amend: p4Failed,
      host: host(true),
      record: true,
    })
    assert.equal(j.verdict, 'fail')
    assert.deepEqual(j.saturated?.ids, ['P4', 'P6'])
    assert.equal('interrupted' in j, false)
    assert.equal(j.latency.endToEnd.count, 3)
    assert.deepEqual(
      j.properties.map((p) => p.id),
      ['P1', 'P2', 'P3', 'P4', 'P6', 'P9'],
    )
    assert.deepEqual(
      updates.map(([q, params]) => [q, params[0]]),
      [
        ['UPDATE runs SET rates = $2, evidence = $3, finished_at = now() WHERE id = $1', 5],
        ['UPDATE runs SET verdict = $2 WHERE id = $1', 5],
      ],
    )
    assert.deepEqual(updates[0]![1].slice(1), [JSON.stringify(rates), JSON.stringify({ faults: 1 })])
    const stored = JSON.parse(String(updates[1]![1][1])) as Record<string, unknown>
    assert.equal(stored.verdict, 'fail')
    assert.equal(stored.timingOnSaturatedHost, j.saturated?.summary)
    assert.deepEqual(stored.properties, JSON.parse(JSON.stringify(j.properties)))
  })

  test('a re-verify stores nothing; interrupted whatever the properties say; no saturated word without one', async () => {
    const { client, updates } = database()
    const j = await judge({
      ...base,
      client,
      histograms: { endToEnd: [], brokerHop: [], scheduleLag: [] },
      rates: undefined,
      evidence: { faults: 1 },
      amend: withoutSide,
      interrupted: 'stopped by SIGINT',
      record: false,
    })
    assert.equal(j.verdict, 'interrupted')
    assert.equal(j.interrupted, 'stopped by SIGINT')
    assert.equal('saturated' in j, false)
    assert.equal(updates.length, 0)
    const passed = await judge({
      ...base,
      client,
      histograms: { endToEnd: await endToEnd(), brokerHop: [], scheduleLag: [] },
      rates: undefined,
      amend: withoutSide,
      host: host(true),
      record: true,
    })
    assert.deepEqual(
      passed.properties.filter((p) => !p.pass),
      [],
    )
    assert.equal(passed.verdict, 'pass')
    assert.equal('saturated' in passed, false)
    assert.equal('interrupted' in passed, false)
    assert.deepEqual(
      updates.map(([q]) => q),
      ['UPDATE runs SET verdict = $2 WHERE id = $1'],
    )
    assert.equal('timingOnSaturatedHost' in (JSON.parse(String(updates[0]![1][1])) as object), false)
  })

  test('latencyOf summarises every list it is given, the optional one too', () => {
    const l = latencyOf({ endToEnd: [], brokerHop: [], scheduleLag: [], publishAck: [] })
    assert.deepEqual(Object.keys(l), ['endToEnd', 'brokerHop', 'scheduleLag', 'publishAck'])
    assert.equal(l.publishAck.count, 0)
  })
})
