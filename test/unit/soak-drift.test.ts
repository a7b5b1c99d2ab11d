import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  driftMarkdown,
  driftOf,
  driftResults,
  fitLine,
  intervalsOf,
  MemorySampler,
  memoryProperty,
  MIN_DRIFT_SAMPLES,
  UNACCOUNTED,
  type MemorySample,
  type ThreadMemory,
} from '../../src/report/soak.js'
import { renderMarkdown } from '../../src/report/markdown.js'
import type { TimelinePoint } from '../../src/report/timeline.js'
import type { RunResult } from '../../src/report/result.js'

const MiB = 1048576

/** One sample a second for `seconds`, memory from the given functions of t. */
function samples(seconds: number, rss: (t: number) => number, heap: (t: number) => number = () => 100 * MiB): MemorySample[] {
  return Array.from({ length: seconds }, (_, i) => ({ t: i + 1, phase: 'load', rssBytes: rss(i + 1), heapBytes: heap(i + 1) }))
}

function points(seconds: number, p99: (t: number) => number): TimelinePoint[] {
  return Array.from({ length: seconds }, (_, i) => ({
    t: i + 1,
    phase: 'load',
    offered: 0,
    sent: 0,
    acked: 0,
    ingested: 0,
    deadLetters: 0,
    dbRetries: 0,
    alerts: 0,
    latencyCount: 10,
    p50Ms: 1,
    p90Ms: 1,
    p99Ms: p99(i + 1),
    maxMs: 1,
  }))
}

describe('least-squares line', () => {
  test('recovers any exact line', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: -1e3, max: 1e3, noNaN: true }),
        fc.integer({ min: 2, max: 500 }),
        (a, b, n) => {
          const xs = Array.from({ length: n }, (_, i) => i * 1.5 + 10)
          const fit = fitLine(
            xs,
            xs.map((x) => a + b * x),
          )!
          assert.ok(Math.abs(fit.slope - b) <= 1e-6 * Math.max(1, Math.abs(b)) + 1e-6, `slope ${fit.slope} vs ${b}`)
          assert.ok(Math.abs(fit.intercept - a) <= 1e-6 * Math.max(1, Math.abs(a)) + 1e-3, `intercept ${fit.intercept} vs ${a}`)
          assert.equal(fit.n, n)
        },
      ),
    )
  })

  test('a symmetric sawtooth (GC) around a flat level has no slope; one point or one x has no line', () => {
    const xs = Array.from({ length: 600 }, (_, i) => i)
    const fit = fitLine(
      xs,
      xs.map((x) => 300 + (x % 20 < 10 ? 50 : -50)),
    )!
    assert.ok(Math.abs(fit.slope) < 0.2, `slope ${fit.slope}`)
    assert.equal(fitLine([1], [2]), undefined)
    assert.equal(fitLine([3, 3, 3], [1, 2, 3]), undefined)
  })
})

describe('drift after the warm-up', () => {
  test('growth is measured along the fitted line from the warm-up end, ignoring the warm-up', () => {
    // RSS climbs 200 MiB during a 60 s warm-up, then grows 0.1 MiB/s from 300 MiB: 300 → 354 MiB at t = 600.
    const rss = (t: number): number => (t < 60 ? 100 * MiB + (t / 60) * 200 * MiB : 300 * MiB + (t - 60) * 0.1 * MiB)
    const d = driftOf(
      samples(600, rss),
      points(600, (t) => 100 + t / 10),
      60,
    )!
    assert.equal(d.fromS, 60)
    assert.equal(d.toS, 600)
    assert.equal(d.rss.samples, 541)
    assert.ok(Math.abs(d.rss.growthPct - 18) < 0.01, `growth ${d.rss.growthPct}`)
    assert.ok(Math.abs(d.rss.slopePerHour - 360 * MiB) < MiB, `slope ${d.rss.slopePerHour / MiB} MiB/h`)
    assert.equal(d.heap.growthPct, 0)
    assert.ok(d.p99 && Math.abs(d.p99.slopePerHour - 360) < 0.01, 'p99 rises 0.1 ms/s = 360 ms/h')
    assert.ok(Math.abs(d.p99!.fittedStart - 106) < 0.01 && Math.abs(d.p99!.fittedEnd - 160) < 0.01)
  })

  test('samples outside the load phase are left out, and too few samples give no drift', () => {
    const s = samples(200, (t) => 100 * MiB + t * MiB).map((m) => (m.t > 100 ? { ...m, phase: 'drain' } : m))
    const d = driftOf(
      s,
      points(200, () => 5),
      10,
    )!
    assert.equal(d.toS, 100)
    assert.equal(d.rss.samples, 91)
    assert.equal(
      driftOf(
        samples(9 + MIN_DRIFT_SAMPLES - 1, () => MiB),
        [],
        10,
      ),
      undefined,
      't = 10 … 38: 29 samples',
    )
    assert.ok(
      driftOf(
        samples(9 + MIN_DRIFT_SAMPLES, () => MiB),
        [],
        10,
      ),
      't = 10 … 39: 30 samples',
    )
  })

  test('S1 passes below the SLO and fails at or above it; no drift is a failure that says why', () => {
    const at = (pct: number) =>
      driftOf(
        samples(400, (t) => 200 * MiB * (1 + ((pct / 100) * (t - 100)) / 300)),
        [],
        100,
      )!
    assert.equal(memoryProperty(at(4), 5, 100).pass, true)
    assert.equal(memoryProperty(at(6), 5, 100).pass, false)
    assert.match(memoryProperty(at(6), 5, 100).summary, /RSS grew 6 % after the 100 s warm-up \(SLO < 5 %\)/)
    const none = memoryProperty(undefined, 5, 300)
    assert.equal(none.pass, false)
    assert.match(none.summary, /fewer than 30 one-second samples/)
    assert.deepEqual(
      driftResults(
        { driftWarmupSeconds: 100, sloMaxRssGrowthPct: undefined },
        samples(400, () => MiB),
        [],
      ).properties,
      [],
      'no SLO, no S1',
    )
    assert.equal(
      driftResults(
        { driftWarmupSeconds: 100, sloMaxRssGrowthPct: 5 },
        samples(400, () => MiB),
        [],
      ).properties[0]?.id,
      'S1',
    )
  })

  test('30 s intervals: mean memory and the worst one-second p99 of each window', () => {
    const iv = intervalsOf(
      samples(90, (t) => t * MiB),
      points(90, (t) => (t === 45 ? 900 : t)),
    )
    assert.deepEqual(
      iv.map((i) => i.t),
      [0, 30, 60, 90],
    )
    assert.equal(iv[0]!.rssMeanBytes, 15 * MiB) // t = 1 … 29
    assert.equal(iv[1]!.rssMeanBytes, 44.5 * MiB) // t = 30 … 59
    assert.equal(iv[1]!.worstP99Ms, 900)
    assert.equal(iv[2]!.worstP99Ms, 89)
  })

  test('report.md has a drift section when result.json has drift', () => {
    const d = driftOf(
      samples(200, () => 300 * MiB),
      points(200, () => 50),
      20,
    )!
    const r = {
      runId: 'r',
      profile: 'soak',
      seed: 1,
      startedAt: '',
      finishedAt: '',
      verdict: 'pass',
      environment: {
        broker: 'b',
        database: 'd',
        storage: 'postgresql',
        serverVersion: '15',
        node: 'v20',
        cpus: 2,
        platform: 'linux',
        mqttVersion: 5,
      },
      properties: [],
      rates: { offeredPerS: 1, achievedPerS: 1, achievedCounts: 'acknowledged', publishedPerS: 1, loadSeconds: 1 },
      counts: {
        devices: 1,
        perDevice: 1,
        offered: 1,
        published: 1,
        acked: 1,
        received: 1,
        ingested: 1,
        deadLetters: 0,
        batches: 1,
        dbRetries: 0,
        duplicatesSkipped: 0,
      },
      latency: {},
      deadLetterReasons: {},
      drift: d,
    } as unknown as RunResult
    const md = renderMarkdown(r)
    assert.match(md, /## Drift \(soak\)/)
    assert.match(md, /\| RSS \(process\) \| 181 \| 0\.0 MiB \| 300\.0 MiB \| 300\.0 MiB \| 0 % \|/)
  })
})

describe('per-thread drift', () => {
  // main and ingest-0 hold flat; ingest-1's WebAssembly memory (inside its external memory) creeps 0.05 MiB/s; RSS carries it plus 10 MiB of slack.
  const threadsAt = (t: number): Record<string, ThreadMemory> => ({
    main: { heap: 40 * MiB, external: 5 * MiB, arrayBuffers: 2 * MiB, wasm: MiB },
    'ingest-0': { heap: 30 * MiB + (t % 10) * MiB, external: 8 * MiB, arrayBuffers: 4 * MiB, wasm: 2 * MiB },
    'ingest-1': { heap: 30 * MiB, external: 8 * MiB + t * 0.05 * MiB, arrayBuffers: 4 * MiB, wasm: 2 * MiB + t * 0.05 * MiB },
    oracle: { heap: 20 * MiB, external: MiB, arrayBuffers: 0, wasm: 0 },
  })
  const sampled = (seconds: number): readonly MemorySample[] => {
    let t = 0
    const sampler = new MemorySampler(
      () => Object.values(threadsAt(t)).reduce((n, m) => n + m.heap + m.external, 10 * MiB),
      () => threadsAt(t),
      1,
    )
    for (t = 1; t <= seconds; t++) sampler.sample(t, 'load')
    return sampler.all()
  }

  test('a creep names its thread and kind of memory; flat threads and the slack outside them stay flat', () => {
    const d = driftOf(sampled(600), [], 60)!
    assert.ok(Math.abs(d.heap.fittedStart - 124.5 * MiB) < 0.1 * MiB, `heap summed over the threads: ${d.heap.fittedStart / MiB} MiB`)
    const top = d.threads
      .slice(0, 2)
      .map((x) => `${x.thread} ${x.kind}`)
      .sort()
    assert.deepEqual(top, ['ingest-1 external', 'ingest-1 wasm'])
    assert.ok(Math.abs(d.threads[0]!.series.slopePerHour - 180 * MiB) < MiB, `${d.threads[0]!.series.slopePerHour / MiB} MiB/h`)
    for (const x of d.threads.slice(2))
      assert.ok(Math.abs(x.series.slopePerHour) < MiB, `${x.thread} ${x.kind}: ${x.series.slopePerHour / MiB} MiB/h`)
    const outside = d.threads.find((x) => x.thread === UNACCOUNTED)!
    assert.equal(outside.series.fittedStart, 10 * MiB)
    assert.equal(
      d.threads.some((x) => x.thread === 'oracle' && x.kind === 'wasm'),
      false,
      'a thread without histograms has no WebAssembly line',
    )
    const md = driftMarkdown(d).join('\n')
    assert.match(md, /\| ingest-1 \| (wasm|external) \| 180\.0 MiB \|/)
  })

  test('30 s intervals carry the mean memory of each thread', () => {
    const iv = intervalsOf(sampled(90), [])
    assert.equal(iv[1]!.threads!['ingest-1']!.wasm, Math.round(2 * MiB + 44.5 * 0.05 * MiB)) // t = 30 … 59
    assert.equal(iv[1]!.threads!.main!.heap, 40 * MiB)
  })

  test('the breakdown is kept once every 10 s (the RSS and heap every second), and still names the creep', () => {
    let t = 0
    const sampler = new MemorySampler(
      () => 400 * MiB,
      () => threadsAt(t),
    )
    for (t = 1; t <= 600; t++) sampler.sample(t, 'load')
    const all = sampler.all()
    assert.equal(all.length, 600)
    assert.equal(all.filter((m) => m.threads).length, 61) // t = 1, 10, 20, … 600
    const d = driftOf(all, [], 60)!
    assert.equal(d.rss.samples, 541)
    assert.deepEqual(
      d.threads
        .slice(0, 2)
        .map((x) => `${x.thread} ${x.kind}`)
        .sort(),
      ['ingest-1 external', 'ingest-1 wasm'],
    )
    assert.equal(d.threads[0]!.series.samples, 55) // t = 60, 70, … 600
  })
})
