import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { SeqRanges } from '../../src/sim/seq-ranges.js'

const MiB = 1048576

describe('seq ranges (what a simulator thread published and had acknowledged)', () => {
  test('behaves as a set of seqs per device: add, has, and the missing ranges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 60 })), { maxLength: 300 }),
        fc.integer({ min: 0, max: 70 }),
        (ops, end) => {
          const s = new SeqRanges(3)
          const ref = [new Set<number>(), new Set<number>(), new Set<number>()]
          for (const [j, seq] of ops) {
            assert.equal(s.add(j, seq), !ref[j]!.has(seq), `add(${j}, ${seq})`)
            ref[j]!.add(seq)
          }
          for (let j = 0; j < 3; j++) {
            for (let seq = 0; seq <= 61; seq++) assert.equal(s.has(j, seq), ref[j]!.has(seq), `has(${j}, ${seq})`)
            const missing: number[] = []
            for (const [from, to] of s.missing(j, end)) {
              assert.ok(from < to && to <= end)
              for (let q = from; q < to; q++) missing.push(q)
            }
            assert.deepEqual(
              missing,
              Array.from({ length: end }, (_, q) => q).filter((q) => !ref[j]!.has(q)),
            )
          }
        },
      ),
    )
  })

  test('memory does not grow with the readings: 20M published and acknowledged cost what 2M did', () => {
    // The soak's shape: 1,040 devices, readings due in seq order across the fleet, acknowledgements
    // coming back a window later and out of order across devices, one in 250,000 never acknowledged.
    const devices = 1040
    const perDevice = 19_232 // 20M readings
    const published = new SeqRanges(devices)
    const acked = new SeqRanges(devices)
    const window: number[] = []
    let cycles = 0
    let lost = 0
    const ack = (slot: number): void => {
      const seq = Math.floor(slot / devices)
      if (slot % 250_000 === 249_999) return void lost++ // never the first or last seq of its device: each splits a range
      acked.add(slot % devices, seq)
    }
    const run = (until: number): void => {
      for (; cycles < until; cycles++) {
        const j = cycles % devices
        const seq = Math.floor(cycles / devices)
        published.add(j, seq)
        window.push(cycles)
        if (window.length === 2048) {
          // Across devices in any order (a device's own acks stay in order: one connection, in order).
          for (let k = window.length - 1; k >= 0; k -= 2) ack(window[k]!)
          for (let k = window.length - 2; k >= 0; k -= 2) ack(window[k]!)
          window.length = 0
        }
      }
    }
    const memory = (): number => {
      const m = process.memoryUsage()
      return m.rss
    }
    run(2_000_000)
    const after2M = memory()
    run(devices * perDevice)
    for (const slot of window) ack(slot)
    const after20M = memory()
    const grown = after20M - after2M
    assert.ok(
      grown < 6 * MiB,
      `resident memory grew ${(grown / MiB).toFixed(1)} MiB from 2M to 20M readings (a byte per reading per record is ${((18e6 * 2) / MiB).toFixed(0)} MiB)`,
    )
    assert.equal(published.rangeCount, devices, 'one range per device: every seq published')
    assert.equal(acked.rangeCount, devices + lost, 'one range per device plus one per reading never acknowledged')
    let missing = 0
    for (let j = 0; j < devices; j++) missing += acked.missing(j, perDevice).length
    assert.equal(missing, lost)
  })
})
