import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ConfigError } from '../../src/errors.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { publicConfig } from '../../src/run.js'
import { databaseTlsChecks, databaseUrlOf, pgConnectionString } from '../../src/db/tls.js'
import { brokerError, credentialsOf, mqttSecurityOf } from '../../src/transport/mqtt-options.js'

describe('MQTT security options', () => {
  test('credentials: the flags’ win over the URL’s, both percent-decoded', () => {
    assert.deepEqual(credentialsOf('mqtt://u%40x:p%3Aw@h:1883', undefined), { username: 'u@x', password: Buffer.from('p:w') })
    assert.deepEqual(credentialsOf('mqtt://u:p@h', { username: 'v', password: 'q' }), { username: 'v', password: Buffer.from('q') })
    assert.deepEqual(credentialsOf('mqtt://h', undefined), {})
    assert.deepEqual(mqttSecurityOf({ mqttUrl: 'mqtts://a:b@h', mqttPassword: 'c' }), { username: 'a', password: 'c' })
  })

  test('IOTBENCH_MQTT_PASSWORD resolves like any option and never reaches the public config', () => {
    const cfg = resolveConfig({
      profile: 'ci',
      env: { IOTBENCH_MQTT_PASSWORD: 'hunter2' },
      flags: { mqttUrl: 'mqtt://bench@127.0.0.1:1884' },
    })
    assert.equal(cfg.mqttPassword, 'hunter2')
    const shown = JSON.stringify(publicConfig(cfg))
    assert.ok(!shown.includes('hunter2'))
    assert.match(shown, /"mqttPassword":"\*\*\*"/)
  })

  test('every TLS and credential problem at once (exit 4)', () => {
    try {
      resolveConfig({
        profile: 'ci',
        env: {},
        flags: { mqttCert: '/nonexistent/c.pem', mqttPassword: 'x', databaseCa: '/nonexistent/ca.pem' },
      })
      assert.fail('expected a ConfigError')
    } catch (err) {
      assert.ok(err instanceof ConfigError)
      const all = err.problems.join('\n')
      assert.match(all, /need a TLS broker URL/)
      assert.match(all, /--mqtt-cert and --mqtt-key go together/)
      assert.match(all, /--mqtt-cert \/nonexistent\/c\.pem cannot be read: ENOENT/)
      assert.match(all, /--mqtt-password needs a user name/)
      assert.match(all, /--database-ca needs --database-url/)
    }
  })

  test('errors: credentials, untrusted certificates and the rest say what to do, without the password', () => {
    const auth = brokerError('mqtts://u:***@h:8883', new Error('CONNACK refused with code 5 (not authorized)'), true)
    assert.match(auth.message, /refused the credentials/)
    assert.match(auth.hint, /IOTBENCH_MQTT_PASSWORD/)
    const tls = brokerError(
      'mqtts://h:8883',
      Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
      true,
    )
    assert.match(tls.message, /^TLS to the broker at mqtts:\/\/h:8883 failed/)
    assert.match(tls.hint, /--mqtt-ca FILE/)
    assert.match(
      brokerError('mqtt://h', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false).hint,
      /is the broker running/,
    )
  })
})

describe('database TLS options', () => {
  test('sslmode gets libpq’s meaning; URLs without sslmode are untouched', () => {
    assert.equal(new URL(pgConnectionString('postgres://h/db?sslmode=require')).searchParams.get('uselibpqcompat'), 'true')
    assert.equal(pgConnectionString('postgres://u:p@h/db'), 'postgres://u:p@h/db')
    assert.equal(pgConnectionString('postgres://h/db?sslmode=no-verify'), 'postgres://h/db?sslmode=no-verify')
  })

  test('--database-ca becomes sslrootcert, verify-full unless the URL chose a mode', () => {
    const a = new URL(databaseUrlOf({ databaseUrl: 'postgres://h/db', databaseCa: '/ca.pem' })!)
    assert.equal(a.searchParams.get('sslrootcert'), '/ca.pem')
    assert.equal(a.searchParams.get('sslmode'), 'verify-full')
    assert.equal(
      new URL(databaseUrlOf({ databaseUrl: 'postgres://h/db?sslmode=verify-ca', databaseCa: '/ca.pem' })!).searchParams.get('sslmode'),
      'verify-ca',
    )
    assert.equal(databaseUrlOf({ databaseUrl: 'postgres://h/db', databaseCa: undefined }), 'postgres://h/db')
  })

  test('an unknown sslmode and a contradictory CA are reported together', () => {
    assert.deepEqual(databaseTlsChecks({ databaseUrl: 'postgres://h/db?sslmode=on' }), [
      'sslmode in --database-url must be one of disable, prefer, require, verify-ca, verify-full, no-verify (got "on")',
    ])
    assert.equal(databaseTlsChecks({ databaseUrl: 'postgres://h/db?sslmode=disable', databaseCa: '/nonexistent' }).length, 2)
  })
})
