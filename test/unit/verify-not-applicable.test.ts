import assert from 'node:assert/strict'
import { test } from 'node:test'
import type pg from 'pg'
import { checkLive } from '../../src/verify/live-feed-check.js'
import { checkAlerts } from '../../src/verify/properties/alerts.js'
import { checkThroughput } from '../../src/verify/properties/throughput.js'
import { holds } from '../../src/verify/properties/types.js'
import { sloOf } from '../../src/verify/slo.js'
import { propertyStatus } from '../../src/verify/status.js'
import type { RunManifest } from '../../src/verify/types.js'

// A property with no data to judge reads N/A with its reason (not "ok"), and holds; it never touches the
// database to say so.
const noDatabase = new Proxy({} as pg.Client, {
  get: () => {
    throw new Error('a property with nothing to judge must not query the database')
  },
})
const zero = { count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0 }

test('P9 without simulated live clients is N/A, naming --live-clients 0', async () => {
  const p = await checkLive(noDatabase, 1, undefined, 1000)
  assert.equal(propertyStatus(p), 'N/A')
  assert.ok(holds(p))
  assert.match(p.notApplicable ?? '', /--live-clients 0/)
  assert.equal(propertyStatus(await checkLive(noDatabase, 1, { reports: [] } as never, 1000)), 'N/A')
})

test('P6 of a run stored before the rate timeline is N/A', () => {
  const p = checkThroughput(undefined, zero as never, sloOf({}))
  assert.equal(propertyStatus(p), 'N/A')
  assert.match(p.summary, /^not applicable: this run predates the rate timeline/)
})

test('P5 of a replayed trace is N/A: a trace has no injected anomalies', async () => {
  const p = await checkAlerts(noDatabase, 1, { replay: { path: 'trace.jsonl' }, seed: 1 } as unknown as RunManifest, sloOf({}), undefined)
  assert.equal(propertyStatus(p), 'N/A')
  assert.match(p.notApplicable ?? '', /replayed trace/)
})
