import { Exit, type ExitCode } from './errors.js'
import type { RunResult } from './report/result.js'

/**
 * The exit code of a finished run: one per outcome, as the README's table lists them. A failure of
 * timing properties alone on a saturated host is 7, so CI can tell it from a correctness failure;
 * `strictTiming` makes it 3 like any other.
 */
export function exitCodeOf(r: Pick<RunResult, 'verdict' | 'timingOnSaturatedHost'>, strictTiming = false): ExitCode {
  if (r.verdict === 'interrupted') return Exit.Interrupted
  if (r.verdict === 'pass') return Exit.Ok
  return r.timingOnSaturatedHost && !strictTiming ? Exit.TimingOnSaturatedHost : Exit.PropertyFailed
}
