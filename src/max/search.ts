/**
 * The rate search of `--profile max`, as the OpenMessaging Benchmark's: step the offered rate up by a
 * factor while every property holds, then binary-search between the highest passing and the lowest
 * failing rate until they are `resolution` apart. Pure over `runAt` (a run at a rate → pass/fail), so
 * the search is tested with a fake pipeline; bounded by a step count and a time budget.
 */
export interface SearchOptions {
  /** First rate tried (readings/s). */
  readonly startRate: number
  /** Highest rate tried: the search stops when it passes. */
  readonly ceiling: number
  /** Lowest rate worth trying (e.g. one reading per device in the step's duration). */
  readonly floor: number
  /** Step-up factor (> 1). */
  readonly factor: number
  /** Stop when the highest pass and the lowest fail are this close (readings/s, ≥ 1). */
  readonly resolution: number
  readonly maxSteps: number
  /** Milliseconds the whole search may take; a step is only started while budget remains. */
  readonly budgetMs: number
}

export interface StepOutcome<E = unknown> {
  readonly pass: boolean
  readonly detail?: E
}
export interface SearchStep<E = unknown> {
  readonly rate: number
  readonly phase: 'step-up' | 'floor' | 'binary'
  readonly pass: boolean
  readonly detail?: E
}

export interface SearchResult<E = unknown> {
  /** The highest rate that passed (undefined: none did, not even the floor). */
  readonly best: number | undefined
  /** The lowest rate that failed (undefined: the ceiling passed). */
  readonly lowestFail: number | undefined
  /** True when best and lowestFail are within the resolution (or the ceiling passed, or the floor failed). */
  readonly converged: boolean
  /** Why it stopped. */
  readonly stoppedBy: 'converged' | 'ceiling' | 'floor-failed' | 'steps' | 'budget'
  readonly steps: ReadonlyArray<SearchStep<E>>
}

export async function searchMaxRate<E>(
  runAt: (rate: number, step: number) => Promise<StepOutcome<E>>,
  o: SearchOptions,
  now: () => number = Date.now,
  onStep: (s: SearchStep<E>, index: number) => void = () => undefined,
): Promise<SearchResult<E>> {
  const steps: Array<SearchStep<E>> = []
  const deadline = now() + o.budgetMs
  const resolution = Math.max(1, Math.round(o.resolution))
  const ceiling = Math.max(1, Math.floor(o.ceiling))
  const floor = Math.max(1, Math.min(ceiling, Math.ceil(o.floor)))
  let lo: number | undefined // highest pass
  let hi: number | undefined // lowest fail
  const out = (stoppedBy: SearchResult['stoppedBy']): SearchResult<E> => ({
    best: lo,
    lowestFail: hi,
    converged: stoppedBy === 'converged' || stoppedBy === 'ceiling' || stoppedBy === 'floor-failed',
    stoppedBy,
    steps,
  })
  const run = async (rate: number, phase: SearchStep['phase']): Promise<boolean | 'stop'> => {
    if (steps.length >= o.maxSteps) return 'stop'
    if (now() >= deadline) return 'stop'
    const r = await runAt(rate, steps.length)
    const step: SearchStep<E> = { rate, phase, pass: r.pass, ...(r.detail !== undefined && { detail: r.detail }) }
    steps.push(step)
    onStep(step, steps.length - 1)
    if (r.pass) lo = Math.max(lo ?? 0, rate)
    else hi = Math.min(hi ?? Infinity, rate)
    return r.pass
  }
  const stopReason = (): 'steps' | 'budget' => (steps.length >= o.maxSteps ? 'steps' : 'budget')

  // Step up from the start rate, by `factor`, clamped to the ceiling.
  let rate = Math.max(floor, Math.min(ceiling, Math.round(o.startRate)))
  for (;;) {
    const p = await run(rate, 'step-up')
    if (p === 'stop') return out(stopReason())
    if (!p) break
    if (rate >= ceiling) return out('ceiling')
    rate = Math.min(ceiling, Math.max(rate + 1, Math.round(rate * o.factor)))
  }
  // The start failed: is anything above the floor possible at all?
  if (lo === undefined) {
    if (hi !== undefined && hi <= floor) return out('floor-failed')
    const p = await run(floor, 'floor')
    if (p === 'stop') return out(stopReason())
    if (!p) return out('floor-failed')
  }
  // Binary search between the highest pass and the lowest fail.
  // Both are set here: the step-up ended on a fail, and the start or the floor passed.
  while (lo !== undefined && hi !== undefined && hi - lo > resolution) {
    const mid = Math.floor((lo + hi) / 2)
    const p = await run(mid, 'binary')
    if (p === 'stop') return out(stopReason())
  }
  return out('converged')
}
