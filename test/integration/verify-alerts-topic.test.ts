import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqtt from 'mqtt'
import pg from 'pg'
import { readResult, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'

describe('alerts on the wire and in the table', () => {
  test('every raise is in the alerts table with its reading and published once on farm/{farm}/alerts', async (t) => {
    const db = await requireService(t, 'database')
    const broker = await requireService(t, 'mqtt')
    if (!db || !broker) return
    const results = tempResultsDir()
    const schema = uniqueName('alerts')
    const prefix = `${uniqueName('al')}/`
    const listener = await mqtt.connectAsync(broker, { clientId: uniqueName('listen'), protocolVersion: 4 })
    const heard: Array<{ topic: string; device: string; rule: string; seq: number }> = []
    listener.on('message', (topic, payload) => {
      const m = JSON.parse(payload.toString()) as { device: string; rule: string; seq: number }
      heard.push({ topic, device: m.device, rule: m.rule, seq: m.seq })
    })
    await listener.subscribeAsync(`${prefix}farm/+/alerts`, { qos: 0 })
    try {
      const r = await runCli([
        'run',
        '--profile',
        'ci',
        '--duration',
        '8',
        '--rate',
        '1500',
        '--progress',
        'plain',
        '--mqtt-url',
        broker,
        '--database-url',
        db,
        '--db-schema',
        schema,
        '--topic-prefix',
        prefix,
        '--results-dir',
        results,
      ])
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
      const result = readResult(results, runIdFrom(r.stdout))
      const p5 = result.properties.find((p: { id: string }) => p.id === 'P5')
      assert.ok(p5.evidence.counts.raised > 0, 'the run raised alerts')
      const deadline = Date.now() + 5000
      while (heard.length < p5.evidence.counts.raised && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50))
      const client = new pg.Client({ connectionString: db })
      await client.connect()
      try {
        const rows = await client.query<{ device: string; rule: string; seq: number; farm: string; reading: Record<string, unknown> }>(
          `SELECT device, rule, seq, farm, reading FROM "${schema}".alerts WHERE run_id = $1 AND event = 'raise' ORDER BY device, rule, seq`,
          [result.dbRunId],
        )
        assert.equal(rows.rows.length, p5.evidence.counts.raised)
        for (const a of rows.rows) {
          assert.equal(a.device.split('-')[0], a.farm)
          assert.ok(Object.keys(a.reading).length > 0, 'the triggering reading is stored with the alert')
        }
        const key = (x: { device: string; rule: string; seq: number }): string => `${x.device}/${x.rule}/${x.seq}`
        assert.deepEqual(heard.map(key).sort(), rows.rows.map(key).sort(), 'published exactly the stored raises')
        for (const h of heard) assert.equal(h.topic, `${prefix}farm/${h.device.split('-')[0]}/alerts`)
        const state = await client.query(`SELECT count(*)::int AS n FROM "${schema}".alert_state WHERE run_id = $1`, [result.dbRunId])
        assert.equal(state.rows[0].n, result.counts.devices, 'every device has its rule state snapshotted')
      } finally {
        await client.end()
      }
    } finally {
      await listener.endAsync()
    }
  })
})
