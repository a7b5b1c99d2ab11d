import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { searchMaxRate, type SearchOptions } from '../../src/max/search.js'

/** Search options and a pipeline that holds every property up to `threshold` readings/s (monotone). */
const scenario = fc
  .record({
    startRate: fc.integer({ min: 1, max: 50_000 }),
    span: fc.integer({ min: 0, max: 250_000 }),
    floorShare: fc.double({ min: 0, max: 1, noNaN: true }),
    factor: fc.double({ min: 1.05, max: 4, noNaN: true }),
    resolution: fc.integer({ min: 1, max: 5_000 }),
    threshold: fc.integer({ min: 0, max: 320_000 }),
  })
  .map(({ startRate, span, floorShare, factor, resolution, threshold }) => {
    const o: SearchOptions = {
      startRate,
      ceiling: startRate + span,
      floor: Math.max(1, Math.floor(startRate * floorShare)),
      factor,
      resolution,
      maxSteps: 1_000,
      budgetMs: Infinity,
    }
    return { o, threshold }
  })

describe('max-rate search (step up, then binary search)', () => {
  test('returns the highest passing rate within its resolution, for any monotone threshold', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ o, threshold }) => {
        const r = await searchMaxRate(async (rate) => ({ pass: rate <= threshold }), o)
        for (const s of r.steps) {
          assert.equal(s.pass, s.rate <= threshold, 'a step reports what the pipeline did')
          assert.ok(s.rate >= o.floor && s.rate <= o.ceiling, `step rate ${s.rate} outside [${o.floor}, ${o.ceiling}]`)
        }
        assert.ok(r.converged)
        if (threshold >= o.ceiling) {
          assert.equal(r.best, o.ceiling)
          assert.equal(r.stoppedBy, 'ceiling')
        } else if (threshold < o.floor) {
          assert.equal(r.best, undefined)
          assert.equal(r.stoppedBy, 'floor-failed')
        } else {
          assert.ok(r.best !== undefined && r.lowestFail !== undefined)
          assert.ok(r.best <= threshold, `best ${r.best} must pass (threshold ${threshold})`)
          assert.ok(r.lowestFail > threshold)
          assert.ok(
            r.lowestFail - r.best <= o.resolution,
            `best ${r.best} and lowest fail ${r.lowestFail} further apart than ${o.resolution}`,
          )
          assert.ok(
            threshold - r.best < o.resolution,
            `best ${r.best} is more than the resolution ${o.resolution} below the threshold ${threshold}`,
          )
        }
        // Logarithmic, not linear: a generous bound on the number of runs.
        const bound =
          Math.ceil(Math.log(o.ceiling / Math.max(1, o.startRate)) / Math.log(o.factor)) + Math.ceil(Math.log2(o.ceiling + 1)) + 4
        assert.ok(r.steps.length <= bound, `${r.steps.length} steps > ${bound}`)
      }),
      { numRuns: 500 },
    )
  })

  test('stops when its time budget or step count is spent, with the best rate seen so far', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 1, max: 6 }), async ({ o, threshold }, budgetSteps) => {
        let t = 0
        const clock = (): number => t
        const r = await searchMaxRate(
          async (rate) => {
            t += 10 // each run takes 10 ms of fake time
            return { pass: rate <= threshold }
          },
          { ...o, budgetMs: budgetSteps * 10 },
          clock,
        )
        assert.ok(r.steps.length <= budgetSteps)
        const passing = r.steps.filter((s) => s.pass).map((s) => s.rate)
        assert.equal(r.best, passing.length ? Math.max(...passing) : undefined)
        if (!r.converged) assert.equal(r.stoppedBy, 'budget')
      }),
      { numRuns: 300 },
    )
  })

  test('reports each step as it completes, with its detail', async () => {
    const seen: number[] = []
    const r = await searchMaxRate(
      async (rate) => ({ pass: rate <= 7000, detail: { component: rate <= 7000 ? undefined : 'ingest' } }),
      { startRate: 1000, ceiling: 100_000, floor: 10, factor: 2, resolution: 250, maxSteps: 50, budgetMs: Infinity },
      Date.now,
      (s) => seen.push(s.rate),
    )
    assert.deepEqual(
      seen,
      r.steps.map((s) => s.rate),
    )
    assert.deepEqual(
      r.steps.slice(0, 5).map((s) => [s.rate, s.phase, s.pass]),
      [
        [1000, 'step-up', true],
        [2000, 'step-up', true],
        [4000, 'step-up', true],
        [8000, 'step-up', false],
        [6000, 'binary', true],
      ],
    )
    assert.ok(r.best! > 6750 && r.best! <= 7000)
  })
})
