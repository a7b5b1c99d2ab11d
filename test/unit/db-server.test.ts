import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InfraError } from '../../src/errors.js'
import { checkWorkers, planStorage, serverEnvironment, type ServerFacts } from '../../src/db/server.js'

// Every setting-up branch of the storage choice, with the server's facts as data: a real TimescaleDB
// server cannot run on these machines, and none of these branches needs one to be decided.
const plain: ServerFacts = {
  serverVersion: '15.20 (Debian 15.20-0+deb12u1)',
  timescaledbAvailable: null,
  timescaledbInstalled: null,
  loaderPresent: false,
  inProcess: false,
  maxWorkerProcesses: 8,
  maxBackgroundWorkers: null,
  restoring: false,
}
const preloaded: ServerFacts = {
  ...plain,
  timescaledbAvailable: '2.28.3',
  loaderPresent: true,
  maxWorkerProcesses: 32,
  maxBackgroundWorkers: 16,
}
const installed: ServerFacts = { ...preloaded, timescaledbInstalled: { version: '2.28.3', schema: 'public' } }

const infra = (f: () => unknown): InfraError => {
  try {
    f()
  } catch (err) {
    assert.ok(err instanceof InfraError, String(err))
    return err
  }
  assert.fail('no InfraError')
}

describe('--storage: what the server offers decides, and every refusal says what to do', () => {
  test('auto: TimescaleDB where it is preloaded or already created, plain PostgreSQL where the server has no extension', () => {
    assert.deepEqual(planStorage(plain, 'auto'), { storage: 'postgresql', createExtension: false })
    assert.deepEqual(planStorage(preloaded, 'auto'), { storage: 'timescaledb', createExtension: true })
    assert.deepEqual(planStorage(installed, 'auto'), { storage: 'timescaledb', createExtension: false })
    assert.deepEqual(
      planStorage({ ...preloaded, loaderPresent: false, inProcess: true }, 'auto'),
      { storage: 'timescaledb', createExtension: true },
      'the WebAssembly build loads it itself',
    )
  })

  test('installed but not preloaded: one line naming shared_preload_libraries, for auto and timescaledb alike', () => {
    const notPreloaded = { ...preloaded, loaderPresent: false, maxBackgroundWorkers: null }
    for (const choice of ['auto', 'timescaledb'] as const) {
      const e = infra(() => planStorage(notPreloaded, choice))
      assert.equal(
        e.message,
        'the server has TimescaleDB 2.28.3 installed but not preloaded: CREATE EXTENSION timescaledb would end the connection',
      )
      assert.match(e.hint, /shared_preload_libraries = 'timescaledb'.*restart the server, or run with --storage postgresql/)
    }
    assert.deepEqual(planStorage(notPreloaded, 'postgresql'), { storage: 'postgresql', createExtension: false })
  })

  test('timescaledb on a server without it, and postgresql in a database that has it, are refused', () => {
    assert.match(
      infra(() => planStorage(plain, 'timescaledb')).message,
      /^--storage timescaledb, but the server \(PostgreSQL 15\.20 .*\) has no timescaledb extension installed$/,
    )
    const e = infra(() => planStorage(installed, 'postgresql'))
    assert.match(e.message, /^--storage postgresql, but this database has the timescaledb extension \(2\.28\.3 in schema public\)/)
    assert.deepEqual(
      planStorage(preloaded, 'postgresql'),
      { storage: 'postgresql', createExtension: false },
      'never an extension created where postgresql was asked for',
    )
  })

  test('too few background workers for the bench’s nine jobs: exit 5 naming each setting and what it needs', () => {
    assert.equal(checkWorkers(installed, 9), undefined)
    const defaults = { ...installed, maxWorkerProcesses: 8, maxBackgroundWorkers: 16 }
    const e = checkWorkers(defaults, 9)!
    assert.ok(e instanceof InfraError)
    assert.match(
      e.message,
      /too few background workers for the bench's 9 TimescaleDB policy jobs: max_worker_processes = 8 \(needs ≥ 13\); jobs would fail/,
    )
    assert.match(
      checkWorkers({ ...installed, maxBackgroundWorkers: 4 }, 9)!.message,
      /timescaledb\.max_background_workers = 4 \(needs ≥ 10\)/,
    )
    assert.equal(checkWorkers({ ...defaults, inProcess: true }, 9), undefined, 'an in-process engine runs no scheduler: P8 says so')
    assert.equal(checkWorkers(defaults, 0), undefined)
  })

  test('the environment names the versions and whether background jobs run', () => {
    assert.deepEqual(serverEnvironment(plain, 'postgresql'), {
      serverVersion: plain.serverVersion,
      timescaledbVersion: null,
      backgroundJobs: 'not applicable (plain PostgreSQL)',
    })
    assert.deepEqual(serverEnvironment(installed, 'timescaledb'), {
      serverVersion: plain.serverVersion,
      timescaledbVersion: '2.28.3',
      backgroundJobs: 'enabled (timescaledb.max_background_workers = 16, max_worker_processes = 32)',
    })
    assert.equal(
      serverEnvironment({ ...installed, maxBackgroundWorkers: 0 }, 'timescaledb').backgroundJobs,
      'disabled (timescaledb.max_background_workers = 0)',
    )
    assert.equal(
      serverEnvironment({ ...installed, restoring: true }, 'timescaledb').backgroundJobs,
      'disabled (timescaledb.restoring = on)',
    )
  })
})
