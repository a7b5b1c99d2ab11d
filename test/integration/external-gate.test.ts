import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { readResult, ROOT, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

// --ingest external's gates (issue 22, requirement 3): the load never starts before the ingest under
// test is ready, every wait is bounded, and a failure is a clear message with the ingest's own output,
// never a stack trace.
const running = (marker: string): boolean => {
  try {
    execFileSync('pgrep', ['-f', marker])
    return true
  } catch {
    return false
  }
}

describe('iotbench run --ingest external: readiness and errors', () => {
  const common = async (t: Parameters<typeof requireService>[0]): Promise<string[] | undefined> => {
    const db = await requireService(t, 'database')
    const mqtt = await requireService(t, 'mqtt')
    if (!db || !mqtt) return undefined
    return [
      'run',
      '--profile',
      'ci',
      '--duration',
      '2',
      '--rate',
      '300',
      '--bad-input',
      '0',
      '--progress',
      'plain',
      '--ingest',
      'external',
      '--mqtt-url',
      mqtt,
      '--database-url',
      db,
      '--db-schema',
      uniqueName('extgate'),
      '--topic-prefix',
      `${uniqueName('eg')}/`,
      '--results-dir',
      tempResultsDir(),
    ]
  }

  test('an ingest that never stores the probe: exit 5 after --ingest-ready-timeout, no load offered, its process group stopped', async (t) => {
    const args = await common(t)
    if (!args) return
    const marker = `${600 + Math.floor(Math.random() * 300)}.${Date.now() % 1000}`
    const started = Date.now()
    const r = await runCli(
      [...args, '--ingest-command', `echo subscribed, honestly >&2; sleep ${marker}`, '--ingest-ready-timeout', '3'],
      {},
      120_000,
    )
    assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}`)
    assert.match(
      r.stderr,
      /did not store the readiness probe \(device iotbench-probe-\d+ on .*farm\/probe\/collar\/iotbench-probe-\d+\/telemetry\) within 3 s/,
    )
    assert.match(r.stderr, /its last output:\n\s+subscribed, honestly/)
    assert.match(r.stderr, /what to do: .*--ingest-ready-timeout/)
    assert.doesNotMatch(r.stderr, /\] load /, 'no load was offered')
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    assert.ok(Date.now() - started < 60_000)
    assert.equal(running(`sleep ${marker}`), false, 'the command’s process group was stopped')
  })

  test('an ingest that exits before it is ready: exit 5 with its exit code and its last output', async (t) => {
    const args = await common(t)
    if (!args) return
    const r = await runCli([...args, '--ingest-command', 'echo "E! cannot connect to the database" >&2; exit 3'], {}, 120_000)
    assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /the external ingest did not become ready: the ingest command exited before the run stopped it \(exit code 3\)/)
    assert.match(r.stderr, /E! cannot connect to the database/)
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
  })

  test('options of the external ingest are checked with the rest, every problem at once (exit 4)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotbench-extgate-'))
    const map = join(dir, 'map.json')
    writeFileSync(map, JSON.stringify({ kinds: { collar: { table: 't', device: 'd', seq: 's' } } }))
    const bad = await runCli([
      'run',
      '--ingest',
      'external',
      '--sink-map',
      map,
      '--transport',
      'kafka',
      '--kafka-url',
      'kafka://127.0.0.1:9',
    ])
    assert.equal(bad.code, 4, bad.stderr)
    assert.match(bad.stderr, /--ingest external needs --transport mqtt/)
    assert.match(bad.stderr, /\/kinds\/collar must have required property 'ts'/)
    assert.match(bad.stderr, /\/kinds must have required property 'milk'/)
    const stray = await runCli(['run', '--ingest-command', 'telegraf', '--sink-map', map])
    assert.equal(stray.code, 4, stray.stderr)
    assert.match(stray.stderr, /ingest-command needs --ingest external/)
    assert.match(stray.stderr, /sink-map needs --ingest external/)
  })
})

describe('iotbench run --ingest external without a sink map: the ingest writes iotbench’s own tables', () => {
  test('every property is judged from its rows; only P9 (the live feed) is N/A; it raises no alerts, so P5 fails', async (t) => {
    const db = await requireService(t, 'database')
    const mqtt = await requireService(t, 'mqtt')
    if (!db || !mqtt) return
    const results = tempResultsDir()
    const r = await runCli(
      [
        'run',
        '--profile',
        'ci',
        '--duration',
        '4',
        '--rate',
        '400',
        '--bad-input',
        '0',
        '--progress',
        'plain',
        '--slo-p99-ms',
        '10000',
        '--ingest',
        'external',
        '--ingest-command',
        `${process.execPath} ${join(ROOT, 'dist/test/support/own-schema-ingest.js')}`,
        '--mqtt-url',
        mqtt,
        '--database-url',
        db,
        '--db-schema',
        uniqueName('extown'),
        '--topic-prefix',
        `${uniqueName('eo')}/`,
        '--results-dir',
        results,
      ],
      {},
      200_000,
    )
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    const byId = new Map(
      (result.properties as Array<{ id: string; pass: boolean; summary: string; notApplicable?: string }>).map((p) => [p.id, p]),
    )
    for (const id of ['P1', 'P2', 'P3', 'P7']) assert.equal(byId.get(id)?.pass, true, `${id}: ${byId.get(id)?.summary}`)
    assert.equal(byId.get('P5')?.pass, false, 'no alerts were raised: P5 applies and fails')
    assert.equal(byId.get('P5')?.notApplicable, undefined)
    assert.ok(byId.get('P9')?.notApplicable)
    assert.deepEqual(
      [...byId.values()].filter((p) => p.notApplicable !== undefined).map((p) => p.id),
      ['P9'],
    )
    assert.equal(result.counts.ingested, result.counts.offered, 'the probe reading is not counted')
  })
})
