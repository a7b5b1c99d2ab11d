import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

// The same run against Debian's Mosquitto and PostgreSQL (.ci/run starts both): the same verdict.
describe('iotbench run against Mosquitto and PostgreSQL', () => {
  test('passes every property with MQTT 5 and an external database', async (t) => {
    const db = await requireService(t, 'database')
    const mqtt = await requireService(t, 'mqtt')
    if (!db || !mqtt) return
    const results = tempResultsDir()
    const prefix = `${uniqueName('it')}/`
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      ...SHORT_RUN,
      '--mqtt-url',
      mqtt,
      '--database-url',
      db,
      '--db-schema',
      uniqueName('real'),
      '--topic-prefix',
      prefix,
      '--results-dir',
      results,
    ])
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    assert.equal(result.verdict, 'pass')
    assert.equal(result.environment.mqttVersion, 5, 'Mosquitto 2 speaks MQTT 5: the subscriber uses Receive Maximum')
    assert.equal(result.environment.storage, 'postgresql')
    assert.equal(result.counts.ingested, result.counts.offered)
    assert.doesNotMatch(JSON.stringify(result), /postgres:postgres@/, 'the database password is redacted')
  })

  test('MQTT 3.1.1 subscriber against Mosquitto passes too', async (t) => {
    const db = await requireService(t, 'database')
    const mqtt = await requireService(t, 'mqtt')
    if (!db || !mqtt) return
    const results = tempResultsDir()
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      ...SHORT_RUN,
      '--mqtt-url',
      mqtt,
      '--mqtt-protocol',
      '4',
      '--database-url',
      db,
      '--db-schema',
      uniqueName('real4'),
      '--topic-prefix',
      `${uniqueName('it4')}/`,
      '--results-dir',
      results,
    ])
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.equal(readResult(results, runIdFrom(r.stdout)).environment.mqttVersion, 4)
  })
})
