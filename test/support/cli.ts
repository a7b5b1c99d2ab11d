import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root: this file runs as dist/test/support/cli.js. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the real CLI in a child process (as a user would), with a deadline. */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 240_000,
  onStderr?: (text: string) => void,
): Promise<CliResult> {
  return runCliIn(ROOT, args, env, timeoutMs, onStderr)
}

/** runCli for a checkout in another folder (its own bin/iotbench.js), run from that folder. */
export function runCliIn(
  checkout: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 240_000,
  onStderr?: (text: string) => void,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(checkout, 'bin', 'iotbench.js'), ...args], {
      cwd: checkout,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
      onStderr?.(stderr)
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`iotbench ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

export const tempResultsDir = (): string => mkdtempSync(join(tmpdir(), 'iotbench-results-'))

/** The run id printed in the summary's first line. */
export function runIdFrom(stdout: string): string {
  const m = /^iotbench (\S+) — profile/m.exec(stdout)
  if (!m) throw new Error(`no run id in output:\n${stdout}`)
  return m[1]!
}

export const readResult = (resultsDir: string, runId: string): any =>
  JSON.parse(readFileSync(join(resultsDir, runId, 'result.json'), 'utf8'))

/** Short-run flags shared by the integration tests: small, quick, strict. */
export const SHORT_RUN = ['--duration', '4', '--rate', '1500', '--progress', 'plain', '--drain-timeout', '20']

/**
 * A separate embedded PostgreSQL for the tests, so they never touch a user's data folder. Its port is
 * IOTBENCH_TEST_EMBEDDED_PG_PORT (default 54339), so checkouts side by side can run their suites at once.
 */
export const TEST_EMBEDDED_PG_PORT = Number(process.env['IOTBENCH_TEST_EMBEDDED_PG_PORT'] ?? 54339)
export const TEST_EMBEDDED = [
  '--embedded-dir',
  join(ROOT, '.iotbench', 'test-postgres'),
  '--embedded-pg-port',
  String(TEST_EMBEDDED_PG_PORT),
]
