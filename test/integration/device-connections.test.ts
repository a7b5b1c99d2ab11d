import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { readResult, runCli, runIdFrom, SHORT_RUN, TEST_EMBEDDED, tempResultsDir } from '../support/cli.js'

/** The value of one series in a Prometheus text exposition. */
const gauge = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('--connections per-device', () => {
  test('260 devices on their own MQTT connections over two source addresses: every property holds', async () => {
    const results = tempResultsDir()
    let metricsUrl: string | undefined
    let peakSim = 0
    let peakBroker = 0
    let polling: Promise<void> | undefined
    const poll = async (): Promise<void> => {
      for (let i = 0; i < 200 && metricsUrl; i++) {
        const text = await fetch(metricsUrl)
          .then((r) => r.text())
          .catch(() => '')
        peakSim = Math.max(peakSim, gauge(text, 'iotbench_broker_connections{side="sim"}') ?? 0)
        peakBroker = Math.max(peakBroker, gauge(text, 'iotbench_broker_clients') ?? 0)
        if (peakSim >= 260 && peakBroker >= 260) return
        await new Promise((r) => setTimeout(r, 250))
      }
    }
    const r = await runCli(
      // The latency SLO is wide: this test is about delivery over one connection per device (P1–P3, P7),
      // and on the shared 2-core machine even the multiplexed ci run missed p99 ≤ 1 s at a load average of 20.
      [
        'run',
        '--profile',
        'ci',
        ...SHORT_RUN,
        '--slo-p99-ms',
        '20000',
        '--sim-workers',
        '2',
        '--connections',
        'per-device',
        '--source-addresses',
        '2',
        '--metrics-port',
        '0',
        '--results-dir',
        results,
        ...TEST_EMBEDDED,
      ],
      {},
      240_000,
      (stderr) => {
        const m = /metrics: (http:\/\/\S+)/.exec(stderr)
        if (m && !metricsUrl) {
          metricsUrl = m[1]!
          polling = poll()
        }
      },
    )
    await polling
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    assert.equal(result.verdict, 'pass')
    assert.equal(result.config.connections, 'per-device')
    assert.equal(result.counts.ingested, result.counts.offered)
    assert.equal(result.counts.devices, 260)
    // Every device held its own connection: the simulators' count and the broker's own count.
    assert.ok(peakSim >= 260, `the simulators held ${peakSim} connections, not one per device (260)`)
    assert.ok(peakBroker >= 260, `aedes counted ${peakBroker} clients`)
  })
})
