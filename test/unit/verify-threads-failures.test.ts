/**
 * What the verdict gets when a P1–P3 share thread fails (src/verify/parallel.ts, inThreads): the thread's
 * error, a non-zero exit, an exit with no reply, a message that is not a reply. Each rejects with words that
 * name the share and the failure, never hangs, and ends the other shares' threads. An unreachable database
 * inside a thread stays an InfraError (exit 5, with its hint). The faults come from
 * test/support/share-thread-fault.ts, run in place of the share worker; the last test runs the real one.
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, test } from 'node:test'
import { InfraError } from '../../src/errors.js'
import { freePort } from '../../src/util/net.js'
import { inThreads, type ShareTask } from '../../src/verify/parallel.js'
import type { RunManifest } from '../../src/verify/types.js'
import { guarded } from '../../src/verify/verify.js'
import type { Fault, FaultTask } from '../support/share-thread-fault.js'

const FAULTY = new URL('../support/share-thread-fault.js', import.meta.url)
const manifest: RunManifest = { seed: 1, simStartMs: Date.UTC(2026, 3, 1), fleet: { farms: 1, cowsPerFarm: 4, stallsPerFarm: 0, tanksPerFarm: 0 }, perDevice: 10, unacked: [], published: 0 }
const base: ShareTask = { url: 'postgres://127.0.0.1:1/none', schema: 'none', runId: 1, manifest, kind: 'collar', range: { lo: 'farm01-collar-0003' } }
const task = (fault: Fault, extra: Partial<FaultTask> = {}): ShareTask => ({ ...base, fault, ...extra }) as ShareTask
const SHARE = 'verification thread for the collar share farm01-collar-0003…\\(last\\)'

describe('a share thread that fails', { timeout: 30_000 }, () => {
  test('that throws: rejects with its error, naming the share', async () => {
    await assert.rejects(inThreads([task('throw')], FAULTY), new RegExp(`^Error: ${SHARE} failed: share thread broke on purpose$`))
  })

  test('that exits with a non-zero code, or with 0 and no report: rejects with the code, does not hang', async () => {
    await assert.rejects(inThreads([task('exit-3')], FAULTY), new RegExp(`^Error: ${SHARE} exited with code 3 before its report$`))
    await assert.rejects(inThreads([task('exit-0')], FAULTY), new RegExp(`^Error: ${SHARE} exited with code 0 before its report$`))
  })

  test('that posts a message that is not a reply: rejects, quoting it', async () => {
    await assert.rejects(inThreads([task('malformed')], FAULTY), new RegExp(`^Error: ${SHARE} sent a message that is not a report: \\{"rows":12\\}$`))
    await assert.rejects(inThreads([task('null')], FAULTY), new RegExp(`${SHARE} sent a message that is not a report: null$`))
    await assert.rejects(inThreads([task('no-ok')], FAULTY), new RegExp(`${SHARE} sent a message that is not a report: \\{"report":`))
    await assert.rejects(inThreads([task('no-reason')], FAULTY), new RegExp(`${SHARE} sent a message that is not a report: \\{"ok":false\\}$`))
  })

  test('a well-formed reply is the report, in task order', async () => {
    const reports = await inThreads([task('report'), task('report')], FAULTY)
    assert.deepEqual(reports, [{ set: { counts: {} }, order: { rows: 1 } }, { set: { counts: {} }, order: { rows: 1 } }])
  })

  test('ends the other shares\' threads at the first failure', async () => {
    const beats = new Int32Array(new SharedArrayBuffer(4))
    const spinning = inThreads([task('spin', { beats }), task('spin', { beats }), task('exit-3')], FAULTY)
    await assert.rejects(spinning, /exited with code 3/)
    const after = Atomics.load(beats, 0)
    await sleep(100)
    assert.equal(Atomics.load(beats, 0), after, 'a spinning share thread still runs after the verdict')
  })

  test('is that property\'s failed check, with the thread\'s words', async () => {
    const result = await guarded('P1', 'completeness', () => inThreads([task('exit-3')], FAULTY).then(() => undefined))
    assert.equal(result?.pass, false)
    assert.match(result?.summary ?? '', new RegExp(`^the check itself failed: ${SHARE} exited with code 3 before its report$`))
  })

  test('the real share worker, with the database out of reach: an InfraError with its hint (exit 5, not a property FAIL)', async () => {
    const url = `postgres://postgres:postgres@127.0.0.1:${await freePort()}/none`
    const err: unknown = await inThreads([{ ...base, url }]).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof InfraError, `not an InfraError: ${String(err)}`)
    assert.match(err.message, /^cannot reach the database at postgres:\/\/postgres:.*@127\.0\.0\.1:\d+\/none: .*ECONNREFUSED/)
    assert.match(err.hint, /is PostgreSQL running/)
    await assert.rejects(guarded('P1', 'completeness', () => inThreads([{ ...base, url }]).then(() => undefined)), InfraError)
  })
})
