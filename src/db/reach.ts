import { existsSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

/** The account the embedded PostgreSQL runs as when iotbench runs as root (PostgreSQL refuses root). */
export interface Account {
  readonly name: string
  readonly uid: number
  readonly gid: number
}

type Mode = { readonly mode: number; readonly uid: number; readonly gid: number }

/**
 * Whether `account` may traverse (search) a directory of this mode and owner. Only the primary group
 * counts: libuv drops supplementary groups when it spawns a child under another uid.
 */
export function mayTraverse(st: Mode, account: Pick<Account, 'uid' | 'gid'>): boolean {
  if (st.uid === account.uid) return (st.mode & 0o100) !== 0
  if (st.gid === account.gid) return (st.mode & 0o010) !== 0
  return (st.mode & 0o001) !== 0
}

/**
 * The first existing folder on the way to `path` that `account` cannot traverse, or undefined when it
 * can reach `path` (folders that do not exist yet are created later with mode 0755).
 */
export function firstBlocked(
  path: string,
  account: Pick<Account, 'uid' | 'gid'>,
  stat: (p: string) => Mode | undefined = statOrUndefined,
): string | undefined {
  const chain: string[] = []
  for (let p = resolve(path); ; p = dirname(p)) {
    chain.unshift(p)
    if (dirname(p) === p) break
  }
  // The path itself is not traversed to reach it (a data folder is chowned to the account anyway).
  for (const p of chain.slice(0, -1)) {
    const st = stat(p)
    if (st === undefined) return undefined
    if (!mayTraverse(st, account)) return p
  }
  return undefined
}

function statOrUndefined(p: string): Mode | undefined {
  return existsSync(p) ? statSync(p) : undefined
}
