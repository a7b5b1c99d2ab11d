/** One live run per embedded data folder (src/db/data-lock.ts), with real processes standing in for runs and servers. */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { claimDataDir, isAlive } from '../../src/db/data-lock.js'
import { InfraError } from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'iotbench-lock-'))
const children: ChildProcess[] = []
const sleeper = (): ChildProcess => {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' })
  children.push(c)
  return c
}
after(() => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})
const exited = (c: ChildProcess): Promise<void> =>
  new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())))

test('a folder held by a live run is refused with its pid, port and folder', async () => {
  const data = join(dir, 'held')
  const owner = sleeper()
  writeFileSync(`${data}.lock`, JSON.stringify({ pid: owner.pid, postgresPid: owner.pid, port: 54329 }))
  await assert.rejects(
    claimDataDir(data, () => undefined),
    (err: unknown) => {
      assert.ok(err instanceof InfraError)
      assert.equal(
        err.message,
        `the embedded PostgreSQL data folder ${data} is in use by a live run (iotbench pid ${owner.pid}, PostgreSQL on 127.0.0.1:54329)`,
      )
      assert.match(err.hint, /--embedded-dir/)
      return true
    },
  )
  assert.ok(isAlive(owner.pid!), 'a live run is left alone')
})

test('a lock left by a dead run is taken over, and the server it left running is stopped', async () => {
  const data = join(dir, 'orphan')
  const dead = spawn('true')
  await exited(dead)
  const server = sleeper()
  writeFileSync(`${data}.lock`, JSON.stringify({ pid: dead.pid, postgresPid: server.pid, port: 54329 }))
  const lines: string[] = []
  const lock = await claimDataDir(data, (l) => lines.push(l))
  await exited(server)
  assert.equal(server.signalCode, 'SIGINT')
  assert.match(lines.join('\n'), new RegExp(`stopping PostgreSQL pid ${server.pid}, left running on .* by run pid ${dead.pid}`))
  assert.equal(JSON.parse(readFileSync(`${data}.lock`, 'utf8')).pid, process.pid)
  lock.update(4242, 54330)
  assert.deepEqual(JSON.parse(readFileSync(`${data}.lock`, 'utf8')), { pid: process.pid, postgresPid: 4242, port: 54330 })
  lock.release()
  assert.equal(existsSync(`${data}.lock`), false)
})
