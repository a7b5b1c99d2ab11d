/**
 * Each subsystem's slice of the resolved config (src/config/slices.ts): built once by resolveConfig,
 * with the knobs derived from the options, and left out of what result.json stores.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveConfig } from '../../src/config/resolve.js'
import { atRate } from '../../src/config/slices.js'
import { publicConfig } from '../../src/run.js'

const ci = (flags: Record<string, string> = {}) => resolveConfig({ profile: 'ci', env: {}, flags })

test('the live slice: the fleet as farm ids, 127.0.0.1 without a port, and no simulated clients with an external ingest', () => {
  const cfg = ci({ liveClients: '5', drainTimeoutSeconds: '7', farms: '3' })
  const live = cfg.slices.live
  assert.deepEqual(live.farms, ['farm01', 'farm02', 'farm03'])
  assert.equal(live.host, '127.0.0.1')
  assert.equal(live.clients, 5)
  assert.equal(live.durationMs, cfg.durationSeconds * 1000)
  assert.equal(live.drainMs, 7000)
  assert.equal(ci({ liveClients: '5', livePort: '0', liveHost: '0.0.0.0' }).slices.live.host, '0.0.0.0')
  assert.equal(ci({ liveClients: '5', ingest: 'external' }).slices.live.clients, 0, 'the external ingest sends the feed nothing')
})

test('the faults slice holds the schedule after --fault-time-scale; without faults it is empty', () => {
  const one = resolveConfig({ profile: 'faults', env: {}, flags: { faultTimeScale: '1' } })
  const half = resolveConfig({ profile: 'faults', env: {}, flags: { faultTimeScale: '0.5' } })
  assert.ok(one.slices.faults.schedule.length > 0)
  assert.deepEqual(
    half.slices.faults.schedule.map((f) => f.atSeconds),
    one.slices.faults.schedule.map((f) => f.atSeconds * 0.5),
  )
  assert.deepEqual(ci().slices.faults.schedule, [])
})

test('the simulator, external-ingest and shard slices carry seconds as milliseconds and the options as given', () => {
  const cfg = ci({ drainTimeoutSeconds: '9', ingestReadyTimeoutSeconds: '11', ingestQuietSeconds: '3', topicPrefix: 'x/' })
  assert.equal(cfg.slices.sim.thread.drainTimeoutMs, 9000)
  assert.equal(cfg.slices.sim.thread.topicPrefix, 'x/')
  assert.deepEqual(cfg.slices.sim.fleet, {
    farms: cfg.farms,
    cowsPerFarm: cfg.cowsPerFarm,
    stallsPerFarm: cfg.stallsPerFarm,
    tanksPerFarm: cfg.tanksPerFarm,
  })
  assert.equal(cfg.slices.external.readyTimeoutMs, 11_000)
  assert.equal(cfg.slices.external.quietMs, 3000)
  assert.equal(cfg.slices.external.topicPrefix, 'x/')
  assert.deepEqual(ci({ resultsDir: '/tmp/r', seed: '7' }).slices.shard, {
    profile: 'ci',
    seed: 7,
    resultsDir: '/tmp/r',
    dbSchema: cfg.dbSchema,
  })
})

test('a config at another rate (a --profile max step): the speed follows it and the slices are built again', () => {
  const cfg = ci()
  const step = atRate(cfg, cfg.rate * 2)
  assert.equal(step.speed, cfg.speed * 2)
  assert.equal(step.slices.sim.rate, cfg.rate * 2)
  assert.equal(step.slices.sim.speed, cfg.speed * 2)
})

test('result.json keeps its schema: publicConfig leaves the slices out', () => {
  assert.equal('slices' in publicConfig(ci()), false)
})
