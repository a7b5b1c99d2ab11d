import { spawn, type ChildProcess } from 'node:child_process'

/** An external ingest started with the run: its own process group, the tail of its output kept for errors. */
export interface IngestProcess {
  readonly pid: number
  /** The last lines it wrote (stderr and stdout), for an error or a failed readiness gate. */
  tail(): string
  /** Rejects when the process exits before stop() was asked for. */
  readonly exited: Promise<never>
  /** SIGTERM to the whole group; SIGKILL after `graceMs`. Resolves when it has exited. */
  stop(graceMs?: number): Promise<void>
}

const TAIL_BYTES = 4096

/** Runs `command` through the shell in a new process group (so stop() reaches what it starts, e.g. Telegraf under a wrapper). */
export function startIngestProcess(command: string, env: Readonly<Record<string, string>>): IngestProcess {
  const child: ChildProcess = spawn(command, {
    shell: true,
    detached: true,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let tail = ''
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let stopping = false
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }))
    child.once('error', (err) => {
      keep(Buffer.from(`${err.message}\n`))
      resolve({ code: null, signal: null })
    })
  })
  const exited = closed.then(({ code, signal }) => {
    if (stopping) return new Promise<never>(() => undefined)
    throw new Error(
      `the ingest command exited before the run stopped it (${signal ?? `exit code ${code}`}): ${JSON.stringify(command)}\n${lastLines(tail)}`,
    )
  })
  exited.catch(() => undefined)
  const group = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal)
    } catch {
      // already gone
    }
  }
  return {
    pid: child.pid ?? -1,
    tail: () => lastLines(tail),
    exited,
    async stop(graceMs = 10_000) {
      stopping = true
      if (child.exitCode !== null || child.signalCode !== null) return
      group('SIGTERM')
      const timer = setTimeout(() => group('SIGKILL'), graceMs)
      await closed
      clearTimeout(timer)
    },
  }
}

/** The last few lines of a process's output, indented for an error message. */
export const lastLines = (text: string, lines = 12): string =>
  text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `    ${l}`)
    .join('\n')
