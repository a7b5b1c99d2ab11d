/**
 * Item 2 of issue 20: a run leaves no persistent session on a broker it does not own, with MQTT 3.1.1
 * too (where ending a session takes a clean connect with the same client id). Probed the way a broker
 * shows it: a clean-session-0 connect with each client id of the run gets sessionPresent 0.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqtt from 'mqtt'
import { runClientIds, sessionPresent } from '../support/sessions.js'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

describe('a run leaves no MQTT session behind', () => {
  test('the probe sees a session that was left', async (t) => {
    const url = await requireService(t, 'mqtt')
    if (!url) return
    const id = uniqueName('left')
    const c = await mqtt.connectAsync(url, { clientId: id, clean: false, protocolVersion: 4, reconnectPeriod: 0 })
    await c.subscribeAsync(`${id}/#`, { qos: 1 })
    await c.endAsync()
    assert.equal(await sessionPresent(url, id), true)
    assert.equal(await sessionPresent(url, id), false, 'and the probe cleans up after itself')
  })

  test('MQTT 3.1.1 run against Mosquitto: ingest and simulator sessions are gone afterwards', async (t) => {
    const db = await requireService(t, 'database')
    const url = await requireService(t, 'mqtt')
    if (!db || !url) return
    const results = tempResultsDir()
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      ...SHORT_RUN,
      '--mqtt-url',
      url,
      '--mqtt-protocol',
      '4',
      '--database-url',
      db,
      '--db-schema',
      uniqueName('sess'),
      '--topic-prefix',
      `${uniqueName('sess')}/`,
      '--results-dir',
      results,
    ])
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const result = readResult(results, runIdFrom(r.stdout))
    assert.equal(result.environment.mqttVersion, 4)
    for (const id of runClientIds(result)) assert.equal(await sessionPresent(url, id), false, `${id} left a session`)
  })
})
