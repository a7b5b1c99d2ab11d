import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/**
 * Linux's /proc as data: a task's CPU time (/proc/<pid>/task/<tid>/stat), the TCP sockets
 * (/proc/net/tcp, tcp6) and who holds a socket (/proc/<pid>/fd). Pure parsers, and a small reader
 * interface that tests replace with a fake.
 */

/** A task's name and the CPU it has used (utime + stime, in clock ticks). */
export interface TaskStat {
  readonly pid: number
  readonly comm: string
  readonly ticks: number
}

/**
 * One /proc/…/stat line. The name (field 2) is in parentheses and may itself hold spaces and ')', so
 * the fields are counted from the last ')': state is field 3, utime field 14, stime field 15 (proc(5)).
 */
export function parseTaskStat(text: string): TaskStat | undefined {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) return undefined
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/)
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  if (fields.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime)) return undefined
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), ticks: utime + stime }
}

/** One row of /proc/net/tcp or tcp6: ports in decimal, state as the kernel's hex code (0A listen, 01 established). */
export interface TcpSocket {
  readonly localPort: number
  readonly remotePort: number
  readonly state: string
  readonly inode: number
}

export const TCP_LISTEN = '0A'
export const TCP_ESTABLISHED = '01'

/** /proc/net/tcp(6): `sl local_address rem_address st … uid timeout inode`, addresses as HEXIP:HEXPORT. */
export function parseTcpTable(text: string): TcpSocket[] {
  const out: TcpSocket[] = []
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 10) continue
    const port = (addr: string | undefined): number => parseInt(addr?.split(':')[1] ?? '', 16)
    const row = { localPort: port(f[1]), remotePort: port(f[2]), state: f[3] ?? '', inode: Number(f[9]) }
    if (Number.isInteger(row.localPort) && Number.isInteger(row.remotePort) && Number.isInteger(row.inode)) out.push(row)
  }
  return out
}

/** `socket:[12345]` (a /proc/<pid>/fd link) → 12345. */
export const socketInode = (link: string | undefined): number | undefined => {
  const m = /^socket:\[(\d+)\]$/.exec(link ?? '')
  return m ? Number(m[1]) : undefined
}

/** What the meter reads; undefined / [] where the file is not there (not Linux, or not ours to read). */
export interface ProcReader {
  read(path: string): string | undefined
  list(dir: string): string[]
  link(path: string): string | undefined
}

export const linuxProc: ProcReader = {
  read: (path) => {
    try {
      return readFileSync(path, 'utf8')
    } catch {
      return undefined
    }
  },
  list: (dir) => {
    try {
      return readdirSync(dir)
    } catch {
      return []
    }
  },
  link: (path) => {
    try {
      return readlinkSync(path)
    } catch {
      return undefined
    }
  },
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on every Linux build we know). */
export function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    return Number.isInteger(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
}

/** Both TCP tables (IPv4 and IPv6) of this network namespace. */
export const tcpSockets = (proc: ProcReader): TcpSocket[] =>
  ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((p) => parseTcpTable(proc.read(p) ?? ''))

/** Socket inodes held by a process's file descriptors. */
export const socketInodesOf = (proc: ProcReader, pid: number | 'self'): Set<number> => {
  const out = new Set<number>()
  for (const fd of proc.list(`/proc/${pid}/fd`)) {
    const inode = socketInode(proc.link(`/proc/${pid}/fd/${fd}`))
    if (inode !== undefined) out.add(inode)
  }
  return out
}

/** The process listening on a TCP port of this host (root can see every process's sockets), or undefined. */
export function listeningPid(proc: ProcReader, port: number): number | undefined {
  const inodes = new Set(
    tcpSockets(proc)
      .filter((s) => s.state === TCP_LISTEN && s.localPort === port && s.inode > 0)
      .map((s) => s.inode),
  )
  if (inodes.size === 0) return undefined
  for (const entry of proc.list('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    for (const inode of socketInodesOf(proc, Number(entry))) if (inodes.has(inode)) return Number(entry)
  }
  return undefined
}

/** Local ports of this process's established connections to `remotePort` (e.g. its database connections). */
export function ownPortsTo(proc: ProcReader, remotePort: number): number[] {
  const mine = socketInodesOf(proc, 'self')
  return tcpSockets(proc)
    .filter((s) => s.state === TCP_ESTABLISHED && s.remotePort === remotePort && mine.has(s.inode))
    .map((s) => s.localPort)
}
