import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Backoff, DeviceQueues } from '../../src/sim/device-queue.js'
import { recoveryTimes } from '../../src/faults/analysis.js'
import { scheduleChecks, type FaultSpec } from '../../src/faults/schedule.js'
import type { FaultRecord } from '../../src/faults/injector.js'
import type { TimelinePoint } from '../../src/report/timeline.js'

describe('device queues', () => {
  it('keep at most `capacity` readings per device; every reading is either drained or counted as dropped, by the policy', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 80 }),
        fc.constantFrom('drop-oldest' as const, 'drop-newest' as const),
        (capacity, pushes, policy) => {
          const q = new DeviceQueues(2, capacity, policy)
          for (let seq = 0; seq < pushes; seq++) q.push(1, seq)
          const kept = q.drain(1)
          const dropped = q
            .droppedAsRanges(100)
            .flatMap(([d, from, to]) => (assert.equal(d, 101), Array.from({ length: to - from }, (_, i) => from + i)))
          assert.equal(kept.length, Math.min(capacity, pushes))
          assert.equal(q.dropped, Math.max(0, pushes - capacity))
          assert.deepEqual(
            [...kept, ...dropped].sort((a, b) => a - b),
            Array.from({ length: pushes }, (_, i) => i),
            'nothing silently lost',
          )
          // drop-oldest keeps the newest readings, drop-newest the oldest
          const expectKept =
            policy === 'drop-oldest'
              ? Array.from({ length: kept.length }, (_, i) => pushes - kept.length + i)
              : Array.from({ length: kept.length }, (_, i) => i)
          assert.deepEqual(kept, expectKept)
          assert.equal(q.size(0), 0)
        },
      ),
    )
  })

  it('requeue puts in-flight readings back in front, in seq order', () => {
    const q = new DeviceQueues(1, 10, 'drop-oldest')
    q.push(0, 7)
    q.push(0, 8)
    q.requeue(0, [4, 5, 6])
    assert.deepEqual(q.drain(0), [4, 5, 6, 7, 8])
  })
})

describe('reconnect backoff', () => {
  it('grows exponentially to its cap with equal jitter, and starts over after a reset', () => {
    const seen = (r: number): number[] => {
      const b = new Backoff(() => r, 100, 5000)
      return Array.from({ length: 8 }, () => b.next())
    }
    assert.deepEqual(seen(1), [100, 200, 400, 800, 1600, 3200, 5000, 5000])
    assert.deepEqual(seen(0), [50, 100, 200, 400, 800, 1600, 2500, 2500])
    const b = new Backoff(() => 1)
    b.next()
    b.next()
    b.reset()
    assert.equal(b.next(), 100)
  })
})

describe('fault schedule checks', () => {
  const ctx = {
    durationSeconds: 30,
    ingestWorkers: 2,
    embeddedBroker: false,
    embeddedDatabase: false,
    brokerRestartCommand: undefined,
    dbRestartCommand: undefined,
  }
  it('report every problem at once', () => {
    const faults: FaultSpec[] = [
      { kind: 'network', atSeconds: 1, seconds: 2 },
      { kind: 'broker-restart', atSeconds: 2, seconds: 1 },
      { kind: 'db-restart', atSeconds: 40, seconds: 1 },
      { kind: 'ingest-kill', worker: 5, atSeconds: 3, seconds: 1 },
      { kind: 'db-outage', atSeconds: 10, seconds: 5 },
      { kind: 'network', link: 'ingest-db', mode: 'latency', ms: 10, atSeconds: 12, seconds: 1 },
    ]
    const problems = scheduleChecks(faults, ctx)
    for (const want of [
      /needs "link"/,
      /needs "mode"/,
      /--broker-restart-command/,
      /--db-restart-command/,
      /starts after the load ends/,
      /worker 5 does not exist/,
      /faults on ingest-db overlap/,
    ]) {
      assert.ok(
        problems.some((p) => want.test(p)),
        `${want} in ${problems.join('\n')}`,
      )
    }
    assert.deepEqual(scheduleChecks([{ kind: 'db-outage', atSeconds: 1, seconds: 30 }], ctx), [])
  })
})

describe('recovery times', () => {
  const point = (t: number, p99Ms: number, latencyCount = 100): TimelinePoint => ({
    t,
    phase: 'load',
    offered: 0,
    sent: 0,
    acked: 0,
    ingested: 0,
    deadLetters: 0,
    dbRetries: 0,
    alerts: 0,
    latencyCount,
    p50Ms: p99Ms / 2,
    p90Ms: p99Ms,
    p99Ms,
    maxMs: p99Ms,
  })
  const fault = { label: 'db-outage', startS: 10, endS: 15 } as FaultRecord
  it('time from the fault’s end until the p99 stays in the band / under the SLO for 3 s', () => {
    // 40 ms before; 5000 ms during; back under the 1000 ms SLO from t=18, within 1.5 × 40 ms from t=21
    const p99 = (t: number): number => (t < 10 ? 40 : t <= 17 ? 5000 : t <= 20 ? 500 : 50)
    const points = Array.from({ length: 30 }, (_, i) => point(i + 1, p99(i + 1)))
    const [r] = recoveryTimes(points, [fault], 1000)
    assert.equal(r!.preFaultP99Ms, 40)
    assert.equal(r!.peakP99Ms, 5000)
    assert.equal(r!.recoveredUnderSloS, 2) // the second (17, 18] is the first of three good ones
    assert.equal(r!.recoveredToBandS, 5)
  })
  it('a second with nothing committed is not recovered, and no recovery within the run is null', () => {
    const points = [point(9, 40), ...Array.from({ length: 10 }, (_, i) => point(16 + i, 0, 0))]
    const [r] = recoveryTimes(points, [fault], 1000)
    assert.equal(r!.recoveredUnderSloS, null)
    assert.equal(r!.recoveredToBandS, null)
  })
})

describe('faults configuration', () => {
  it('the faults profile validates, and against external services it names every missing restart command at once', async () => {
    const { resolveConfig } = await import('../../src/config/resolve.js')
    const embedded = resolveConfig({ profile: 'faults', env: {}, flags: {} })
    assert.equal(embedded.faults?.length, 9)
    assert.throws(
      () =>
        resolveConfig({
          profile: 'faults',
          env: {},
          flags: {
            mqttUrl: 'mqtt://127.0.0.1:1883',
            databaseUrl: 'postgres://u:p@127.0.0.1:5432/d',
            faultTimeScale: '0.2',
            durationSeconds: '36',
          },
        }),
      (err: Error & { problems?: string[] }) => {
        const problems = err.problems ?? []
        assert.ok(
          problems.some((p) => /broker-restart at 5 s\): restarting an external broker needs --broker-restart-command/.test(p)),
          problems.join('\n'),
        )
        assert.ok(
          problems.some((p) => /db-restart at 19 s\): restarting an external database needs --db-restart-command/.test(p)),
          problems.join('\n'),
        )
        return true
      },
    )
    assert.throws(
      () => resolveConfig({ profile: 'faults', env: {}, flags: { faults: '[{"kind":"meteor","atSeconds":1,"seconds":1}]' } }),
      /--faults\/0\/kind must be equal to one of the allowed values/,
    )
  })
})
