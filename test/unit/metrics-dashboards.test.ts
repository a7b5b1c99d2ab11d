import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { workerNeed } from '../../src/db/server.js'
import { METRICS } from '../../src/metrics/catalog.js'
import { ROOT } from '../support/cli.js'
import { dashboards, targets } from '../support/dashboards.js'

const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8')
const KNOWN = new Set(
  Object.values(METRICS).flatMap((m) => (m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])),
)
const PROCESS = new Set(['process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds'])

describe('dashboards and the compose stack', () => {
  test('two dashboards with unique uids, titled panels, unique ids and a place on the grid', () => {
    const ds = dashboards()
    assert.deepEqual(ds.map((d) => d.json.uid).sort(), ['iotbench-farms', 'iotbench-run'])
    for (const { file, json } of ds) {
      const ids = json.panels.map((p) => p.id)
      assert.equal(new Set(ids).size, ids.length, `${file}: panel ids unique`)
      for (const p of json.panels) {
        assert.ok(p.title, `${file}: a panel without a title`)
        assert.ok(p.gridPos, `${file}: ${p.title} has no gridPos`)
      }
    }
  })

  test('every query names a provisioned datasource and the right language', () => {
    const provisioned = read('dashboards/grafana/provisioning/datasources/iotbench.yaml')
    for (const uid of ['iotbench-prometheus', 'iotbench-timescaledb']) assert.match(provisioned, new RegExp(`uid: ${uid}`))
    for (const t of targets()) {
      if (t.datasource === 'iotbench-prometheus') assert.ok(t.expr, `${t.panel}: PromQL`)
      else if (t.datasource === 'iotbench-timescaledb') assert.ok(t.rawSql, `${t.panel}: SQL`)
      else assert.fail(`${t.dashboard} / ${t.panel}: unknown datasource ${t.datasource}`)
    }
  })

  test('PromQL reads only metrics the bench exposes', () => {
    for (const t of targets().filter((x) => x.expr)) {
      const names = t.expr!.match(/\b(iotbench_[a-z_]+|process_[a-z_]+|nodejs_[a-z_0-9]+)\b/g) ?? []
      assert.ok(names.length > 0, `${t.panel}: reads no metric`)
      for (const n of names) assert.ok(KNOWN.has(n) || PROCESS.has(n), `${t.panel}: unknown metric ${n}`)
    }
  })

  test('the farm dashboard reads the 1-minute aggregates of one run and farm', () => {
    const sql = targets().filter((x) => x.rawSql)
    assert.ok(sql.length >= 8)
    for (const t of sql) {
      assert.match(t.rawSql!, /iotbench\.(collar|milk|chiller)_1m/, t.panel)
      assert.match(t.rawSql!, /r\.name = '\$\{run\}'/, t.panel)
      assert.match(t.rawSql!, /\$__timeFilter\(/, t.panel)
    }
  })

  test('every monitored area has a panel: throughput, latency, loss, lag, alerts, database, memory', () => {
    const text = JSON.stringify(dashboards().find((d) => d.json.uid === 'iotbench-run')!.json)
    for (const m of [
      'iotbench_readings_ingested_total',
      'iotbench_end_to_end_latency_seconds_bucket',
      'iotbench_ingest_lag_seconds',
      'iotbench_readings_dead_lettered_total',
      'iotbench_alerts_total',
      'iotbench_ingest_copy_seconds_bucket',
      'iotbench_ingest_batch_rows',
      'iotbench_broker_connections',
      'iotbench_property_status',
      'process_resident_memory_bytes',
      'iotbench_thread_event_loop_lag_seconds',
    ]) {
      assert.ok(text.includes(m), m)
    }
  })

  test('docker-compose.yml pins every image and mounts the provisioning; Mosquitto’s queue limit is deliberate', () => {
    const compose = read('docker-compose.yml')
    const images = [...compose.matchAll(/^\s+image:\s*(\S+)/gm)].map((m) => m[1]!)
    assert.deepEqual(
      images.map((i) => i.split(':')[0]),
      ['timescale/timescaledb', 'eclipse-mosquitto', 'apache/kafka', 'prom/prometheus', 'grafana/grafana-oss'],
    )
    for (const i of images) assert.match(i, /:\S*\d+\.\d+/, `${i} is pinned to a version`)
    assert.doesNotMatch(compose, /:latest\b/)
    assert.match(compose, /KAFKA_PROCESS_ROLES: broker,controller/)
    // TimescaleDB gets the background workers the bench's policy jobs need (src/db/server.ts decides the same).
    const setting = (name: string): number => Number(new RegExp(`"${name.replace('.', '\\.')}=(\\d+)"`).exec(compose)?.[1])
    const need = workerNeed(9)
    assert.ok(setting('timescaledb.max_background_workers') >= need.timescaledbWorkers)
    assert.ok(
      setting('max_worker_processes') >= 3 + setting('timescaledb.max_background_workers') + setting('max_parallel_workers'),
      'max_worker_processes = 3 + background + parallel workers',
    )
    assert.match(compose, /\.\/dashboards\/grafana\/provisioning:\/etc\/grafana\/provisioning/)
    assert.match(compose, /host\.docker\.internal:host-gateway/)
    const mosquitto = read('infra/mosquitto/mosquitto-compose.conf')
    assert.match(mosquitto, /^max_queued_messages \d+/m)
    assert.match(mosquitto, /SILENTLY/)
    assert.match(read('infra/prometheus/prometheus-compose.yml'), /host\.docker\.internal:9464/)
  })
})
