import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { DEFAULTS } from '../../src/config/options.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { ConfigError } from '../../src/errors.js'
import { fleetSize } from '../../src/fleet.js'
import { mergeRateSamples, shardProblems } from '../../src/shard/merge.js'
import { shardChecks, shardPlan } from '../../src/shard/plan.js'
import type { ShardResult } from '../../src/shard/result.js'

const fleetArb = fc.record({
  farms: fc.integer({ min: 1, max: 300 }),
  cowsPerFarm: fc.integer({ min: 1, max: 50 }),
  stallsPerFarm: fc.integer({ min: 0, max: 5 }),
  tanksPerFarm: fc.integer({ min: 1, max: 3 }),
})

describe('--shard i/n', () => {
  test('the shards of any fleet cover every farm and device exactly once, in contiguous ranges', () => {
    fc.assert(
      fc.property(fleetArb, fc.integer({ min: 1, max: 300 }), (fleet, n0) => {
        const n = Math.min(n0, fleet.farms)
        const plans = Array.from({ length: n }, (_, i) => shardPlan(fleet, `${i + 1}/${n}`))
        let farm = 0
        let device = 0
        for (const p of plans) {
          assert.equal(p.farms[0], farm)
          assert.equal(p.devices[0], device)
          const size = p.farms[1] - p.farms[0]
          assert.ok(size === Math.floor(fleet.farms / n) || size === Math.ceil(fleet.farms / n))
          farm = p.farms[1]
          device = p.devices[1]
        }
        assert.equal(farm, fleet.farms)
        assert.equal(device, fleetSize(fleet))
      }),
    )
  })

  test('bad shard options are config errors, all reported at once', () => {
    const base = { ...DEFAULTS, farms: 4 }
    assert.deepEqual(shardChecks({ ...base, shard: '3/2' }), ['shard "3/2" must be i/n with 1 ≤ i ≤ n, e.g. 1/2'])
    const p = shardChecks({ ...base, shard: '1/8', startAt: 'tomorrow' })
    assert.equal(p.length, 5, p.join('\n')) // start-at, count > farms, run id, broker, database
    assert.deepEqual(shardChecks({ ...base, shard: '1/2', runId: 'r', mqttUrl: 'mqtt://b', databaseUrl: 'postgres://d' }), [])
    assert.throws(
      () => resolveConfig({ profile: 'ci', env: {}, flags: { shard: '1/2' } }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((x) => x.includes('--run-id')),
    )
  })

  test('merge refuses shards that do not make one run', () => {
    const shard = (index: number, count: number, over: Partial<ShardResult> = {}): ShardResult =>
      ({
        runId: 'r',
        dbRunId: 1,
        seed: 1,
        t0Ms: 5,
        shard: { index, count, farms: [0, 1], devices: [0, 1] },
        manifest: { perDevice: 3, simStartMs: 0 },
        ...over,
      }) as unknown as ShardResult
    assert.deepEqual(shardProblems([shard(0, 2), shard(1, 2)]), [])
    assert.deepEqual(shardProblems([shard(0, 3), shard(2, 3)]), ['shard 2/3 is missing'])
    assert.deepEqual(shardProblems([shard(0, 2), shard(0, 2), shard(1, 2)]), ['shard 1/2 is given 2 times'])
    assert.match(shardProblems([shard(0, 2), shard(1, 2, { seed: 2 })]).join(), /seed 2 differs/)
    assert.match(shardProblems([shard(0, 2), shard(1, 2, { t0Ms: 9 })]).join(), /schedule start/)
  })

  test('merged rate samples are the sum of the shards’ cumulative counts at every sample time', () => {
    const cumulative = fc
      .array(fc.record({ dt: fc.double({ min: 0.1, max: 2, noNaN: true }), sent: fc.nat(1000), ingested: fc.nat(1000) }), {
        minLength: 1,
        maxLength: 30,
      })
      .map((xs) => {
        let t = 0
        let s = 0
        let g = 0
        return xs.map((x) => ({ t: (t += x.dt), sent: (s += x.sent), ingested: (g += x.ingested) }))
      })
    fc.assert(
      fc.property(fc.array(cumulative, { minLength: 1, maxLength: 4 }), (shards) => {
        const merged = mergeRateSamples(shards)
        const last = merged[merged.length - 1]!
        assert.equal(
          last.sent,
          shards.reduce((n, s) => n + s[s.length - 1]!.sent, 0),
          'the final totals add up',
        )
        assert.equal(
          last.ingested,
          shards.reduce((n, s) => n + s[s.length - 1]!.ingested, 0),
        )
        for (let i = 1; i < merged.length; i++)
          assert.ok(merged[i]!.sent >= merged[i - 1]!.sent && merged[i]!.t > merged[i - 1]!.t, 'cumulative and ordered')
      }),
    )
  })
})
