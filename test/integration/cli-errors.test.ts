import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { runCli } from '../support/cli.js'

describe('the CLI explains bad input and missing services', () => {
  test('every invalid option is reported at once, exit 4', async () => {
    const r = await runCli(['run', '--rate', 'fast', '--qos', '2', '--batch-rows', '0'], { IOTBENCH_SEED: '-5' })
    assert.equal(r.code, 4, r.stderr)
    assert.match(r.stderr, /--rate must be a number \(got "fast"\)/)
    assert.match(r.stderr, /--qos must be one of 0, 1/)
    assert.match(r.stderr, /--batch-rows must be between 1 and/)
    assert.match(r.stderr, /IOTBENCH_SEED must be between 0 and/)
  })

  test('an unknown profile lists the known ones, exit 4', async () => {
    const r = await runCli(['run', '--profile', 'nope'])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /profile "nope" not found \(known profiles: .*ci/)
  })

  test('an unknown flag is a usage error, exit 4', async () => {
    const r = await runCli(['run', '--rat', '5'])
    assert.equal(r.code, 4)
    assert.match(r.stderr, /unknown option '--rat'/)
  })

  test('an unreachable database exits 5 and says what to do', async () => {
    // Port 9 (discard) on loopback: nothing listens there.
    const r = await runCli(['run', '--duration', '2', '--database-url', 'postgres://u:secret@127.0.0.1:9/x'], {}, 60_000)
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /cannot reach the database/)
    assert.match(r.stderr, /what to do:/)
    assert.doesNotMatch(r.stderr + r.stdout, /secret/, 'the password is never printed')
  })

  test('--help teaches: examples, precedence, exit codes', async () => {
    const r = await runCli(['run', '--help'])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /Examples:/)
    assert.match(r.stdout, /defaults < profile file < IOTBENCH_\* environment < flags/)
    assert.match(r.stdout, /3 {2}a property failed/)
  })

  test('profiles lists every profile with rate and duration', async () => {
    const r = await runCli(['profiles', '--json'])
    assert.equal(r.code, 0)
    const list = JSON.parse(r.stdout) as Array<{ name: string; rate: number; durationSeconds: number }>
    const ci = list.find((p) => p.name === 'ci')
    assert.ok(ci && ci.rate > 0 && ci.durationSeconds <= 60)
  })
})
