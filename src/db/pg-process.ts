import { spawn, type ChildProcess } from 'node:child_process'
import type { Account } from './reach.js'
import type { PgBinaries } from './pg-binaries.js'
import { must } from '../util/must.js'

/** Why a PostgreSQL program failed, in its own words (never "undefined"). */
export class PgProcessError extends Error {
  constructor(
    message: string,
    readonly portInUse = false,
  ) {
    super(message)
    this.name = 'PgProcessError'
  }
}

// English messages: start() waits for a line of the server's log.
const ENV = { ...process.env, LC_MESSAGES: 'C', LC_ALL: 'C' }
const idsOf = (account: Account | undefined): { uid?: number; gid?: number } => (account ? { uid: account.uid, gid: account.gid } : {})

/** The last lines of a program's stderr that say what went wrong. */
function reasonOf(stderr: string, fallback: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const telling = lines.filter((l) => /FATAL|ERROR|PANIC|could not|cannot|error/i.test(l))
  return (telling.length ? telling : lines).slice(-3).join(' | ') || fallback
}

const spawnFailure = (program: string, account: Account | undefined, err: NodeJS.ErrnoException): PgProcessError =>
  new PgProcessError(`cannot run ${program}${account ? ` as user ${account.name}` : ''}: ${err.code ?? err.message}`)

/** initdb: a new cluster in `dataDir` with one password-protected superuser. */
export function initCluster(
  bins: PgBinaries,
  dataDir: string,
  user: string,
  passwordFile: string,
  account: Account | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      bins.initdb,
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${user}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'],
      { ...idsOf(account), env: ENV, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', (err) => reject(spawnFailure(bins.initdb, account, err)))
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new PgProcessError(`initdb failed (${signal ?? `exit ${code}`}): ${reasonOf(stderr, 'no message')}`)),
    )
  })
}

export interface PgServer {
  readonly pid: number
  /** Fast shutdown (SIGINT): clients are disconnected, the data stays consistent. */
  stop(): Promise<void>
}

/**
 * Starts `postgres` on 127.0.0.1:`port` (TCP only: no Unix socket for another instance to collide
 * with). It runs in its own process group, so a Ctrl-C at the terminal reaches iotbench alone and the
 * server stays up while the run drains and is verified; iotbench stops it, and kills it on exit.
 */
export function startServer(bins: PgBinaries, dataDir: string, port: number, account: Account | undefined): Promise<PgServer> {
  return new Promise((resolve, reject) => {
    const flags = [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=100',
    ]
    const child: ChildProcess = spawn(bins.postgres, flags, {
      ...idsOf(account),
      env: ENV,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    })
    let stderr = ''
    let ready = false
    const onExit = (): void => void child.kill('SIGINT')
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    // No stderr pipe only when spawning failed (EMFILE): 'error' below rejects then.
    child.stderr?.on('data', (c: Buffer) => {
      if (ready) return
      stderr += c.toString()
      if (!stderr.includes('database system is ready to accept connections')) return
      ready = true
      process.on('exit', onExit)
      resolve({
        pid: must(child.pid, 'a postgres that wrote to stderr has a pid'),
        stop: async () => {
          process.removeListener('exit', onExit)
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
          await exited
        },
      })
    })
    child.once('error', (err) => reject(spawnFailure(bins.postgres, account, err)))
    child.once('close', (code, signal) => {
      process.removeListener('exit', onExit)
      if (!ready)
        reject(
          new PgProcessError(
            `postgres exited before it was ready (${signal ?? `exit ${code}`}): ${reasonOf(stderr, 'no message')}`,
            /Address already in use/.test(stderr),
          ),
        )
    })
  })
}
