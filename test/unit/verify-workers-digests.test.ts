/**
 * The oracle digest threads (issue 23). runDigestThread (src/verify/oracle-digest-range.ts), a thread's
 * whole work, runs here in-process with an injected port, clock and timer: which devices it digests, what
 * it posts, how it paces itself and when it stops pacing. computeDigests (src/verify/oracle-digests.ts) is
 * driven with a stand-in thread (test/support/digest-thread-fault.ts: how it splits the fleet, merges the
 * rows, forwards metrics, hurries, stops and fails), then once with the real worker end to end.
 * Expected digests come from DeviceDigest (pinned to PostgreSQL by verify-digest-pinned) over the
 * generator's or the trace's readings, never from the code under test.
 */
import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, test } from 'node:test'
import { alertRulesOf } from '../../src/alerts/rules.js'
import { deviceAt, fleetSize, type FleetShape } from '../../src/fleet.js'
import { KINDS } from '../../src/kinds.js'
import type { ThreadSnapshot } from '../../src/metrics/thread-metrics.js'
import { PROFILES_DIR } from '../../src/paths.js'
import { defaultSensorModels } from '../../src/sim/models.js'
import { contextOf, generatorOracle } from '../../src/sim/oracle.js'
import { loadReplay } from '../../src/sim/replay.js'
import { AlertChecker } from '../../src/verify/alerts.js'
import { DeviceDigest } from '../../src/verify/digest.js'
import { runDigestThread, type DigestThreadIo } from '../../src/verify/oracle-digest-range.js'
import { computeDigests, type DigestSpec, type DigestTask, type FromDigestThread } from '../../src/verify/oracle-digests.js'
import type { DigestFault } from '../support/digest-thread-fault.js'
import { deviceDigestOf } from '../support/oracle-digest.js'

const fleet: FleetShape = { farms: 1, cowsPerFarm: 2, stallsPerFarm: 1, tanksPerFarm: 1 }
const spec: DigestSpec = { seed: 7, simStartMs: Date.UTC(2026, 3, 1), fleet, perDevice: 40 }
const task = (over: Partial<DigestTask> = {}): DigestTask => ({ spec, from: 0, to: fleetSize(fleet), paced: false, ...over })

/** The oracle's digest of device i's readings 0..perDevice−1, and what P5 expects of its alerts. */
function expected(s: DigestSpec, i: number) {
  const { device, digest, exact } = deviceDigestOf(s, i)
  const alerts = new AlertChecker(s, alertRulesOf(defaultSensorModels()), generatorOracle(contextOf(s))).expectationsOf(
    deviceAt(s.fleet, i),
    true,
  )
  return { device, rows: s.perDevice, digest, exact, alerts }
}

/** A port, a clock that moves `step` ms a reading of it, a sleep that records and may answer, a timer that only records. */
function fakeIo(step = 25, onSleep: (send: (m: unknown) => void) => void = () => undefined) {
  const posted: FromDigestThread[] = []
  const listeners: Array<[event: string, listener: (m: unknown) => void]> = []
  const sleeps: number[] = []
  const timers: Array<[fn: () => void, ms: number]> = []
  const send = (m: unknown): void => listeners.forEach(([event, l]) => event === 'message' && l(m))
  let t = 0
  const io: DigestThreadIo = {
    port: { on: (event, l) => listeners.push([event, l]), postMessage: (m) => posted.push(m) },
    now: () => (t += step),
    sleep: async (ms) => {
      sleeps.push(ms)
      onSleep(send)
    },
    every: (fn, ms) => timers.push([fn, ms]),
  }
  return { io, posted, sleeps, timers }
}

describe('runDigestThread (one oracle digest thread, in-process)', () => {
  test('digests devices [from, to) alone, each with its alert expectations, and posts them once', async () => {
    const { io, posted } = fakeIo()
    await runDigestThread(task({ from: 1, to: 4 }), io)
    assert.equal(posted.length, 1)
    const [reply] = posted
    assert.ok(reply && 'ok' in reply && reply.ok, JSON.stringify(reply))
    assert.deepEqual(
      reply.rows.map(([device, rows, digest, exact, alerts]) => ({ device, rows, digest, exact, alerts })),
      [1, 2, 3].map((i) => expected(spec, i)),
    )
    assert.ok(
      reply.rows.some(([, , , , a]) => Object.values(a ?? {}).length > 0),
      'some device has rules to expect',
    )
  })

  test('a replayed trace: the digests of its rows, and no alert expectations (nothing was injected)', async () => {
    const trace = loadReplay(join(PROFILES_DIR, 'traces', 'sample'))
    const replayed: DigestSpec = {
      seed: 1,
      simStartMs: 0,
      fleet: trace.fleet,
      perDevice: trace.perDevice,
      replay: { path: trace.path, files: trace.files },
    }
    const { io, posted } = fakeIo()
    await runDigestThread(task({ spec: replayed, from: 0, to: 2 }), io)
    const want = [0, 1].map((i) => {
      const device = deviceAt(trace.fleet, i)
      const d = new DeviceDigest(device.kind)
      trace.rows.get(device.id)!.forEach((r, seq) =>
        d.add(
          seq,
          r.ts,
          KINDS[device.kind].fields.map((f) => r.values[f.name]),
        ),
      )
      return [device.id, trace.perDevice, d.sum, d.exact, null]
    })
    assert.deepEqual(posted, [{ ok: true, rows: want }])
  })

  test('an oracle that cannot be built: one failure with its words, no rows', async () => {
    const gone: DigestSpec = {
      ...spec,
      replay: { path: '/nonexistent/trace', files: [{ kind: 'collar', file: '/nonexistent/trace/collar.csv', sha256: '0' }] },
    }
    const { io, posted } = fakeIo()
    await runDigestThread(task({ spec: gone }), io)
    assert.equal(posted.length, 1)
    const [reply] = posted
    assert.ok(reply && 'ok' in reply && !reply.ok, JSON.stringify(reply))
    assert.match(reply.message, /collar\.csv/)
  })

  describe('pacing', () => {
    const long = task({ spec: { ...spec, perDevice: 2048 }, from: 0, to: 1, paced: true })
    test('paced: after every 1,024 readings and after each device, sleeps twice the time it worked', async () => {
      const { io, sleeps } = fakeIo(25)
      await runDigestThread(long, io)
      // each check: 25 ms since the last, then 2 × (the 50 ms since the last) — three checks
      assert.deepEqual(sleeps, [100, 100, 100])
    })

    test('not paced: never sleeps', async () => {
      const { io, sleeps } = fakeIo(25)
      await runDigestThread({ ...long, paced: false }, io)
      assert.deepEqual(sleeps, [])
    })

    test('busy no more than 20 ms: no sleep', async () => {
      const { io, sleeps } = fakeIo(20)
      await runDigestThread(task({ from: 0, to: 1, paced: true }), io)
      assert.deepEqual(sleeps, [])
    })

    test('told to hurry, it stops sleeping; any other message changes nothing', async () => {
      const hurried = fakeIo(25, (send) => send('hurry'))
      await runDigestThread(long, hurried.io)
      assert.deepEqual(hurried.sleeps, [100])
      const other = fakeIo(25, (send) => send('faster'))
      await runDigestThread(long, other.io)
      assert.deepEqual(other.sleeps, [100, 100, 100])
    })
  })

  test('metrics: a snapshot of its memory every second when asked, none otherwise', async () => {
    const asked = fakeIo()
    await runDigestThread(task({ from: 0, to: 1, metrics: true }), asked.io)
    assert.deepEqual(
      asked.timers.map(([, ms]) => ms),
      [1000],
    )
    asked.timers[0]![0]()
    const last = asked.posted.at(-1)
    assert.ok(last && 'metrics' in last && (last.metrics.gauges.heapUsed?.[''] ?? 0) > 0, JSON.stringify(last))
    const quiet = fakeIo()
    await runDigestThread(task({ from: 0, to: 1 }), quiet.io)
    assert.deepEqual(quiet.timers, [])
    assert.ok(quiet.posted.every((m) => !('metrics' in m)))
  })
})

// The digest threads are unref'd (a run never waits on them to exit): something must keep this test's event loop alive while it awaits them.
let keepAlive: NodeJS.Timeout | undefined
before(() => void (keepAlive = setInterval(() => undefined, 1000)))
after(() => clearInterval(keepAlive))

const FAULTY = new URL('../support/digest-thread-fault.js', import.meta.url)
/** Five devices: d0…d4 in the stand-in's rows. */
const five: DigestSpec = { ...spec, fleet: { farms: 1, cowsPerFarm: 3, stallsPerFarm: 1, tanksPerFarm: 1 } }
const faulty = (fault: DigestFault): DigestSpec => ({ ...five, fault }) as DigestSpec
/** The stand-in's rows as computeDigests should merge them: each device's range (and ` paced`), alerts on even devices. */
const merged = (ranges: ReadonlyArray<readonly [number, number]>, paced = false) =>
  new Map(
    ranges.flatMap(([from, to]) =>
      Array.from({ length: to - from }, (_, k) => {
        const i = from + k
        return [
          `d${i}`,
          {
            rows: 40,
            digest: `${from}-${to}${paced ? ' paced' : ''}`,
            exact: i % 3 !== 0,
            ...(i % 2 === 0 && { alerts: { [`rule${i}`]: { episodes: [] } } }),
          },
        ] as const
      }),
    ),
  )
/** A metrics sink that records. */
const sink = () => {
  const updates: Array<[string, ThreadSnapshot]> = []
  const finished: string[] = []
  return {
    updates,
    finished,
    metrics: { update: (t: string, s: ThreadSnapshot) => updates.push([t, s]), finish: (t: string) => finished.push(t) },
  }
}
const until = async (what: string, done: () => boolean): Promise<void> => {
  for (const deadline = Date.now() + 5000; !done(); await sleep(10)) if (Date.now() > deadline) assert.fail(`no ${what} within 5 s`)
}

describe('computeDigests (the threads, with a stand-in)', () => {
  test('splits the fleet into contiguous ranges, one thread each, and merges their rows by device', async () => {
    const three = computeDigests(faulty('rows'), { threads: 3, script: FAULTY })
    assert.deepEqual(
      await three.result,
      merged([
        [0, 2],
        [2, 4],
        [4, 5],
      ]),
    )
    assert.deepEqual(
      await computeDigests(faulty('rows'), { threads: 9, script: FAULTY }).result,
      merged([
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
        [4, 5],
      ]),
    )
    assert.deepEqual(await computeDigests(faulty('rows'), { threads: 0, script: FAULTY }).result, merged([[0, 5]]))
  })

  test('by default one thread per core, at most one per device; paced, a single thread', async () => {
    const n = Math.min(availableParallelism(), 5)
    const ranges = Array.from({ length: n }, (_, i) => {
      const from = i * Math.floor(5 / n) + Math.min(i, 5 % n)
      return [from, from + Math.floor(5 / n) + (i < 5 % n ? 1 : 0)] as const
    })
    assert.deepEqual(await computeDigests(faulty('rows'), { script: FAULTY }).result, merged(ranges))
    assert.deepEqual(await computeDigests(faulty('rows'), { paced: true, threads: 3, script: FAULTY }).result, merged([[0, 5]], true))
  })

  test("metrics: each thread's snapshots under its name, and its end", async () => {
    const two = sink()
    const digests = await computeDigests(faulty('rows'), { threads: 2, metrics: two.metrics, script: FAULTY }).result
    assert.match(digests.get('d0')?.digest ?? '', / metrics$/, 'the threads were asked for metrics')
    await until('end of both threads', () => two.finished.length === 2)
    assert.deepEqual(
      two.updates.sort(([a], [b]) => a.localeCompare(b)),
      [
        ['oracle-0', { counters: {}, histograms: {}, gauges: { heapUsed: { '': 0 } } }],
        ['oracle-1', { counters: {}, histograms: {}, gauges: { heapUsed: { '': 3 } } }],
      ],
    )
    assert.deepEqual(two.finished.sort(), ['oracle-0', 'oracle-1'])
    const one = sink()
    await computeDigests(faulty('rows'), { threads: 1, metrics: one.metrics, script: FAULTY }).result
    await until('end of the thread', () => one.finished.length === 1)
    assert.deepEqual(
      one.updates.map(([t]) => t),
      ['oracle'],
    )
    assert.deepEqual(one.finished, ['oracle'])
  })

  test('without a sink, the threads are not asked for metrics', async () => {
    // The stand-in posts a snapshot only when its task asks; computeDigests would then have nowhere to put it.
    const none = computeDigests(faulty('rows'), { threads: 2, script: FAULTY })
    assert.deepEqual(
      await none.result,
      merged([
        [0, 3],
        [3, 5],
      ]),
    )
  })

  test('a thread that fails, throws or exits before its rows: the result rejects with its words', async () => {
    await assert.rejects(
      computeDigests(faulty('fail'), { threads: 1, script: FAULTY }).result,
      /^Error: oracle digests: no trace for devices 0…5$/,
    )
    await assert.rejects(computeDigests(faulty('throw'), { threads: 1, script: FAULTY }).result, /^Error: digest thread broke on purpose$/)
    await assert.rejects(
      computeDigests(faulty('exit'), { threads: 1, script: FAULTY }).result,
      /^Error: oracle digest thread exited with 0$/,
    )
  })

  test('a failure nobody awaits (a run that ends before verifying) is no unhandled rejection', async () => {
    const unhandled: unknown[] = []
    const record = (r: unknown): void => void unhandled.push(r)
    process.on('unhandledRejection', record)
    try {
      const ended = sink()
      computeDigests(faulty('fail'), { threads: 1, metrics: ended.metrics, script: FAULTY })
      await until('end of the thread', () => ended.finished.length === 1)
      await sleep(20)
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', record)
    }
  })

  test('hurry: tells every thread; stop: ends them, and a result not yet in rejects', async () => {
    const waiting = computeDigests(faulty('after-hurry'), { threads: 2, script: FAULTY })
    const settled = await Promise.race([waiting.result.then(() => 'settled'), sleep(200).then(() => 'waiting')])
    assert.equal(settled, 'waiting')
    waiting.hurry()
    assert.deepEqual(
      await waiting.result,
      merged([
        [0, 3],
        [3, 5],
      ]),
    )
    await waiting.stop()
    const stopped = computeDigests(faulty('after-hurry'), { threads: 2, script: FAULTY })
    await stopped.stop()
    await assert.rejects(stopped.result, /^Error: oracle digest thread exited with [01]$/)
  })
})

describe('computeDigests (the real threads)', () => {
  test("every device's digest and alert expectations, over two threads; paced, the same once hurried", async () => {
    const want = new Map(
      Array.from({ length: fleetSize(fleet) }, (_, i) => {
        const { device, ...x } = expected(spec, i)
        return [device, x] as const
      }),
    )
    const two = computeDigests(spec, { threads: 2 })
    assert.deepEqual(await two.result, want)
    await two.stop()
    const paced = computeDigests(spec, { paced: true })
    paced.hurry()
    assert.deepEqual(await paced.result, want)
    await paced.stop()
  })
})
