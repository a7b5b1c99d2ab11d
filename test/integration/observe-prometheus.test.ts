import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir } from '../support/cli.js'
import { dashboards, promql, targets } from '../support/dashboards.js'
import { freePort } from '../../src/util/net.js'
import { pollUntil, queryRange, requirePrometheus, startPrometheus } from '../support/prometheus.js'
import { requireService, uniqueName } from '../support/services.js'

const THREADS = ['main', 'sim-0', 'ingest-0', 'ingest-1', 'broker']

// A real Prometheus scrapes a real run; every query the dashboards hold must return data, so a
// panel that would stay empty fails here. The SQL panels run against the run's own database.
test('Prometheus scrapes a run and every dashboard query returns data', async (t) => {
  const binary = requirePrometheus(t)
  if (!binary) return
  const databaseUrl = await requireService(t, 'database')
  if (!databaseUrl) return
  const metricsPort = await freePort()
  const prometheus = await startPrometheus(binary, [`127.0.0.1:${metricsPort}`])
  const schema = uniqueName('observe')
  const results = tempResultsDir()
  const db = new pg.Client({ connectionString: databaseUrl })
  let connected = false
  try {
    const startS = Math.floor(Date.now() / 1000) - 2
    const run = runCli(
      [
        'run',
        '--profile',
        'ci',
        ...SHORT_RUN,
        '--database-url',
        databaseUrl,
        '--db-schema',
        schema,
        '--results-dir',
        results,
        '--metrics-port',
        String(metricsPort),
        '--metrics-linger',
        '4',
      ],
      {},
      150_000,
    )
    // Live: while the load runs, /metrics already counts readings (all threads aggregated).
    let running = true
    void run.finally(() => (running = false))
    const live = await pollUntil('live metrics during the load', 60_000, async () => {
      if (!running) throw new Error('the run ended before live metrics were seen')
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(3000) })).text()
      const published = /^iotbench_readings_published_total\{kind="collar"\} (\d+)/m.exec(text)
      // Threads report on their own clocks (sim every 250 ms, ingest and broker every second): wait
      // until every thread has reported once, rather than judging the first sample.
      const threadsReported = THREADS.every((thread) =>
        new RegExp(`^iotbench_thread_heap_used_bytes\\{thread="${thread}"\\} \\d+`, 'm').test(text),
      )
      return /^iotbench_run_phase\{phase="load"\} 1$/m.test(text) && published && Number(published[1]) > 0 && threadsReported
        ? text
        : undefined
    })
    assert.match(live, /^iotbench_broker_connections\{side="ingest"\} 2$/m, 'both ingest threads connected')
    for (const thread of THREADS) {
      assert.match(live, new RegExp(`^iotbench_thread_heap_used_bytes\\{thread="${thread}"\\} \\d+`, 'm'), `memory of thread ${thread}`)
      assert.match(
        live,
        new RegExp(`^iotbench_thread_event_loop_lag_seconds\\{thread="${thread}"\\} `, 'm'),
        `event-loop lag of thread ${thread}`,
      )
    }
    assert.match(live, /^iotbench_broker_clients [1-9]/m, 'the embedded broker counts its clients')
    assert.match(live, /^process_resident_memory_bytes \d+/m, 'process memory from prom-client')

    const r = await run
    assert.ok(r.code === 0 || r.code === 3, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const runId = runIdFrom(r.stdout)
    const result = readResult(results, runId)
    const endS = Math.ceil(Date.now() / 1000) + 1

    // The final values (scraped during --metrics-linger) equal the run's own counts: nothing lost, nothing twice.
    const last = async (expr: string): Promise<number> => {
      const s = await queryRange(prometheus.url, expr, startS, endS)
      return s[0]?.values.at(-1) ?? NaN
    }
    await pollUntil('final property status scraped', 20_000, async () =>
      (await queryRange(prometheus.url, 'iotbench_property_status', startS, endS)).length > 0 ? true : undefined,
    )
    assert.equal(await last('sum(iotbench_readings_published_total)'), result.counts.published)
    assert.equal(await last('sum(iotbench_readings_acked_total)'), result.counts.acked)
    assert.equal(await last('sum(iotbench_readings_ingested_total)'), result.counts.ingested)
    assert.equal(await last('sum(iotbench_readings_dead_lettered_total)'), result.counts.deadLetters)
    assert.equal(await last('sum(iotbench_end_to_end_latency_seconds_count)'), result.latency.endToEnd.count)
    assert.equal(await last('sum(iotbench_ingest_batches_total)'), result.counts.batches)

    const all = targets()
    const prom = all.filter((x) => x.expr !== undefined)
    assert.ok(prom.length >= 20, `dashboards hold ${prom.length} PromQL queries`)
    const empty: string[] = []
    for (const x of prom) {
      const series = await queryRange(prometheus.url, promql(x.expr!), startS, endS).catch(
        (err: unknown) => (empty.push(`${x.dashboard} / ${x.panel} / ${x.refId}: ${String(err)}`), undefined),
      )
      if (series && series.length === 0) empty.push(`${x.dashboard} / ${x.panel} / ${x.refId}: no data for ${x.expr}`)
    }
    assert.deepEqual(empty, [], `panels that would stay empty:\n${empty.join('\n')}\nprometheus: ${prometheus.output()}`)

    // SQL panels (sensor values per farm) against the run's database: the same queries, Grafana's macros filled in.
    await db.connect()
    connected = true
    const fill = (q: string, farms: readonly string[]): string =>
      q
        .replace(/\biotbench\./g, `${schema}.`)
        .replace(/\$\{run\}/g, runId)
        .replace(/\$\{farm:sqlstring\}/g, farms.map((f) => `'${f}'`).join(','))
        .replace(/\$__timeFilter\(([^)]+)\)/g, 'TRUE')
    // The dashboard's variables first: the run picker lists this run, the farm picker its farms.
    const variables = dashboards().flatMap((d) => d.json.templating?.list ?? [])
    const runVar = variables.find((v) => v.name === 'run')!
    const farmVar = variables.find((v) => v.name === 'farm')!
    const runs = (await db.query<{ name: string }>(fill(runVar.query!, []))).rows.map((x) => Object.values(x)[0])
    assert.ok(runs.includes(runId), 'the run variable lists the run')
    const farms = (await db.query(fill(farmVar.query!, []))).rows.map((x: Record<string, string>) => Object.values(x)[0]!)
    assert.deepEqual(farms, ['farm01', 'farm02', 'farm03', 'farm04'])
    const sql = (q: string): string => fill(q, farms)
    const sqlTargets = all.filter((x) => x.rawSql !== undefined)
    assert.ok(sqlTargets.length >= 8, `dashboards hold ${sqlTargets.length} SQL queries`)
    const emptySql: string[] = []
    for (const x of sqlTargets) {
      const rows = await db.query(sql(x.rawSql!)).then(
        (res) => res.rowCount ?? 0,
        (err: unknown) => (emptySql.push(`${x.panel}: ${String(err)}`), -1),
      )
      if (rows === 0) emptySql.push(`${x.panel}: no rows`)
    }
    assert.deepEqual(emptySql, [])
  } finally {
    // A pg client that never connected queues queries forever: only clean up through a live one.
    if (connected) {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
      await db.end().catch(() => undefined)
    }
    await prometheus.stop()
  }
})
