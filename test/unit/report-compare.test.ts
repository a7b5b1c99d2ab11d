import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { compareRuns, parseThreshold, thresholdsFrom } from '../../src/report/compare.js'
import type { RunResult } from '../../src/report/result.js'
import { loadResult } from '../../src/report/files.js'
import { ROOT, runCli } from '../support/cli.js'

const BASELINE = join(ROOT, 'bench-results', 'baselines', 'ci.json')
// Read as `report --compare` reads it (the committed baseline is schema 1: src/report/files.ts upgrades it).
const baseline = (): RunResult => loadResult(BASELINE, tmpdir()).result
type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] }

/** A copy of the baseline with a change injected. */
function injected(change: (r: Mutable<RunResult>) => void): RunResult {
  const r = structuredClone(baseline()) as Mutable<RunResult>
  change(r)
  return r as RunResult
}

describe('report --compare', () => {
  test('two equal runs: no regression', () => {
    const c = compareRuns(baseline(), baseline())
    assert.deepEqual(c.regressions, [])
  })

  test('p99 beyond the threshold is a regression; within it is not', () => {
    const b = baseline()
    const slower = injected((r) => (r.latency.endToEnd.p99Ms = b.latency.endToEnd.p99Ms * 1.5))
    assert.deepEqual(compareRuns(b, slower).regressions, ['end-to-end p99 (ms)'])
    const slightly = injected((r) => (r.latency.endToEnd.p99Ms = b.latency.endToEnd.p99Ms * 1.05))
    assert.deepEqual(compareRuns(b, slightly).regressions, [])
    assert.deepEqual(compareRuns(b, slower, thresholdsFrom('60%', undefined)).regressions, [])
    assert.deepEqual(compareRuns(b, slower, thresholdsFrom(`${Math.ceil(b.latency.endToEnd.p99Ms)}ms`, undefined)).regressions, [])
  })

  test('throughput below the threshold, new loss and a property that stopped passing are regressions', () => {
    const b = baseline()
    assert.deepEqual(
      compareRuns(
        b,
        injected((r) => (r.rates.achievedPerS = Math.floor(b.rates.achievedPerS * 0.9))),
      ).regressions,
      ['throughput achieved (readings/s)'],
    )
    assert.deepEqual(
      compareRuns(
        b,
        injected((r) => (r.counts.ingested -= 3)),
      ).regressions,
      ['missing readings (published − ingested)'],
    )
    const passing = injected((r) => {
      r.verdict = 'pass'
      for (const p of r.properties) p.pass = true
    })
    const failed = injected((r) => {
      r.verdict = 'fail'
      for (const p of r.properties) p.pass = true
      r.properties[0]!.pass = false
    })
    const regs = compareRuns(passing, failed).regressions
    assert.ok(regs.includes('verdict'), regs.join())
    assert.ok(
      regs.some((x) => x.startsWith('P1 ')),
      regs.join(),
    )
  })

  test('thresholds: percentages or ms, every problem at once', () => {
    assert.deepEqual(parseThreshold('--x', '10%', true), { unit: 'percent', value: 10 })
    assert.deepEqual(parseThreshold('--x', '7.5', true), { unit: 'percent', value: 7.5 })
    assert.deepEqual(parseThreshold('--x', '50ms', true), { unit: 'ms', value: 50 })
    assert.throws(
      () => thresholdsFrom('fast', '5ms'),
      (err: Error & { problems?: string[] }) => err.problems?.length === 2,
    )
  })

  test('the CLI exits 0 on equal runs, 3 on an injected regression, 4 on a missing run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotbench-compare-'))
    const slower = join(dir, 'slower.json')
    writeFileSync(slower, JSON.stringify(injected((r) => (r.latency.endToEnd.p99Ms *= 2))))
    const same = await runCli(['report', '--compare', BASELINE, BASELINE], {}, 60_000)
    assert.equal(same.code, 0, same.stdout + same.stderr)
    assert.match(same.stdout, /no regression/)
    const worse = await runCli(['report', '--compare', BASELINE, slower, '--threshold-p99', '10%'], {}, 60_000)
    assert.equal(worse.code, 3, worse.stdout + worse.stderr)
    assert.match(worse.stdout, /REGRESSION +end-to-end p99/)
    const missing = await runCli(['report', '--compare', BASELINE, join(dir, 'nope.json')], {}, 60_000)
    assert.equal(missing.code, 4, missing.stdout + missing.stderr)
    assert.match(missing.stderr, /no result found/)
  })
})
