/**
 * Item 4 of issue 20, with real signals: the first SIGINT stops the load and the shortened run is judged
 * and written (verdict `interrupted`, exit 6, the run's row says so, the broker keeps no session of it);
 * a second one exits at once (130), still removing the sessions and stopping the embedded PostgreSQL.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { readResult, ROOT, runCli, SHORT_RUN, tempResultsDir, TEST_EMBEDDED, type CliResult } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'
import { runClientIds, sessionPresent } from '../support/sessions.js'
import { isAlive } from '../../src/db/data-lock.js'

/**
 * The CLI as a child we can signal: sends `signals`, `gapMs` apart, `afterMs` after stderr matches `when`.
 * It runs in a process group of its own and the signal goes to the whole group, as a Ctrl-C at a
 * terminal does (so the embedded PostgreSQL must not stop with it).
 */
function runSignalled(
  args: readonly string[],
  when: RegExp,
  signals: readonly NodeJS.Signals[],
  afterMs: number,
  gapMs: number,
): Promise<CliResult & { signalledAt: number; endedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'iotbench.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    let signalledAt = 0
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
      if (signalledAt || !when.test(stderr)) return
      signalledAt = -1
      setTimeout(() => {
        signalledAt = Date.now()
        signals.forEach((s, i) => setTimeout(() => process.kill(-child.pid!, s), i * gapMs))
      }, afterMs)
    })
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`no exit in 240 s\n${stderr}`))), 240_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, signalledAt, endedAt: Date.now() })
    })
  })
}

describe('Ctrl-C during a run', () => {
  test('the first SIGINT: the shortened run is judged and written as interrupted (exit 6); no session stays on the broker', async (t) => {
    const mqtt = await requireService(t, 'mqtt')
    if (!mqtt) return
    const results = tempResultsDir()
    const schema = uniqueName('intr')
    // The embedded PostgreSQL: it must outlive the Ctrl-C sent to the run's process group.
    const where = [...TEST_EMBEDDED, '--db-schema', schema]
    const r = await runSignalled(
      [
        'run',
        '--profile',
        'ci',
        ...SHORT_RUN,
        '--duration',
        '30',
        '--mqtt-url',
        mqtt,
        '--mqtt-protocol',
        '4',
        '--topic-prefix',
        `${uniqueName('intr')}/`,
        ...where,
        '--results-dir',
        results,
      ],
      /ingest ready/,
      ['SIGINT'],
      4_000,
      0,
    )
    assert.equal(r.code, 6, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /— INTERRUPTED/)
    const runId = /^iotbench (\S+) — profile/m.exec(r.stdout)![1]!
    const result = readResult(results, runId)
    assert.equal(result.verdict, 'interrupted')
    assert.match(result.interrupted, /SIGINT: the load stopped after \d+ of \d+ readings per device/)
    assert.ok(
      result.counts.perDevice > 0 && result.counts.perDevice < result.config.durationSeconds * 2,
      `shortened: ${result.counts.perDevice} readings per device`,
    )
    assert.equal(result.counts.offered, result.counts.devices * result.counts.perDevice)
    // Correctness is judged on the shortened run, not excused: everything offered until the stop is stored once.
    for (const id of ['P1', 'P2', 'P3', 'P7']) {
      const p = result.properties.find((x: { id: string }) => x.id === id)
      assert.equal(p.pass, true, `${id}: ${p.summary}`)
    }
    assert.equal(result.counts.ingested, result.counts.offered)
    for (const f of ['report.md', 'report.html']) assert.ok(existsSync(join(results, runId, f)), f)
    assert.match(
      readFileSync(join(results, runId, 'junit.xml'), 'utf8'),
      /<error message="SIGINT: the load stopped[^"]*" type="Interrupted"\/>/,
    )
    const list = await runCli(['runs', 'list', ...where])
    assert.match(list.stdout, new RegExp(`${runId}\\s.*\\sinterrupted\\s`), list.stdout)
    for (const id of runClientIds(result)) assert.equal(await sessionPresent(mqtt, id), false, `${id} left a session`)
  })

  test('SIGTERM then SIGINT: exits at once (130), still removing sessions and stopping the embedded PostgreSQL', async (t) => {
    const mqtt = await requireService(t, 'mqtt')
    if (!mqtt) return
    const results = tempResultsDir()
    const dir = join(ROOT, '.iotbench', 'test-interrupt')
    const prefix = `${uniqueName('intr2')}/`
    const r = await runSignalled(
      [
        'run',
        '--profile',
        'ci',
        ...SHORT_RUN,
        '--duration',
        '30',
        '--mqtt-url',
        mqtt,
        '--mqtt-protocol',
        '4',
        '--topic-prefix',
        prefix,
        '--embedded-dir',
        dir,
        '--embedded-pg-port',
        '54345',
        '--results-dir',
        results,
      ],
      /ingest ready/,
      ['SIGTERM', 'SIGINT'],
      3_000,
      300,
    )
    assert.equal(r.code, 130, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.ok(r.endedAt - r.signalledAt < 15_000, `exited ${r.endedAt - r.signalledAt} ms after the first signal`)
    assert.match(r.stderr, /SIGTERM: stopping the load/, 'SIGTERM is a first Ctrl-C')
    assert.match(r.stderr, /SIGINT again: exiting now/)
    assert.doesNotMatch(r.stdout, /— (PASS|FAIL|INTERRUPTED)/, 'nothing judged')
    assert.equal(existsSync(`${dir}.lock`), false, 'the data folder is released')
    const runId = /^run (\S+) \(#/m.exec(r.stderr)![1]!
    // A server that stopped removed its postmaster.pid; one that was killed left it, naming a dead pid.
    const pidFile = join(dir, 'postmaster.pid')
    assert.equal(
      existsSync(pidFile) && isAlive(Number(readFileSync(pidFile, 'utf8').split('\n')[0])),
      false,
      'the embedded PostgreSQL stopped',
    )
    const result = { runId, config: { ingestWorkers: 2, simWorkers: 1 } }
    for (const id of runClientIds(result)) assert.equal(await sessionPresent(mqtt, id), false, `${id} left a session`)
  })
})
