/**
 * Sensor models as validated data, --speed against --rate, and replay traces with clear errors.
 */
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { resolveConfig, listProfiles } from '../../src/config/resolve.js'
import { ConfigError } from '../../src/errors.js'
import { PROFILES_DIR } from '../../src/paths.js'
import { SENSORS_DIR, loadSensorModels } from '../../src/sim/models.js'
import { loadReplay, openReplay } from '../../src/sim/replay.js'

const dir = mkdtempSync(join(tmpdir(), 'iotbench-sim-config-'))
let n = 0
function configError(f: () => unknown): ConfigError {
  try {
    f()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  assert.fail('expected a ConfigError')
}
const copyModels = (): string => {
  const to = join(dir, `sensors-${n++}`)
  cpSync(SENSORS_DIR, to, { recursive: true })
  return to
}
const edit = (file: string, f: (o: any) => void): void => {
  const o = JSON.parse(readFileSync(file, 'utf8'))
  f(o)
  writeFileSync(file, JSON.stringify(o))
}
const profile = (body: Record<string, unknown>): string => {
  const p = join(dir, `profile-${n++}.json`)
  writeFileSync(p, JSON.stringify({ name: 'p', description: 'd', ...body }))
  return p
}
const SAMPLE = join(PROFILES_DIR, 'traces', 'sample')

describe('sensor models', () => {
  test('the shipped models load, and listProfiles shows bench profiles only', () => {
    const m = loadSensorModels()
    assert.deepEqual([m.collar.kind, m.milk.kind, m.chiller.kind], ['collar', 'milk', 'chiller'])
    assert.deepEqual(listProfiles(), ['burst', 'ci', 'faults', 'max', 'soak'])
  })

  test('every problem in every model file is reported at once', () => {
    const d = copyModels()
    edit(join(d, 'collar.json'), (o) => {
      o.neckTempC.mean = 'warm'
      delete o.battery
      o.colour = 'brown'
      o.anomalies.fever.perDay = -1
    })
    edit(join(d, 'milk.json'), (o) => {
      o.sessionHours = [5, 13, 18, 22]
    })
    edit(join(d, 'chiller.json'), (o) => {
      o.anomalies.teleport = { perDay: 1, minutes: [1, 2] }
    })
    const err = configError(() => loadSensorModels({}, d))
    const all = err.problems.join('\n')
    for (const want of [
      /collar\.json: \/neckTempC\/mean must be number/,
      /collar\.json: \(top level\) must have required property 'battery'/,
      /collar\.json: \(top level\) must NOT have additional properties "colour"/,
      /collar\.json: \/anomalies\/fever\/perDay must be >= 0/,
      /milk\.json: \/sessionHours must NOT have more than 3 items/,
      /chiller\.json: \/anomalies must NOT have additional properties "teleport"/,
    ]) {
      assert.match(all, want)
    }
  })

  test('rules beyond the schema: ordered ranges, cooling that meets its own limit, failures longer than the limit', () => {
    const d = copyModels()
    edit(join(d, 'milk.json'), (o) => {
      o.dailyYieldKg = [35, 24]
    })
    edit(join(d, 'chiller.json'), (o) => {
      o.coolingTimeConstantMinutes = 90
      o.anomalies.chillerFailure.minutes = [60, 100]
    })
    const all = configError(() => loadSensorModels({}, d)).problems.join('\n')
    assert.match(all, /milk\.dailyYieldKg: \[min, max\] must have min ≤ max/)
    assert.match(all, /cooling is too slow to meet its own limit/)
    assert.match(all, /chillerFailure\.minutes must all exceed coolingLimitMinutes/)
  })

  test('a profile overrides the models; a bad override and a fleet that cannot be milked in time are named', () => {
    const ok = resolveConfig({ profile: profile({ sensors: { collar: { anomalies: { fever: { perDay: 5 } } } } }), env: {}, flags: {} })
    assert.equal(ok.models!.collar.anomalies.fever.perDay, 5)
    assert.equal(ok.models!.collar.anomalies.heat.perDay, loadSensorModels().collar.anomalies.heat.perDay)
    const err = configError(() =>
      resolveConfig({
        profile: profile({
          sensors: { collar: { neckTempC: { mean: 99 } }, horse: {} },
          fleet: { farms: 4, cowsPerFarm: 400, stallsPerFarm: 2, tanksPerFarm: 1 },
        }),
        env: {},
        flags: {},
      }),
    )
    const all = err.problems.join('\n')
    assert.match(all, /\/sensors must NOT have additional properties "horse"/)
    assert.match(all, /neckTempC\/mean must be <= 45/)
  })

  test('a milking session that overruns the next one is a config error', () => {
    const err = configError(() =>
      resolveConfig({ profile: 'ci', env: {}, flags: { cowsPerFarm: '400', stallsPerFarm: '2', rate: '20000' } }),
    )
    assert.match(
      err.problems.join('\n'),
      /a milking session \(200 cows per stall × 10 min = 2000 min\) must end before the next one starts/,
    )
  })
})

describe('--speed and --rate', () => {
  test('speed sets the rate (speed × devices / 60 s); the rate alone implies the speed', () => {
    const ci = resolveConfig({ profile: 'ci', env: {}, flags: {} })
    assert.equal(ci.speed, (2000 * 60) / 260)
    const fast = resolveConfig({ profile: 'ci', env: {}, flags: { speed: '1440' } })
    assert.equal(fast.rate, (1440 * 260) / 60, 'a farm day per simulated minute… per wall minute')
    assert.equal(fast.speed, 1440)
    const envSpeed = resolveConfig({ profile: 'ci', env: { IOTBENCH_SPEED: '60' }, flags: { rate: '1000' } })
    assert.equal(envSpeed.rate, 1000, 'a later layer wins')
  })

  test('both in one layer is an error', () => {
    const err = configError(() => resolveConfig({ profile: 'ci', env: {}, flags: { speed: '10', rate: '100' } }))
    assert.match(err.problems.join('\n'), /give rate or speed, not both: the flags set both/)
  })
})

describe('replay traces', () => {
  test('the sample trace: its fleet, readings per device and hashes', () => {
    const t = loadReplay(SAMPLE)
    assert.deepEqual(t.fleet, { farms: 2, cowsPerFarm: 3, stallsPerFarm: 1, tanksPerFarm: 1 })
    assert.equal(t.perDevice, 60)
    assert.deepEqual(
      t.files.map((f) => f.kind),
      ['chiller', 'collar', 'milk'],
    )
    const cfg = resolveConfig({ profile: 'ci', env: {}, flags: { replay: SAMPLE, rate: '300' } })
    assert.deepEqual([cfg.farms, cfg.cowsPerFarm, cfg.stallsPerFarm, cfg.tanksPerFarm], [2, 3, 1, 1])
    assert.equal(Math.floor((cfg.rate * cfg.durationSeconds) / 10), 60, 'the duration offers exactly the trace')
  })

  test('every problem of a bad trace is reported at once', () => {
    const d = join(dir, `trace-${n++}`)
    cpSync(SAMPLE, d, { recursive: true })
    const collar = join(d, 'collar.csv')
    const lines = readFileSync(collar, 'utf8').trimEnd().split('\n')
    lines[2] = lines[2]!.replace(/,38\.\d+,/, ',hot,')
    lines[3] = 'farm01-collar-0001,x,2026-06-01T04:48:00.000Z,1,1,1,1,1,1'
    lines[4] = lines[4]!.split(',').slice(0, 5).join(',')
    lines.splice(10, 1) // a missing seq
    writeFileSync(collar, `${lines.join('\n')}\n`)
    writeFileSync(join(d, 'extra.csv'), 'device,seq,ts,colour\n')
    const all = configError(() => loadReplay(d)).problems.join('\n')
    assert.match(all, /collar\.csv line 3: neck_temp_c "hot" is not a valid float8/)
    assert.match(all, /collar\.csv line 4: seq "x" is not a whole number/)
    assert.match(all, /collar\.csv line 5: 5 columns, expected 9/)
    assert.match(all, /extra\.csv: header must be one of/)
    assert.doesNotThrow(() => loadReplay(SAMPLE))
    const gap = join(dir, `trace-${n++}`)
    cpSync(SAMPLE, gap, { recursive: true })
    const g = readFileSync(join(gap, 'milk.csv'), 'utf8').trimEnd().split('\n')
    g.splice(5, 1)
    writeFileSync(join(gap, 'milk.csv'), `${g.join('\n')}\n`)
    assert.match(configError(() => loadReplay(gap)).problems.join('\n'), /farm01-milk-0001 has no row for seq 4/)
  })

  test('the oracle refuses a trace that changed since the run', () => {
    const d = join(dir, `trace-${n++}`)
    cpSync(SAMPLE, d, { recursive: true })
    const t = loadReplay(d)
    const ref = { path: t.path, files: t.files }
    assert.equal(openReplay(ref).perDevice, 60)
    const milk = join(d, 'milk.csv')
    writeFileSync(milk, readFileSync(milk, 'utf8').replace(',14.', ',15.'))
    const changed = { path: t.path, files: t.files.map((f) => ({ ...f })) } // a fresh ref, as `verify` reads it from the database
    assert.match(
      configError(() => openReplay(changed)).problems.join('\n'),
      /milk\.csv in .* changed since the run: sha256 [0-9a-f]{64} ≠ [0-9a-f]{64}/,
    )
  })
})
