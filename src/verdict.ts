import { Exit, type ExitCode } from './errors.js'
import type { RunResult } from './report/result.js'

/** The exit code of a finished run: one per outcome, as the README's table lists them. */
export function exitCodeOf(r: Pick<RunResult, 'verdict'>): ExitCode {
  if (r.verdict === 'interrupted') return Exit.Interrupted
  return r.verdict === 'pass' ? Exit.Ok : Exit.PropertyFailed
}
