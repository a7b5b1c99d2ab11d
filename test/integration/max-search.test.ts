import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { runCli, tempResultsDir, TEST_EMBEDDED } from '../support/cli.js'

describe('iotbench run --profile max', () => {
  test('a short bounded search finds a rate, names a limiting component and writes every step', async () => {
    const results = tempResultsDir()
    // The embedded database is kept between test runs: a run id of its own every time.
    const id = `max-it-${process.pid}-${Date.now()}`
    // Tiny steps and a low ceiling keep it bounded: 2-s runs from 300/s, ceiling 1,200/s, resolution 300/s,
    // at most 150 s. The latency SLO is wide (the shared machine's load must not decide whether a rate passes
    // at all); the search, the steps and the component are what is tested here.
    const r = await runCli(
      [
        'run',
        '--profile',
        'max',
        '--farms',
        '2',
        '--duration',
        '2',
        '--rate',
        '300',
        '--max-ceiling',
        '1200',
        '--max-resolution',
        '300',
        '--max-budget',
        '150',
        '--slo-p99-ms',
        '20000',
        '--results-dir',
        results,
        '--run-id',
        id,
        ...TEST_EMBEDDED,
      ],
      {},
      280_000,
    )
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /max: step 1: 300\/s (PASS|FAIL)/, 'progress is printed per step')
    const max = JSON.parse(readFileSync(join(results, id, 'max.json'), 'utf8'))
    assert.equal(max.kind, 'iotbench-max')
    assert.ok(max.maxRate >= 300 && max.maxRate <= 1200, `max rate ${max.maxRate}`)
    assert.ok(['generator', 'broker', 'ingest', 'database'].includes(max.limitingComponent), `component ${max.limitingComponent}`)
    assert.ok(max.steps.length >= 2)
    for (const s of max.steps) {
      assert.ok(typeof s.rate === 'number' && ['pass', 'fail', 'error'].includes(s.verdict))
      if (s.verdict !== 'error') assert.ok(['generator', 'broker', 'ingest', 'database'].includes(s.component))
    }
    // The reported maximum is the highest step that passed, and each step is a real run with its own result.
    const passed = max.steps.filter((s: { verdict: string }) => s.verdict === 'pass').map((s: { rate: number }) => s.rate)
    assert.equal(max.maxRate, Math.max(...passed))
    const best = JSON.parse(readFileSync(join(results, max.maxRateRun.runId, 'result.json'), 'utf8'))
    assert.equal(best.verdict, 'pass')
    assert.equal(best.config.rate, max.maxRate)
    assert.ok(best.stages.batches > 0, 'the run recorded where the ingest time went')
    // Where the machine went: the embedded aedes is a thread of the run, the embedded PostgreSQL on this host.
    if (process.platform === 'linux') {
      for (const c of ['simulators', 'broker', 'ingest', 'database', 'oracle']) {
        assert.ok(best.cpu.components[c].seconds > 0, `${c} CPU measured: ${JSON.stringify(best.cpu.components[c])}`)
        assert.ok(best.cpu.load.components[c].per100kReadings >= 0, `${c} during the load`)
      }
      assert.equal(max.maxRateRun.cpu.readings, best.counts.ingested)
    }
  })
})
