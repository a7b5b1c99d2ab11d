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
import type { FaultTask } from '../support/share-thread-fault.js'

const FAULTY = new URL('../support/share-thread-fault.js', import.meta.url)
const manifest: RunManifest = {
  seed: 1,
  simStartMs: Date.UTC(2026, 3, 1),
  fleet: { farms: 1, cowsPerFarm: 4, stallsPerFarm: 0, tanksPerFarm: 0 },
  perDevice: 10,
  unacked: [],
  published: 0,
}
const base: ShareTask = {
  url: 'postgres://127.0.0.1:1/none',
  schema: 'none',
  runId: 1,
  manifest,
  kind: 'collar',
  range: { lo: 'farm01-collar-0003' },
}
const task = (fault: FaultTask, range = base.range): ShareTask => ({ ...base, range, ...fault }) as ShareTask
const reply = (m: unknown): ShareTask => task({ fault: 'reply', reply: m })
const SHARE = 'verification thread for the collar share farm01-collar-0003…\\(last\\)'
const reason = async (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  )

describe('a share thread that fails', { timeout: 30_000 }, () => {
  test('that throws: rejects with its error, naming the share, the error as cause', async () => {
    const err = await reason(inThreads([task({ fault: 'throw' })], FAULTY))
    assert.ok(err instanceof Error && !(err instanceof InfraError))
    assert.match(err.message, new RegExp(`^${SHARE} failed: share thread broke on purpose$`))
    assert.equal((err.cause as Error | undefined)?.message, 'share thread broke on purpose')
  })

  test('that exits with a non-zero code, or with 0 and no report: rejects with the code, does not hang', async () => {
    await assert.rejects(
      inThreads([task({ fault: 'exit', code: 3 })], FAULTY),
      new RegExp(`^Error: ${SHARE} exited with code 3 before its report$`),
    )
    const first = { hi: 'farm01-collar-0002' }
    await assert.rejects(
      inThreads([task({ fault: 'exit', code: 0 }, first)], FAULTY),
      /^Error: verification thread for the collar share \(first\)…farm01-collar-0002 exited with code 0 before its report$/,
    )
  })

  test('that reports a failure: rejects with its words', async () => {
    const err = await reason(inThreads([reply({ ok: false, message: 'relation "collar_readings" does not exist' })], FAULTY))
    assert.ok(err instanceof Error && !(err instanceof InfraError))
    assert.match(err.message, new RegExp(`^${SHARE} failed: relation "collar_readings" does not exist$`))
  })

  test('that posts a message that is not a reply: rejects, quoting it (200 characters at most)', async () => {
    const notReplies: Array<[unknown, string]> = [
      [{ rows: 12 }, '{"rows":12}'],
      [null, 'null'],
      [undefined, 'undefined'],
      ['done', '"done"'],
      [{ ok: false }, '{"ok":false}'],
      [{ ok: false, message: 'x', hint: 5 }, '{"ok":false,"message":"x","hint":5}'],
      [{ ok: true }, '{"ok":true}'],
      [{ ok: true, report: { set: {} } }, '{"ok":true,"report":{"set":{}}}'],
      [{ ok: true, report: { order: {} } }, '{"ok":true,"report":{"order":{}}}'],
      [{ report: { set: {}, order: {} } }, '{"report":{"set":{},"order":{}}}'],
      [{ rows: 'x'.repeat(300) }, `{"rows":"${'x'.repeat(191)}`],
    ]
    for (const [m, quoted] of notReplies) {
      const err = await reason(inThreads([reply(m)], FAULTY))
      assert.equal(
        (err as Error).message,
        `${SHARE.replaceAll('\\', '')} sent a message that is not a report: ${quoted}`,
        `reply ${JSON.stringify(m)}`,
      )
    }
  })

  test('a well-formed reply is the report, in task order', async () => {
    const report = (rows: number) => ({ ok: true, report: { set: { counts: {} }, order: { rows } } })
    assert.deepEqual(await inThreads([reply(report(1)), reply(report(2))], FAULTY), [
      { set: { counts: {} }, order: { rows: 1 } },
      { set: { counts: {} }, order: { rows: 2 } },
    ])
  })

  test("ends the other shares' threads at the first failure", async () => {
    const beats = new Int32Array(new SharedArrayBuffer(4))
    const spinning = inThreads([task({ fault: 'spin', beats }), task({ fault: 'spin', beats }), task({ fault: 'exit', code: 3 })], FAULTY)
    await assert.rejects(spinning, /exited with code 3/)
    const after = Atomics.load(beats, 0)
    await sleep(100)
    assert.equal(Atomics.load(beats, 0), after, 'a spinning share thread still runs after the verdict')
  })

  test("is that property's failed check, with the thread's words", async () => {
    const result = await guarded('P1', 'completeness', () => inThreads([task({ fault: 'exit', code: 3 })], FAULTY).then(() => undefined))
    assert.equal(result?.pass, false)
    assert.match(result?.summary ?? '', new RegExp(`^the check itself failed: ${SHARE} exited with code 3 before its report$`))
  })

  test('the real share worker, with the database out of reach: an InfraError with its hint (exit 5, not a property FAIL)', async () => {
    const url = `postgres://postgres:postgres@127.0.0.1:${await freePort()}/none`
    const err = await reason(inThreads([{ ...base, url }]))
    assert.ok(err instanceof InfraError, `not an InfraError: ${String(err)}`)
    assert.match(err.message, /^cannot reach the database at postgres:\/\/postgres:.*@127\.0\.0\.1:\d+\/none: .*ECONNREFUSED/)
    assert.match(err.hint, /is PostgreSQL running/)
    await assert.rejects(
      guarded('P1', 'completeness', () => inThreads([{ ...base, url }]).then(() => undefined)),
      InfraError,
    )
  })
})
