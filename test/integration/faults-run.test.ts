import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { readResult, runCli, runIdFrom, tempResultsDir, TEST_EMBEDDED } from '../support/cli.js'
import { mosquittoBinary, startOwnMosquitto } from '../support/mosquitto.js'
import { requireService, unavailable, uniqueName } from '../support/services.js'

// The faults profile against real services. Restarts only ever hit services the test owns (its own
// Mosquitto, the tests' embedded PostgreSQL); the shared PostgreSQL is only ever black-holed through
// the bench's proxy, never restarted.

const FAULTS_RUN = ['--profile', 'faults', '--progress', 'plain', '--rate', '800']

interface Fault {
  label: string
  startS: number
  endS: number
  error?: string
}

function assertEveryFaultRecorded(result: any, kinds: string[]): void {
  const schedule = result.faults.schedule as Fault[]
  assert.deepEqual(schedule.map((f: any) => f.kind).sort(), [...kinds].sort())
  for (const f of schedule) {
    assert.equal(f.error, undefined, `${f.label} was not injected: ${f.error}`)
    assert.ok(f.endS > f.startS, `${f.label}: ${f.startS}–${f.endS}`)
  }
  assert.equal(result.faults.recovery.length, schedule.length)
  const faultEvents = result.timeline.events.filter((e: any) => e.type === 'fault')
  assert.equal(faultEvents.length, schedule.length, 'every fault is on the timeline')
}

// Separate top-level tests (not one suite), so each has the whole per-test timeout.
test('faults profile: a short schedule against Mosquitto and PostgreSQL loses nothing at QoS 1 (broker restart, db outage, ingest kill, network faults)', async (t) => {
  const database = await requireService(t, 'database')
  if (!database) return
  const bin = mosquittoBinary()
  if (!bin) return unavailable(t, 'Mosquitto', 'mosquitto is not installed (apt-get install mosquitto)')
  const broker = await startOwnMosquitto(bin)
  try {
    const results = tempResultsDir()
    const faults = [
      { kind: 'network', link: 'sim-broker', mode: 'latency', ms: 150, atSeconds: 2, seconds: 3 },
      { kind: 'broker-restart', atSeconds: 6, seconds: 2 },
      { kind: 'ingest-kill', worker: 1, atSeconds: 10, seconds: 1 },
      { kind: 'db-outage', atSeconds: 13, seconds: 4 },
      { kind: 'network', link: 'broker-ingest', mode: 'reset', atSeconds: 19, seconds: 1 },
      { kind: 'network', link: 'sim-broker', mode: 'blackhole', atSeconds: 21, seconds: 2 },
      { kind: 'network', link: 'broker-ingest', mode: 'half-open', drop: 'up', atSeconds: 24, seconds: 2 },
    ]
    const r = await runCli(
      [
        'run',
        ...FAULTS_RUN,
        '--duration',
        '28',
        '--drain-timeout',
        '40',
        '--faults',
        JSON.stringify(faults),
        '--broker-restart-command',
        broker.restartCommand,
        '--mqtt-url',
        broker.url,
        '--database-url',
        database,
        '--db-schema',
        uniqueName('faults'),
        '--results-dir',
        results,
      ],
      {},
      240_000,
    )
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    const p1 = result.properties.find((p: any) => p.id === 'P1')
    assert.equal(p1.pass, true, p1.summary)
    assert.equal(p1.evidence.counts.lost, 0)
    assert.equal(result.counts.ingested, result.counts.offered, 'every reading stored')
    assertEveryFaultRecorded(
      result,
      faults.map((f) => f.kind),
    )
    for (const w of [...result.faults.loss.windows, result.faults.loss.outside]) assert.equal(w.lost, 0, `${w.label}: ${w.lost} lost`)
    assert.ok(Array.isArray(p1.evidence.lostByFault) && p1.evidence.lostByFault.length === faults.length + 1)
    // The restart really happened: the ingest and the simulators reconnected.
    assert.match(r.stderr, /fault: broker-restart ended .*accepting connections/)
    assert.ok(result.devices.reconnects >= 2, `simulator reconnects: ${result.devices.reconnects}`)
    const md = readFileSync(join(results, result.runId, 'report.md'), 'utf8')
    assert.match(md, /## Faults/)
    assert.match(md, /\| db-outage \|/)
    assert.match(
      readFileSync(join(results, result.runId, 'report.html'), 'utf8'),
      /"faults":\[\{"label":"network sim-broker latency 150 ms"/,
    )
  } finally {
    await broker.stop()
  }
})

test('faults profile: QoS 0 through a black hole: the loss is counted and attributed to the fault window', async (t) => {
  const database = await requireService(t, 'database')
  const mqttUrl = await requireService(t, 'mqtt')
  if (!database || !mqttUrl) return
  const results = tempResultsDir()
  const faults = [{ kind: 'network', link: 'sim-broker', mode: 'blackhole', atSeconds: 4, seconds: 3 }]
  const r = await runCli(
    [
      'run',
      ...FAULTS_RUN,
      '--qos',
      '0',
      '--duration',
      '12',
      '--drain-timeout',
      '8',
      '--slo-max-lost',
      '1000000',
      '--faults',
      JSON.stringify(faults),
      '--mqtt-url',
      mqttUrl,
      '--topic-prefix',
      `${uniqueName('faults')}/`,
      '--database-url',
      database,
      '--db-schema',
      uniqueName('faults'),
      '--results-dir',
      results,
    ],
    {},
    180_000,
  )
  assert.ok(r.code === 0 || r.code === 3, `${r.stdout}\n${r.stderr}`)
  const result = readResult(results, runIdFrom(r.stdout))
  assertEveryFaultRecorded(result, ['network'])
  const [window] = result.faults.loss.windows
  const p1 = result.properties.find((p: any) => p.id === 'P1')
  assert.ok(window.lost > 0, `the black hole must lose QoS 0 readings: ${JSON.stringify(window)}`)
  assert.equal(result.faults.loss.outside.lost, 0, `loss outside the fault window: ${JSON.stringify(result.faults.loss.outside)}`)
  assert.equal(window.lost, p1.evidence.counts.lost, 'every reading P1 calls lost is in the window')
  assert.deepEqual(p1.evidence.lostByFault[0], {
    fault: 'network sim-broker blackhole',
    lost: window.lost,
    neverAcknowledged: 0,
    queueOverflow: 0,
  })
})

test('faults profile: an ingest worker killed and the embedded PostgreSQL restarted mid-run: zero loss', async (t) => {
  const mqttUrl = await requireService(t, 'mqtt')
  if (!mqttUrl) return
  const results = tempResultsDir()
  const faults = [
    { kind: 'ingest-kill', worker: 0, atSeconds: 3, seconds: 1 },
    { kind: 'db-restart', atSeconds: 8, seconds: 2 },
  ]
  const r = await runCli(
    [
      'run',
      ...FAULTS_RUN,
      '--duration',
      '14',
      '--drain-timeout',
      '40',
      '--faults',
      JSON.stringify(faults),
      '--mqtt-url',
      mqttUrl,
      '--topic-prefix',
      `${uniqueName('faults')}/`,
      ...TEST_EMBEDDED,
      '--results-dir',
      results,
    ],
    {},
    240_000,
  )
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
  const result = readResult(results, runIdFrom(r.stdout))
  assertEveryFaultRecorded(result, ['ingest-kill', 'db-restart'])
  const p1 = result.properties.find((p: any) => p.id === 'P1')
  assert.equal(p1.evidence.counts.lost, 0)
  assert.equal(result.counts.ingested, result.counts.offered)
  assert.match(r.stderr, /ingest 0: respawned and subscribed/)
  assert.match(r.stderr, /database write failed|retry/, 'the restart was seen by the ingest')
  assert.ok(existsSync(join(results, result.runId, 'junit.xml')))
})
