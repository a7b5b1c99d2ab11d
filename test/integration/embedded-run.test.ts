import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir, TEST_EMBEDDED } from '../support/cli.js'
import { uniqueName } from '../support/services.js'

// Nothing installed: embedded aedes (its own thread) and embedded PostgreSQL, as a newcomer runs it.
describe('iotbench run on the embedded defaults', () => {
  const results = tempResultsDir()
  let runId = ''

  test('passes every property and writes result.json', async () => {
    const schema = uniqueName('emb')
    const r = await runCli(['run', '--profile', 'ci', ...SHORT_RUN, ...TEST_EMBEDDED, '--db-schema', schema, '--results-dir', results])
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    runId = runIdFrom(r.stdout)
    const result = readResult(results, runId)
    assert.equal(result.schemaVersion, 2)
    assert.equal(result.verdict, 'pass')
    assert.deepEqual(
      result.properties.map((p: { id: string }) => p.id),
      ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9'],
    )
    for (const p of result.properties) assert.equal(p.pass, true, `${p.id}: ${p.summary}`)
    assert.match(result.environment.broker, /embedded aedes/)
    assert.equal(result.counts.published, result.counts.offered)
    assert.equal(result.counts.ingested, result.counts.offered)
    assert.ok(result.latency.endToEnd.count === result.counts.offered, 'one latency sample per stored reading')
    assert.match(r.stderr, /embedded PostgreSQL \(data folder/, 'names the data folder')
    assert.match(r.stderr, /ingested/, 'prints progress')

    const v = await runCli(['verify', runId, ...TEST_EMBEDDED, '--db-schema', schema, '--results-dir', results])
    assert.equal(v.code, 0, `verify exit ${v.code}\n${v.stdout}\n${v.stderr}`)
    assert.match(v.stdout, /PASS/)
    assert.ok(existsSync(join(results, runId, 'verify.json')))
  })

  test('the fault hook makes the run fail with the devices and seqs named', async () => {
    const schema = uniqueName('fault')
    const r = await runCli([
      'run',
      '--profile',
      'ci',
      ...SHORT_RUN,
      ...TEST_EMBEDDED,
      '--db-schema',
      schema,
      '--results-dir',
      results,
      '--fault-hook',
      'drop=3,duplicate=2,reorder=2',
    ])
    assert.equal(r.code, 3, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    const id = runIdFrom(r.stdout)
    const result = readResult(results, id)
    assert.equal(result.verdict, 'fail')
    const [p1, p2, p3] = result.properties
    assert.equal(p1.pass, false)
    assert.equal(p1.evidence.counts.lost, 3)
    assert.equal(p1.evidence.counts.duplicated, 2)
    assert.equal(p1.evidence.lost.length, 3)
    for (const s of [...p1.evidence.lost, ...p1.evidence.duplicated]) {
      assert.match(s.device, /^farm\d+-(collar|milk|chiller)-\d{4}$/)
      assert.ok(Number.isInteger(s.seq) && s.seq >= 0)
    }
    assert.equal(p2.pass, true, 'dropping and duplicating does not corrupt values')
    assert.equal(p3.pass, false)
    assert.equal(p3.evidence.outOfOrder, 2)
    assert.equal(p3.evidence.samples.length, 2)

    // The verdict is reproducible from the database alone.
    const v = await runCli(['verify', id, ...TEST_EMBEDDED, '--db-schema', schema, '--results-dir', results])
    assert.equal(v.code, 3, v.stdout + v.stderr)
    assert.match(v.stdout, /FAIL P1 completeness: .*lost 3/)
  })
})
