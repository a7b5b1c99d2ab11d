/**
 * Item 5 of issue 20: the host is measured during the run, and a failure made by timing alone on a
 * saturated host gets its own exit code, while correctness failures are never excused.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { HostSampler, parseProcStat, type HostProbes } from '../../src/metrics/host.js'
import { failedOnTimingOnly, timingOnSaturatedHost } from '../../src/verify/timing.js'
import { exitCodeOf } from '../../src/verdict.js'
import { ConfigError, Exit } from '../../src/errors.js'
import { resolveConfig } from '../../src/config/resolve.js'
import { junitXml } from '../../src/report/junit.js'
import type { PropertyId, PropertyResult } from '../../src/verify/types.js'

const stat = (user: number, idle: number, steal = 0): string => `cpu  ${user} 0 0 ${idle} 0 0 0 ${steal} 0 0\ncpu0 1 2 3 4\n`

/** Probes whose readings advance by the given per-second deltas (ticks: 100 a core-second, 2 cores). */
function probes(perSecond: { busy: number; idle: number; steal?: number; load: number; lagMs?: number }): HostProbes {
  let t = 0
  let user = 0
  let idle = 0
  let steal = 0
  return {
    procStat: () => stat(user, idle, steal),
    loadAvg1: () => perSecond.load,
    ownCpuMicros: () => t * 500_000, // half a core
    loopLagMs: () => perSecond.lagMs ?? 1,
    now: () => t * 1000,
    cpus: 2,
    // advanced by tick()
    ...{ tick: () => ((t += 1), (user += perSecond.busy), (idle += perSecond.idle), (steal += perSecond.steal ?? 0)) },
  } as HostProbes & { tick: () => void }
}

function sampleFor(p: HostProbes & { tick?: () => void }, seconds: number): HostSampler {
  const s = new HostSampler(p)
  for (let i = 0; i < seconds; i++) {
    ;(p as { tick: () => void }).tick()
    s.sample()
  }
  return s
}

describe('host load', () => {
  test('/proc/stat: busy is everything but idle and iowait; steal on its own', () => {
    assert.deepEqual(parseProcStat('cpu  10 2 3 80 5 0 0 4 0 0\n'), { total: 104, idle: 85, steal: 4 })
    assert.equal(parseProcStat('intr 1 2 3\n'), undefined)
  })

  test('a quiet host is not saturated; a busy one is, and says by which figures', () => {
    const quiet = sampleFor(probes({ busy: 60, idle: 140, load: 0.8 }), 5).summary()
    assert.equal(quiet.busyMeanPct, 30)
    assert.equal(quiet.ownMeanPct, 25)
    assert.equal(quiet.saturated, false)
    assert.deepEqual(quiet.why, [])
    const busy = sampleFor(probes({ busy: 196, idle: 4, load: 7.5, lagMs: 300 }), 5).summary()
    assert.equal(busy.saturated, true)
    assert.equal(busy.busyMeanPct, 98)
    assert.equal(busy.loopLagMaxMs, 300)
    assert.match(busy.why.join('; '), /CPU busy 98 % of 2 cores.*load average 7\.5 on 2 cores/)
    const stolen = sampleFor(probes({ busy: 100, idle: 70, steal: 30, load: 1 }), 3).summary()
    assert.equal(stolen.saturated, true, 'steal alone saturates')
    assert.deepEqual(stolen.why, ['steal 15 % (≥ 10 %)'])
  })

  test('without /proc/stat the load average still decides', () => {
    const p = { ...probes({ busy: 0, idle: 0, load: 5 }), procStat: () => undefined }
    const h = sampleFor(p, 2).summary()
    assert.equal(h.busyMeanPct, undefined)
    assert.equal(h.saturated, true)
  })
})

const prop = (id: string, pass: boolean, evidence: Record<string, unknown> = {}): PropertyResult => ({
  id: id as PropertyId,
  name: id,
  pass,
  summary: `${id} summary`,
  evidence,
})
const saturatedHost = sampleFor(probes({ busy: 200, idle: 0, load: 8 }), 3).summary()
const quietHost = sampleFor(probes({ busy: 20, idle: 180, load: 0.2 }), 3).summary()

describe('timing failures on a saturated host', () => {
  test('P4 and P6 are timing; P5 and P9 only when their correctness half held; P1–P3, P7, P8 never', () => {
    assert.equal(failedOnTimingOnly(prop('P4', false)), true)
    assert.equal(failedOnTimingOnly(prop('P6', false)), true)
    assert.equal(failedOnTimingOnly(prop('P5', false, { counts: { missed: 0, late: 0, spurious: 0 } })), true, 'detection delay only')
    assert.equal(failedOnTimingOnly(prop('P5', false, { counts: { missed: 1, late: 0, spurious: 0 } })), false)
    assert.equal(
      failedOnTimingOnly(prop('P5', false, { counts: { missed: 0, late: 2, spurious: 0 } })),
      false,
      'late in readings is the rule engine, not the clock',
    )
    assert.equal(
      failedOnTimingOnly(prop('P9', false, { missing: [], duplicated: [], unexpected: [], alertMismatches: [], failedClients: [] })),
      true,
    )
    assert.equal(
      failedOnTimingOnly(
        prop('P9', false, { missing: [{ seq: 1 }], duplicated: [], unexpected: [], alertMismatches: [], failedClients: [] }),
      ),
      false,
    )
    for (const id of ['P1', 'P2', 'P3', 'P7', 'P8']) assert.equal(failedOnTimingOnly(prop(id, false)), false, id)
    assert.equal(failedOnTimingOnly(prop('P4', true)), false)
  })

  test('the verdict says so only when every failure is timing and the host was saturated', () => {
    const timing = [prop('P1', true), prop('P4', false), prop('P9', false, { missing: [] })]
    const t = timingOnSaturatedHost(timing, saturatedHost)
    assert.deepEqual(t?.ids, ['P4', 'P9'])
    assert.match(t!.summary, /P4, P9 failed on timing alone while the host was saturated \(CPU busy 100 %/)
    assert.equal(timingOnSaturatedHost(timing, quietHost), undefined, 'a quiet host explains nothing')
    assert.equal(timingOnSaturatedHost([prop('P1', false), prop('P4', false)], saturatedHost), undefined, 'a lost reading is never excused')
    assert.equal(timingOnSaturatedHost([prop('P1', true)], saturatedHost), undefined, 'nothing failed')
  })

  test('exit codes: 7 for timing on a saturated host, 3 with --strict-timing or any other failure, 6 interrupted', () => {
    assert.equal(exitCodeOf({ verdict: 'pass' }), Exit.Ok)
    assert.equal(exitCodeOf({ verdict: 'fail' }), Exit.PropertyFailed)
    assert.equal(exitCodeOf({ verdict: 'fail', timingOnSaturatedHost: 'P4 …' }), 7)
    assert.equal(exitCodeOf({ verdict: 'fail', timingOnSaturatedHost: 'P4 …' }, true), 3)
    assert.equal(exitCodeOf({ verdict: 'interrupted' }), 6)
  })

  test('JUnit: timing failures typed apart, the host as its own case, an interrupt as an error', () => {
    const xml = junitXml('r1', 'ci', [prop('P2', false), prop('P4', false)], 3, {
      saturated: { ids: ['P4'], summary: 'CPU busy 98 %' },
      interrupted: 'SIGINT: stopped',
    })
    assert.match(xml, /name="P2 P2"[^]*?type="PropertyFailed"/)
    assert.match(xml, /name="P4 P4"[^]*?type="TimingFailedOnSaturatedHost"/)
    assert.match(xml, /name="host saturated"[^]*?CPU busy 98 %/)
    assert.match(xml, /<error message="SIGINT: stopped" type="Interrupted"\/>/)
    assert.match(xml, /tests="4" failures="2" errors="1"/)
  })
})

test('--strict-timing goes through the option table: a flag, IOTBENCH_STRICT_TIMING, off by default', () => {
  assert.equal(resolveConfig({ profile: 'ci', env: {}, flags: {} }).strictTiming, false)
  assert.equal(resolveConfig({ profile: 'ci', env: {}, flags: { strictTiming: true } }).strictTiming, true)
  assert.equal(resolveConfig({ profile: 'ci', env: { IOTBENCH_STRICT_TIMING: 'yes' }, flags: {} }).strictTiming, true)
  assert.throws(
    () => resolveConfig({ profile: 'ci', env: { IOTBENCH_STRICT_TIMING: 'maybe' }, flags: {} }),
    (err: unknown) => err instanceof ConfigError && /IOTBENCH_STRICT_TIMING must be true or false/.test(err.message),
  )
})
