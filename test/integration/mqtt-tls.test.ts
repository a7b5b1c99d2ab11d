import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import mqtt from 'mqtt'
import { KafkaBridge } from '../../src/transport/kafka/bridge.js'
import { mqttJsOptions, mqttSecurityOf } from '../../src/transport/mqtt-options.js'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir } from '../support/cli.js'
import { requireService, testKafkaTopic, uniqueName } from '../support/services.js'
import { makePki, startTlsMosquitto, type Pki, type TlsBroker } from '../support/tls.js'

// Our own Mosquitto with a listener that requires TLS, a client certificate and a password: the whole
// pipeline (simulators, bad-input publisher, ingest subscriber, verifier) runs through it.
describe('MQTT over TLS with client certificates and a password', () => {
  let pki: Pki
  let broker: TlsBroker
  const password = `Pw-${uniqueName('mqtt')}`
  before(async () => {
    pki = makePki()
    broker = await startTlsMosquitto(pki, 'bench', password)
  })
  after(async () => {
    await broker?.stop()
    pki?.remove()
  })
  const tlsFlags = (): string[] => [
    '--mqtt-url',
    broker.url,
    '--mqtt-username',
    'bench',
    '--mqtt-ca',
    pki.caCert,
    '--mqtt-cert',
    pki.clientCert,
    '--mqtt-key',
    pki.clientKey,
  ]

  test('a ci-style run passes P1–P9 through mqtts:// with a client certificate', async (t) => {
    const db = await requireService(t, 'database')
    if (!db) return
    const results = tempResultsDir()
    const r = await runCli(
      [
        'run',
        '--profile',
        'ci',
        ...SHORT_RUN,
        ...tlsFlags(),
        '--database-url',
        db,
        '--db-schema',
        uniqueName('tls'),
        '--topic-prefix',
        `${uniqueName('tls')}/`,
        '--results-dir',
        results,
      ],
      { IOTBENCH_MQTT_PASSWORD: password },
    )
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    assert.deepEqual(
      result.properties.map((p: { id: string; pass: boolean }) => [p.id, p.pass]),
      ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9'].map((id) => [id, true]),
    )
    assert.equal(result.counts.ingested, result.counts.offered)
    assert.ok(result.counts.deadLetters > 0, 'the bad-input publisher got through TLS too (P7 has messages)')
    assert.equal(result.config.mqttPassword, '***', 'a password from the environment is redacted in the stored config')
    assert.ok(!JSON.stringify(result).includes(password))
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password))
  })

  test('a wrong password is one clear error, exit 5, and the password is not printed', async () => {
    const wrong = `Wrong-${uniqueName('pw')}`
    const r = await runCli(['run', ...SHORT_RUN, ...tlsFlags(), '--mqtt-password', wrong, '--topic-prefix', 'never/'], {}, 60_000)
    assert.equal(r.code, 5, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /refused the credentials.*(not authori[sz]ed|bad user name or password)/)
    assert.match(r.stderr, /IOTBENCH_MQTT_PASSWORD/, 'the hint says where the password comes from')
    assert.ok(!`${r.stdout}${r.stderr}`.includes(wrong), 'the wrong password is not echoed')
  })

  test('a password in the URL works the same and is redacted everywhere', async () => {
    const u = new URL(broker.url)
    u.username = 'bench'
    u.password = 'not-it'
    const r = await runCli(
      [
        'run',
        ...SHORT_RUN,
        '--mqtt-url',
        u.toString(),
        '--mqtt-ca',
        pki.caCert,
        '--mqtt-cert',
        pki.clientCert,
        '--mqtt-key',
        pki.clientKey,
      ],
      {},
      60_000,
    )
    assert.equal(r.code, 5, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /mqtts:\/\/bench:\*\*\*@127\.0\.0\.1/)
    assert.ok(!`${r.stdout}${r.stderr}`.includes('not-it'))
  })

  test('an untrusted server certificate is a clear error naming --mqtt-ca', async () => {
    const r = await runCli(
      [
        'run',
        ...SHORT_RUN,
        '--mqtt-url',
        broker.url,
        '--mqtt-username',
        'bench',
        '--mqtt-ca',
        pki.otherCaCert,
        '--mqtt-cert',
        pki.clientCert,
        '--mqtt-key',
        pki.clientKey,
      ],
      { IOTBENCH_MQTT_PASSWORD: password },
      60_000,
    )
    assert.equal(r.code, 5, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /TLS to the broker at mqtts:\/\/127\.0\.0\.1:\d+ failed: self[- ]signed certificate in certificate chain/)
    assert.match(r.stderr, /--mqtt-ca FILE/)
  })

  test('without a client certificate the broker refuses the connection: exit 5', async () => {
    const r = await runCli(
      ['run', ...SHORT_RUN, '--mqtt-url', broker.url, '--mqtt-username', 'bench', '--mqtt-ca', pki.caCert],
      { IOTBENCH_MQTT_PASSWORD: password },
      60_000,
    )
    assert.equal(r.code, 5, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /cannot connect to the broker at mqtts:\/\/127\.0\.0\.1:\d+/)
    assert.match(r.stderr, /--mqtt-cert/)
  })

  test('the Kafka bridge subscribes through TLS with the same security and moves every message', async (t) => {
    const kafkaUrl = await requireService(t, 'kafka')
    if (!kafkaUrl) return
    const prefix = `${uniqueName('kbtls')}/`
    const { brokers, kafkaTopic } = await testKafkaTopic(kafkaUrl, 'tls_telemetry', 2)
    const security = mqttSecurityOf({
      mqttUrl: broker.url,
      mqttUsername: 'bench',
      mqttPassword: password,
      mqttCa: pki.caCert,
      mqttCert: pki.clientCert,
      mqttKey: pki.clientKey,
    })
    const bridge = new KafkaBridge({
      mqttUrl: broker.url,
      mqttSecurity: security,
      mqttProtocol: 'auto',
      clientId: uniqueName('bridge'),
      filters: [`${prefix}farm/+/+/+/telemetry`],
      topicPrefix: prefix,
      brokers,
      kafkaTopic,
      maxBatch: 500,
      window: 5_000,
      log: () => undefined,
    })
    await bridge.start()
    const publisher = await mqtt.connectAsync(broker.url, { ...mqttJsOptions(security), clientId: uniqueName('pub'), protocolVersion: 4 })
    const n = 300
    for (let seq = 0; seq < n; seq++)
      await publisher.publishAsync(`${prefix}farm/farm01/collar/farm01-collar-0001/telemetry`, JSON.stringify({ seq }), { qos: 1 })
    await publisher.endAsync()
    const deadline = Date.now() + 30_000
    while (bridge.stats.acked < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    const stats = await bridge.stop()
    assert.equal(stats.received, n)
    assert.equal(stats.produced, n)
    assert.equal(stats.acked, n, 'acknowledged over TLS after Kafka had them')
  })

  test('the bridge checks the same credentials before it starts', async () => {
    const wrong = `Wrong-${uniqueName('pw')}`
    const r = await runCli(
      [
        'bridge',
        '--mqtt-url',
        broker.url,
        '--mqtt-username',
        'bench',
        '--mqtt-ca',
        pki.caCert,
        '--mqtt-cert',
        pki.clientCert,
        '--mqtt-key',
        pki.clientKey,
        '--kafka-brokers',
        '127.0.0.1:9',
      ],
      { IOTBENCH_MQTT_PASSWORD: wrong },
      60_000,
    )
    assert.equal(r.code, 5, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /refused the credentials/)
    assert.ok(!`${r.stdout}${r.stderr}`.includes(wrong))
  })

  test('TLS options without mqtts:// and a lone --mqtt-cert are configuration errors (exit 4), reported together', async () => {
    const r = await runCli(
      [
        'run',
        '--mqtt-url',
        'mqtt://127.0.0.1:1884',
        '--mqtt-ca',
        pki.caCert,
        '--mqtt-cert',
        pki.clientCert,
        '--mqtt-key',
        '/nonexistent/key.pem',
      ],
      {},
      30_000,
    )
    assert.equal(r.code, 4, `exit ${r.code}\n${r.stderr}`)
    assert.match(r.stderr, /need a TLS broker URL \(mqtts:/)
    assert.match(r.stderr, /--mqtt-key \/nonexistent\/key\.pem cannot be read: ENOENT/)
  })
})
