import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Registry, register as globalRegistry } from 'prom-client'
import { LATENCY_BUCKETS, METRICS } from '../../src/metrics/catalog.js'
import { MetricsHub } from '../../src/metrics/hub.js'
import { kindOfTopic } from '../../src/metrics/ingest-metrics.js'
import { RunMetrics } from '../../src/metrics/run-metrics.js'
import { ThreadMetrics } from '../../src/metrics/thread-metrics.js'
import { initHistograms } from '../../src/util/histogram.js'

const line = (text: string, series: string): number | undefined => {
  const m = new RegExp(`^${series.replace(/[{}"+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

describe('metrics aggregation across threads', () => {
  test('counters sum the latest snapshot of every thread; a repeated snapshot counts once', async () => {
    const a = new ThreadMetrics()
    const b = new ThreadMetrics()
    a.counter('published', 'collar').value += 5
    b.counter('published', 'collar').value += 7
    b.counter('published', 'milk').value += 2
    const hub = new MetricsHub()
    const reg = new Registry()
    hub.register(reg)
    hub.update('sim-0', a.snapshot())
    hub.update('sim-1', b.snapshot())
    hub.update('sim-1', b.snapshot()) // the same cumulative snapshot twice
    let text = await reg.metrics()
    assert.equal(line(text, 'iotbench_readings_published_total{kind="collar"}'), 12)
    assert.equal(line(text, 'iotbench_readings_published_total{kind="milk"}'), 2)
    a.counter('published', 'collar').value += 1
    hub.update('sim-0', a.snapshot())
    text = await reg.metrics()
    assert.equal(line(text, 'iotbench_readings_published_total{kind="collar"}'), 13)
  })

  test('histograms merge bucket by bucket and are exposed cumulative, with sum and count', async () => {
    const a = new ThreadMetrics()
    const b = new ThreadMetrics()
    for (const v of [0.0005, 0.02, 0.02, 3]) a.histogram('endToEnd').observe(v)
    for (const v of [0.02, 100]) b.histogram('endToEnd').observe(v)
    const hub = new MetricsHub()
    const reg = new Registry()
    hub.register(reg)
    hub.update('ingest-0', a.snapshot())
    hub.update('ingest-1', b.snapshot())
    const text = await reg.metrics()
    const n = METRICS.endToEnd.name
    assert.equal(line(text, `${n}_bucket{le="0.001"}`), 1)
    assert.equal(line(text, `${n}_bucket{le="0.025"}`), 4)
    assert.equal(line(text, `${n}_bucket{le="5"}`), 5)
    assert.equal(line(text, `${n}_bucket{le="60"}`), 5)
    assert.equal(line(text, `${n}_bucket{le="+Inf"}`), 6)
    assert.equal(line(text, `${n}_count`), 6)
    assert.ok(Math.abs(line(text, `${n}_sum`)! - 103.0605) < 1e-9)
    assert.equal([...text.matchAll(new RegExp(`^${n}_bucket`, 'gm'))].length, LATENCY_BUCKETS.length + 1)
  })

  test('a finished thread keeps its counts but not its per-thread gauges', async () => {
    const a = new ThreadMetrics()
    a.counter('ingested', 'chiller').value = 9
    a.gauge('ingestLag').value = 0.5
    const hub = new MetricsHub()
    const reg = new Registry()
    hub.register(reg)
    hub.update('ingest-0', a.snapshot())
    assert.equal(line(await reg.metrics(), 'iotbench_ingest_lag_seconds{thread="ingest-0"}'), 0.5)
    hub.finish('ingest-0')
    const text = await reg.metrics()
    assert.equal(line(text, 'iotbench_ingest_lag_seconds{thread="ingest-0"}'), undefined)
    assert.equal(line(text, 'iotbench_readings_ingested_total{kind="chiller"}'), 9)
  })

  test('label values must match the catalogue', () => {
    const m = new ThreadMetrics()
    assert.throws(() => m.counter('published'), /takes 1 label value/)
    assert.throws(() => m.counter('received', 'x'), /takes 0 label value/)
  })

  test('the run registry is injected: nothing lands in prom-client’s global registry', async () => {
    await initHistograms()
    const before = (await globalRegistry.getMetricsAsJSON()).length
    const run = new RunMetrics()
    const reg = run.registry
    run.setPhase('load')
    run.declareAlertRules(['fever', 'mastitis'])
    run.setProperties([
      { id: 'P1', name: 'completeness', pass: true },
      { id: 'P4', name: 'latency', pass: false },
    ])
    const text = await reg.metrics()
    assert.equal(line(text, 'iotbench_run_phase{phase="load"}'), 1)
    assert.equal(line(text, 'iotbench_run_phase{phase="setup"}'), 0)
    assert.equal(line(text, 'iotbench_alerts_total{rule="fever"}'), 0, 'declared rules show 0, not no data')
    assert.equal(line(text, 'iotbench_property_status{property="P4",name="latency"}'), 0)
    assert.match(text, /^process_resident_memory_bytes \d+/m)
    assert.match(text, /^iotbench_thread_heap_used_bytes\{thread="main"\} \d+/m)
    assert.equal((await globalRegistry.getMetricsAsJSON()).length, before)
    await run.close()
  })

  test('the timeline takes one point a second from the threads’ totals and merged latencies', async () => {
    await initHistograms()
    const run = new RunMetrics(new Registry())
    const sim = new ThreadMetrics()
    sim.counter('offered', 'collar').value = 10
    sim.counter('published', 'collar').value = 10
    run.update('sim-0', sim.snapshot())
    const p = run.tick(1)
    assert.equal(p.offered, 10)
    assert.equal(p.sent, 10)
    assert.equal(p.latencyCount, 0)
    const ingest = new ThreadMetrics()
    ingest.counter('alerts', 'fever').value = 2
    ingest.counter('deadLettered', 'unknown', 'bad-topic').value = 1
    run.update('ingest-0', ingest.snapshot())
    run.tick(2)
    const { timeline, countsByKind } = run.results({ spikes: [{ atSeconds: 1, seconds: 2, multiplier: 3 }] })
    assert.equal(timeline.points.length, 2)
    assert.deepEqual(
      timeline.events.map((e) => [e.t, e.type, e.name, e.count]),
      [
        [1, 'spike', 'rate × 3', 1],
        [2, 'alert', 'fever', 2],
        [2, 'dead-letter', 'bad-topic', 1],
      ],
    )
    assert.equal(countsByKind.collar!.published, 10)
    assert.equal(countsByKind.unknown!.deadLetters, 1)
    await run.close()
  })

  test('serves /metrics on loopback and closes', async () => {
    const run = new RunMetrics(new Registry())
    const url = await run.serve('127.0.0.1', 0)
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    const res = await fetch(url)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    assert.match(await res.text(), /# TYPE iotbench_readings_ingested_total counter/)
    assert.equal((await fetch(url.replace('/metrics', '/nope'))).status, 404)
    await run.close()
    await assert.rejects(fetch(url))
  })

  test('the kind of a dead letter comes from its topic', () => {
    assert.equal(kindOfTopic('farm/farm01/milk/farm01-milk-0001/telemetry', ''), 'milk')
    assert.equal(kindOfTopic('p/farm/farm01/collar/x/telemetry', 'p/'), 'collar')
    assert.equal(kindOfTopic('farm/farm01/goat/x/telemetry', ''), 'unknown')
    assert.equal(kindOfTopic('nonsense', ''), 'unknown')
  })
})
