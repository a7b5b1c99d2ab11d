/**
 * Principle 2: partial options in, resolved options out; every problem reported at once; precedence in
 * one place (defaults < profile file < IOTBENCH_* env < flags). Profiles are temp files given by path.
 */
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { DEFAULTS, envName, type OptionKey } from '../../src/config/options.js'
import { listProfiles, resolveConfig } from '../../src/config/resolve.js'
import { redactUrl } from '../../src/util/redact.js'
import { ConfigError } from '../../src/errors.js'

let dir = ''
let written = 0
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'iotbench-config-'))
})
after(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Writes a profile file (name and description filled in unless given) and returns its path. */
function profileFile(body: Record<string, unknown>, fileName = `p${written++}.json`): string {
  const path = join(dir, fileName)
  writeFileSync(path, JSON.stringify({ name: 'unit', description: 'written by config.test.ts', ...body }))
  return path
}
function rawFile(text: string, fileName: string): string {
  const path = join(dir, fileName)
  writeFileSync(path, text)
  return path
}

/** The ConfigError that `fn` throws; fails the test when it throws nothing or something else. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a ConfigError, nothing was thrown')
}

/** Exactly one problem mentions `needle`. */
function oneProblemNames(problems: readonly string[], needle: string): string {
  const hits = problems.filter((p) => p.includes(needle))
  assert.equal(hits.length, 1, `one problem should name ${needle}; problems:\n${problems.join('\n')}`)
  return hits[0]!
}

describe('envName', () => {
  test('IOTBENCH_ then the key in upper snake case', () => {
    assert.equal(envName('batchRows'), 'IOTBENCH_BATCH_ROWS')
    assert.equal(envName('durationSeconds'), 'IOTBENCH_DURATION_SECONDS')
    assert.equal(envName('sloP99Ms'), 'IOTBENCH_SLO_P99_MS')
    assert.equal(envName('qos'), 'IOTBENCH_QOS')
  })
})

describe('resolveConfig precedence: defaults < profile file < IOTBENCH_* env < flags', () => {
  test('a hand-made example across all four layers', () => {
    const profile = profileFile({
      name: 'mine',
      description: 'my bench',
      batchRows: 100,
      batchMs: 10,
      rate: 500,
      seed: 5,
      qos: 0,
      fleet: { farms: 3, cowsPerFarm: 7, stallsPerFarm: 1, tanksPerFarm: 1 },
    })
    const cfg = resolveConfig({
      profile,
      env: { IOTBENCH_BATCH_MS: '20', IOTBENCH_RATE: '600', IOTBENCH_QOS: '1', IOTBENCH_MQTT_PROTOCOL: '5', IOTBENCH_SEED: '' },
      flags: { rate: '700', durationSeconds: '5' },
    })
    assert.equal(cfg.profile, 'mine', 'the profile names the run')
    assert.equal(cfg.description, 'my bench')
    assert.equal(cfg.batchRows, 100, 'profile over default')
    assert.equal(cfg.batchMs, 20, 'env over profile')
    assert.equal(cfg.rate, 700, 'flag over env over profile')
    assert.equal(cfg.seed, 5, 'an empty env variable is not set')
    assert.equal(cfg.qos, 1, 'qos is a number whichever layer set it')
    assert.equal(cfg.mqttProtocol, '5', 'env sets options a profile may not')
    assert.equal(cfg.durationSeconds, 5, 'flags arrive as strings and become numbers')
    assert.deepEqual(
      [cfg.farms, cfg.cowsPerFarm, cfg.stallsPerFarm, cfg.tanksPerFarm],
      [3, 7, 1, 1],
      'nested profile keys land on their options',
    )
    assert.equal(cfg.dbSchema, DEFAULTS.dbSchema, 'untouched options keep their default')
    assert.equal(cfg.embeddedPgPort, DEFAULTS.embeddedPgPort)
  })

  // For each option: which layers set it (bit 0 profile, 1 env, 2 flag) and a base value. The layers give
  // base, base+1, base+2, so the winner is visible in the result.
  const numeric: ReadonlyArray<{ key: OptionKey; path: readonly string[]; min: number; max: number }> = [
    { key: 'batchRows', path: ['batchRows'], min: 1, max: 900_000 },
    { key: 'batchMs', path: ['batchMs'], min: 1, max: 50_000 },
    { key: 'seed', path: ['seed'], min: 0, max: 2 ** 31 - 3 },
    { key: 'drainTimeoutSeconds', path: ['drainTimeoutSeconds'], min: 1, max: 3000 },
    { key: 'farms', path: ['fleet', 'farms'], min: DEFAULTS.ingestWorkers, max: 300 }, // × 65 devices ≤ default rate × duration
    { key: 'sloP99Ms', path: ['slo', 'p99Ms'], min: 1, max: 3_000_000 },
  ]

  test('the highest layer that sets an option wins, option by option (fast-check)', () => {
    const layerChoice = fc.tuple(...numeric.map((o) => fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: o.min, max: o.max }))))
    fc.assert(
      fc.property(layerChoice, (choices) => {
        const body: Record<string, any> = {}
        const env: Record<string, string> = {}
        const flags: Record<string, string> = {}
        const want: Record<string, number> = {}
        numeric.forEach((o, i) => {
          const [mask, base] = choices[i]!
          want[o.key] = DEFAULTS[o.key] as number
          if (mask & 1) {
            let node = body
            for (const seg of o.path.slice(0, -1)) node = node[seg] ??= {}
            node[o.path[o.path.length - 1]!] = base
            want[o.key] = base
          }
          if (mask & 2) {
            env[envName(o.key)] = String(base + 1)
            want[o.key] = base + 1
          }
          if (mask & 4) {
            flags[o.key] = String(base + 2)
            want[o.key] = base + 2
          }
        })
        const cfg = resolveConfig({ profile: profileFile(body), env, flags })
        for (const o of numeric) assert.equal(cfg[o.key], want[o.key], `${o.key} (layers ${choices[numeric.indexOf(o)]![0].toString(2)})`)
      }),
      { numRuns: 20, includeErrorInReport: true }, // each resolution loads and validates the sensor models (~0.1 s)
    )
  })

  test('rate and speed are one knob: the later layer wins, both in one layer is an error', () => {
    // Default fleet: 4 farms × (60 cows + 4 stalls + 1 tank) = 260 devices, one reading a simulated minute.
    const devices = 260
    const profile = profileFile({ rate: 600 })
    const bySpeed = resolveConfig({ profile, env: { IOTBENCH_SPEED: '30' }, flags: {} })
    assert.equal(bySpeed.rate, (30 * devices) / 60, 'env speed over profile rate sets the rate')
    assert.equal(bySpeed.speed, 30)
    const byRate = resolveConfig({ profile, env: { IOTBENCH_SPEED: '30' }, flags: { rate: '700' } })
    assert.equal(byRate.rate, 700, 'flag rate over env speed')
    assert.equal(byRate.speed, (700 * 60) / devices, 'and the speed follows from it')
    assert.equal(resolveConfig({ profile, env: {}, flags: {} }).speed, (600 * 60) / devices, 'speed is always resolved')
    const both = configError(() => resolveConfig({ profile, env: {}, flags: { rate: '700', speed: '30' } }))
    assert.match(oneProblemNames(both.problems, 'not both'), /the flags set both/)
  })

  test('the shipped ci profile resolves cleanly', () => {
    const cfg = resolveConfig({ profile: 'ci', env: {}, flags: {} })
    assert.equal(cfg.profile, 'ci')
    assert.equal(cfg.qos, 1)
  })
})

describe('resolveConfig reports every problem at once', () => {
  test('bad values in the profile, the environment and the flags all appear in one ConfigError', () => {
    const profile = profileFile({ batchRows: 0 })
    const err = configError(() =>
      resolveConfig({
        profile,
        env: { IOTBENCH_BATCH_MS: 'abc', IOTBENCH_QOS: '2' },
        flags: { durationSeconds: '-5', dbSchema: 'Bad-Schema', mqttUrl: 'http://broker:1883', seed: '1.5' },
      }),
    )
    assert.equal(err.problems.length, 7, `one problem per bad value:\n${err.problems.join('\n')}`)
    assert.match(oneProblemNames(err.problems, 'batchRows'), /must be >= 1/)
    assert.match(oneProblemNames(err.problems, 'IOTBENCH_BATCH_MS'), /must be a number.*"abc"/)
    assert.match(oneProblemNames(err.problems, 'IOTBENCH_QOS'), /must be one of 0, 1/)
    assert.match(oneProblemNames(err.problems, '--duration'), /between 1 and/)
    assert.match(oneProblemNames(err.problems, '--db-schema'), /lower-case SQL identifier/)
    assert.match(oneProblemNames(err.problems, '--mqtt-url'), /mqtt: or tcp:/)
    assert.match(oneProblemNames(err.problems, '--seed'), /whole number/)
    // The message a person reads lists them all too.
    for (const p of err.problems) assert.ok(err.message.includes(p))
  })

  test('an unknown key in a profile is rejected by name, nested ones too, and so are options a profile may not set', () => {
    const profile = profileFile({ bogus: 1, fleet: { farms: 2, cows: 3 }, databaseUrl: 'postgres://u:p@h/db' })
    const err = configError(() => resolveConfig({ profile, env: {}, flags: {} }))
    assert.match(oneProblemNames(err.problems, '"bogus"'), /additional properties/)
    assert.match(oneProblemNames(err.problems, '"cows"'), /\/fleet/)
    oneProblemNames(err.problems, '"databaseUrl"') // credentials belong in env or flags, not in a shared file
    assert.equal(err.problems.length, 3, err.problems.join('\n'))
  })

  test('a profile without its name and description is rejected', () => {
    const path = rawFile(JSON.stringify({ rate: 10 }), 'nameless.json')
    const err = configError(() => resolveConfig({ profile: path, env: {}, flags: {} }))
    oneProblemNames(err.problems, "'name'")
    oneProblemNames(err.problems, "'description'")
  })

  test('an unknown profile name lists the known ones', () => {
    const profilesDir = mkdtempSync(join(dir, 'profiles-'))
    writeFileSync(join(profilesDir, 'soak.json'), '{}')
    writeFileSync(join(profilesDir, 'burst.json'), '{}')
    writeFileSync(join(profilesDir, 'burst.schema.json'), '{}')
    writeFileSync(join(profilesDir, 'notes.txt'), '')
    assert.deepEqual(listProfiles(profilesDir), ['burst', 'soak'])
    const err = configError(() => resolveConfig({ profile: 'nope', profilesDir, env: {}, flags: {} }))
    const p = oneProblemNames(err.problems, '"nope"')
    assert.match(p, /not found/)
    assert.match(p, /known profiles: burst, soak;/)

    const shipped = configError(() => resolveConfig({ profile: 'no-such-profile', env: {}, flags: {} }))
    assert.match(shipped.problems.join('\n'), /known profiles: [^;]*\bci\b/)
  })

  test('sensor-model overrides in a profile are validated: unknown keys by name, impossible ranges', () => {
    const unknown = configError(() =>
      resolveConfig({ profile: profileFile({ sensors: { collar: { bogusKnob: 1 } } }), env: {}, flags: {} }),
    )
    assert.match(oneProblemNames(unknown.problems, '"bogusKnob"'), /additional properties/)
    const reversed = configError(() =>
      resolveConfig({ profile: profileFile({ sensors: { milk: { dailyYieldKg: [30, 20] } } }), env: {}, flags: {} }),
    )
    assert.match(oneProblemNames(reversed.problems, 'dailyYieldKg'), /min ≤ max/)
  })

  // Known gap (see the report): resolveSimulation() runs only when the layers had no problem, so the
  // sensor models' own checks are not reported together with a bad flag, against resolveConfig's promise.
  test('a bad flag does not hide a problem in the profile’s sensor models', () => {
    const profile = profileFile({ sensors: { milk: { dailyYieldKg: [30, 20] } } })
    const err = configError(() => resolveConfig({ profile, env: {}, flags: { durationSeconds: '-5' } }))
    oneProblemNames(err.problems, '--duration')
    oneProblemNames(err.problems, 'dailyYieldKg')
  })

  test('a profile path that does not exist says so', () => {
    const err = configError(() => resolveConfig({ profile: join(dir, 'missing.json'), env: {}, flags: {} }))
    assert.match(oneProblemNames(err.problems, 'missing.json'), /not found/)
  })

  test('a profile that is not JSON gives a clear error, and the other layers are still checked', () => {
    const path = rawFile('{ "name": "broken", ', 'broken.json')
    const err = configError(() => resolveConfig({ profile: path, env: { IOTBENCH_RATE: 'fast' }, flags: {} }))
    assert.match(oneProblemNames(err.problems, 'broken.json'), /is not valid JSON/)
    oneProblemNames(err.problems, 'IOTBENCH_RATE')
    assert.equal(err.problems.length, 2)
  })

  test('cross checks: ingest workers ≤ farms, sim workers ≤ devices, every device gets a reading', () => {
    const one = configError(() => resolveConfig({ profile: profileFile({}), env: {}, flags: { farms: '2', ingestWorkers: '3' } }))
    assert.equal(one.problems.length, 1, one.problems.join('\n'))
    assert.match(one.problems[0]!, /ingest-workers \(3\) must be ≤ farms \(2\)/)

    // 1 farm of 1 cow, 0 stalls, 1 tank = 2 devices; 3 sim workers; 1 reading/s for 1 s.
    const all = configError(() =>
      resolveConfig({
        profile: profileFile({}),
        env: { IOTBENCH_COWS_PER_FARM: '1', IOTBENCH_STALLS_PER_FARM: '0' },
        flags: { farms: '1', ingestWorkers: '1', simWorkers: '3', rate: '1', durationSeconds: '1' },
      }),
    )
    assert.equal(all.problems.length, 2, all.problems.join('\n'))
    assert.match(oneProblemNames(all.problems, 'sim-workers'), /\(3\).*\(2\)/)
    assert.match(oneProblemNames(all.problems, 'rate × duration'), /\(1\).*2 devices/)

    // On the boundary every check passes.
    const cfg = resolveConfig({
      profile: profileFile({}),
      env: {},
      flags: { farms: '2', ingestWorkers: '2', cowsPerFarm: '1', stallsPerFarm: '0', simWorkers: '4', rate: '4', durationSeconds: '1' },
    })
    assert.equal(cfg.ingestWorkers, 2)
  })
})

describe('redactUrl', () => {
  test('hides the password and keeps the rest', () => {
    assert.equal(redactUrl('postgres://bench:s3cret@db.example:5432/iot'), 'postgres://bench:***@db.example:5432/iot')
    assert.equal(redactUrl('mqtt://sensor:p%40ss@broker:1883'), 'mqtt://sensor:***@broker:1883')
    assert.equal(redactUrl('postgres://bench@db/iot'), 'postgres://bench@db/iot', 'no password, nothing to hide')
    assert.equal(redactUrl('mqtt://127.0.0.1:1883'), 'mqtt://127.0.0.1:1883')
  })

  test('hides the password of a string that is not a valid URL', () => {
    const out = redactUrl('postgres://bench:s3cret@db host/iot')
    assert.ok(!out.includes('s3cret'), out)
    assert.ok(out.includes('bench'), out)
  })

  test('any percent-encoded password is replaced, user, host and path kept (fast-check)', () => {
    const part = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
    fc.assert(
      fc.property(part, part, fc.constantFrom('postgres', 'postgresql', 'mqtt', 'tcp'), (user, password, scheme) => {
        const input = `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@db.example:5432/iot`
        const out = new URL(redactUrl(input))
        assert.equal(out.password, '***')
        assert.equal(decodeURIComponent(out.username), user)
        assert.equal(out.host, 'db.example:5432')
        assert.equal(out.pathname, '/iot')
      }),
      { numRuns: 200 },
    )
  })

  test('a URL option that is not a URL is reported without its password', () => {
    const err = configError(() =>
      resolveConfig({ profile: profileFile({}), env: {}, flags: { databaseUrl: 'postgres://bench:topsecret@db host/iot' } }),
    )
    const p = oneProblemNames(err.problems, '--database-url')
    assert.match(p, /is not a URL/)
    assert.ok(!p.includes('topsecret'), p)
    assert.ok(!err.message.includes('topsecret'), err.message)
  })

  // Known gaps (see the report). The fallback regex needs a non-empty user, and a URL without "//" parses
  // (opaque path, no password field) and passes the protocol check, so it is stored and logged as typed.
  test('an unparsable URL with an empty user name still hides the password', () => {
    const out = redactUrl('postgres://:s3cret@db host/iot')
    assert.ok(!out.includes('s3cret'), out)
  })
  test('a database URL missing its "//" is rejected or redacted, never kept with its password', () => {
    const typo = 'postgres:/bench:s3cret@db/iot'
    let cfgUrl: string | undefined
    try {
      cfgUrl = resolveConfig({ profile: profileFile({}), env: {}, flags: { databaseUrl: typo } }).databaseUrl
    } catch (err) {
      assert.ok(err instanceof ConfigError)
      assert.ok(!err.message.includes('s3cret'), err.message)
      return
    }
    assert.ok(!redactUrl(cfgUrl!).includes('s3cret'), `accepted ${cfgUrl} and redactUrl keeps the password: ${redactUrl(cfgUrl!)}`)
  })
})
