import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { resolveConfig } from '../../src/config/resolve.js'
import { ConfigError } from '../../src/errors.js'
import { BRIDGE_ACKS, BRIDGE_PRODUCER } from '../../src/transport/kafka/bridge.js'

describe('--transport kafka', () => {
  test('resolves with --kafka-url; without it, and with more consumers than partitions, every problem at once', () => {
    const ok = resolveConfig({
      profile: 'ci',
      env: {},
      flags: { transport: 'kafka', kafkaUrl: 'kafka://127.0.0.1:19092', ingestWorkers: '6', farms: '4' },
    })
    assert.equal(ok.transport, 'kafka')
    assert.equal(ok.kafkaPartitions, 12)
    assert.equal(ok.ingestWorkers, 6, 'consumers are not bound to farms')
    try {
      resolveConfig({ profile: 'ci', env: { IOTBENCH_TRANSPORT: 'kafka' }, flags: { kafkaPartitions: '2', ingestWorkers: '3' } })
      assert.fail('expected a ConfigError')
    } catch (err) {
      assert.ok(err instanceof ConfigError)
      const text = err.problems.join('\n')
      assert.match(text, /--transport kafka needs --kafka-url/)
      assert.match(text, /ingest-workers \(3\) must be ≤ kafka-partitions \(2\)/)
    }
    assert.throws(() => resolveConfig({ profile: 'ci', env: {}, flags: { transport: 'kafka', kafkaUrl: 'http://x:1' } }), /must use kafka:/)
  })

  test('the bridge producer is idempotent, waits for all in-sync replicas and keeps one request in flight', () => {
    assert.equal(BRIDGE_PRODUCER.idempotent, true)
    assert.equal(BRIDGE_ACKS, -1)
    assert.equal(BRIDGE_PRODUCER.maxInFlightRequests, 1)
  })
})
