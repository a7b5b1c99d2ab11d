import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InfraError } from '../errors.js'

/** What a live run writes beside its data folder: who owns it, and the server it started. */
interface LockInfo {
  readonly pid: number
  readonly postgresPid?: number
  readonly port?: number
}

export interface DataDirLock {
  update(postgresPid: number, port: number): void
  release(): void
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to another user (a server run as "postgres").
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo
    return Number.isInteger(info.pid) ? info : undefined
  } catch {
    return undefined
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  return !isAlive(pid)
}

/**
 * One live run per data folder: `<dataDir>.lock` names the run's pid (and its server's). A folder held by
 * a live run is an error naming that run; a lock left by a run that died is taken over, and the server
 * that run left behind is stopped (it runs in its own process group, so it can outlive a killed run).
 * `shownAs` is how messages name the folder (a relocated one with the folder it stands for).
 */
export async function claimDataDir(dataDir: string, log: (line: string) => void, shownAs = dataDir): Promise<DataDirLock> {
  const file = `${dataDir}.lock`
  const write = (info: LockInfo, flag: 'wx' | 'w'): void => writeFileSync(file, `${JSON.stringify(info)}\n`, { flag })
  for (let attempt = 0; ; attempt++) {
    try {
      write({ pid: process.pid }, 'wx')
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err
    }
    const held = readLock(file)
    if (held && held.pid !== process.pid && isAlive(held.pid)) {
      throw new InfraError(
        `the embedded PostgreSQL data folder ${shownAs} is in use by a live run (iotbench pid ${held.pid}${held.port ? `, PostgreSQL on 127.0.0.1:${held.port}` : ''})`,
        'wait for that run to finish, or give this one another folder with --embedded-dir',
      )
    }
    if (held?.postgresPid !== undefined && isAlive(held.postgresPid)) {
      log(`stopping PostgreSQL pid ${held.postgresPid}, left running on ${dataDir} by run pid ${held.pid}, which ended without stopping it`)
      process.kill(held.postgresPid, 'SIGINT')
      if (!(await waitGone(held.postgresPid, 15_000)))
        throw new InfraError(
          `PostgreSQL pid ${held.postgresPid} on ${dataDir} (left by run pid ${held.pid}) did not stop`,
          `stop it (kill ${held.postgresPid}), then run again`,
        )
    }
    rmSync(file, { force: true })
  }
  const postmaster = join(dataDir, 'postmaster.pid')
  if (existsSync(postmaster)) {
    const pid = Number.parseInt(readFileSync(postmaster, 'utf8').split('\n')[0] ?? '', 10)
    if (Number.isInteger(pid) && isAlive(pid)) {
      rmSync(file, { force: true })
      throw new InfraError(
        `a PostgreSQL (pid ${pid}) already runs on ${shownAs}, started outside a live iotbench run`,
        `stop it (kill -INT ${pid}), or give --embedded-dir another folder`,
      )
    }
    rmSync(postmaster) // left by a server that was killed
  }
  let released = false
  return {
    update: (postgresPid, port) => write({ pid: process.pid, postgresPid, port }, 'w'),
    release: () => {
      if (!released) rmSync(file, { force: true })
      released = true
    },
  }
}
