/**
 * The open-loop schedule with a time-varying rate: monotonic, an exact split of devices across
 * workers, and burst's 10× spikes where the profile puts them.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { resolveConfig } from '../../src/config/resolve.js'
import { dueSeconds, intendedMs, offeredBy, rateAt, readingsPerDevice, seqAt, type Schedule, type Spike } from '../../src/sim/schedule.js'
import { splitRange } from '../../src/util/shares.js'

const spikesArb: fc.Arbitrary<Spike[]> = fc
  .array(
    fc.record({
      gap: fc.double({ min: 0, max: 20, noNaN: true }),
      seconds: fc.double({ min: 0.1, max: 10, noNaN: true }),
      multiplier: fc.double({ min: 0.1, max: 20, noNaN: true }),
    }),
    { maxLength: 5 },
  )
  .map((xs) => {
    let t = 0
    return xs.map(({ gap, seconds, multiplier }) => {
      const s = { atSeconds: t + gap, seconds, multiplier }
      t = s.atSeconds + seconds
      return s
    })
  })

describe('schedule', () => {
  test('due times are monotonic in schedule order, C(C⁻¹(g)) = g, and a worker split covers every reading once', () => {
    fc.assert(
      fc.property(
        spikesArb,
        fc.integer({ min: 1, max: 50_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        (spikes, rate, devices, perDevice, workers) => {
          const s: Schedule = { t0Ms: 1_000_000, rate, devices, perDevice, spikes }
          let prev = -Infinity
          for (let seq = 0; seq < perDevice; seq++) {
            for (let i = 0; i < devices; i++) {
              const t = intendedMs(s, i, seq)
              assert.ok(t > prev, `(${i}, ${seq}) due at ${t}, not after ${prev}`)
              prev = t
              const g = seq * devices + i
              assert.ok(Math.abs(offeredBy(rate, dueSeconds(rate, g, spikes), spikes) - g) < 1e-6 * Math.max(1, g))
            }
          }
          const covered = new Uint8Array(devices * perDevice)
          for (const [from, to] of splitRange(devices, Math.min(workers, devices))) {
            for (let seq = 0; seq < perDevice; seq++) for (let i = from; i < to; i++) covered[seq * devices + i]!++
          }
          assert.ok(
            covered.every((c) => c === 1),
            'every (device, seq) in exactly one share',
          )
        },
      ),
      { numRuns: 200 },
    )
  })

  test('without spikes it is the fixed-rate round robin t0 + (k·N + i) / rate', () => {
    const s: Schedule = { t0Ms: 0, rate: 2000, devices: 260, perDevice: 153 }
    for (const [i, k] of [
      [0, 0],
      [259, 0],
      [7, 100],
      [259, 152],
    ] as const)
      assert.ok(Math.abs(intendedMs(s, i, k) - ((k * 260 + i) * 1000) / 2000) < 1e-9)
    assert.equal(readingsPerDevice(2000, 20, 260), 153)
  })

  test('burst: the offered rate is 10× during its two milking-time spikes, and the outage is in seqs', () => {
    const cfg = resolveConfig({ profile: 'burst', env: {}, flags: {} })
    const spikes = cfg.load!.spikes!
    assert.equal(spikes.length, 2)
    const devices = cfg.farms * (cfg.cowsPerFarm + cfg.stallsPerFarm + cfg.tanksPerFarm)
    for (const sp of spikes) {
      assert.equal(sp.multiplier, 10)
      assert.equal(rateAt(cfg.rate, sp.atSeconds + sp.seconds / 2, spikes), 10 * cfg.rate)
      const inSpike = offeredBy(cfg.rate, sp.atSeconds + sp.seconds, spikes) - offeredBy(cfg.rate, sp.atSeconds, spikes)
      const before = offeredBy(cfg.rate, sp.atSeconds, spikes) - offeredBy(cfg.rate, sp.atSeconds - sp.seconds, spikes)
      assert.ok(Math.abs(inSpike / before - 10) < 1e-9, `spike offers ${inSpike}, the same time before it ${before}`)
    }
    // The readings are due when the schedule says: count those due inside the first spike.
    const perDevice = readingsPerDevice(cfg.rate, cfg.durationSeconds, devices, spikes)
    const s: Schedule = { t0Ms: 0, rate: cfg.rate, devices, perDevice, spikes }
    const due = (from: number, to: number): number => {
      let n = 0
      for (let k = 0; k < perDevice; k++)
        for (let i = 0; i < devices; i++) {
          const t = intendedMs(s, i, k) / 1000
          if (t >= from && t < to) n++
        }
      return n
    }
    const sp = spikes[0]!
    const spike = due(sp.atSeconds, sp.atSeconds + 1)
    const base = due(sp.atSeconds - 2, sp.atSeconds - 1)
    assert.ok(Math.abs(spike - 10 * base) <= 2, `${spike} due in a spike second, ${base} in a baseline second`)
    assert.ok(
      Math.abs(perDevice * devices - offeredBy(cfg.rate, cfg.durationSeconds, spikes)) < devices,
      'readings per device account for the spikes',
    )
    const o = cfg.load!.outages![0]!
    assert.ok(seqAt(cfg.rate, o.atSeconds + o.seconds, devices, spikes) > seqAt(cfg.rate, o.atSeconds, devices, spikes))
  })
})
