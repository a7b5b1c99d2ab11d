/**
 * Ctrl-C (SIGINT) and SIGTERM during a run. The first stops the load: the run drains, judges what was
 * offered until then and writes its result with the verdict `interrupted`. The second exits at once,
 * after the cleanups registered here (sessions removed from the broker, embedded services stopped).
 */
export class Interrupt {
  private readonly controller = new AbortController()
  private readonly cleanups = new Set<() => Promise<void>>()
  private reasonText = ''
  private hard = false

  /** Aborted by the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  get interrupted(): boolean {
    return this.controller.signal.aborted
  }

  /** A hard stop is under way: the run's own failures (threads terminated under it) are not the outcome. */
  get hardStopping(): boolean {
    return this.hard
  }

  /** Which signal, e.g. "SIGINT". */
  get reason(): string {
    return this.reasonText
  }

  stop(reason: string): void {
    if (this.interrupted) return
    this.reasonText = reason
    this.controller.abort(new Error(reason))
  }

  /** Registers what a hard stop must still do; returns the unregistering function. */
  onHardStop(fn: () => Promise<void>): () => void {
    this.cleanups.add(fn)
    return () => void this.cleanups.delete(fn)
  }

  /**
   * Runs the registered cleanups, the latest first (threads registered by the run before the services
   * they use: a thread still connected would take its broker session back after it was removed),
   * bounded in time.
   */
  async hardStop(timeoutMs: number): Promise<void> {
    this.hard = true
    const all = (async () => {
      for (const fn of [...this.cleanups].reverse()) await fn().catch(() => undefined)
    })()
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())])
  }
}

/**
 * Routes SIGINT and SIGTERM to `interrupt`: the first signal stops the run, the second hard-stops and
 * calls `exit`. Returns the function that removes the handlers.
 */
export function handleSignals(interrupt: Interrupt, log: (line: string) => void, exit: () => void, hardStopMs = 10_000): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!interrupt.interrupted) {
      log(
        `${sig}: stopping the load; the run drains, is judged on what was offered until now and written as "interrupted" (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again: exit at once)`,
      )
      interrupt.stop(sig)
      return
    }
    log(`${sig} again: exiting now (removing the run's broker sessions, stopping embedded services)`)
    void interrupt.hardStop(hardStopMs).finally(exit)
  }
  const signals = ['SIGINT', 'SIGTERM'] as const
  for (const s of signals) process.on(s, onSignal)
  return () => {
    for (const s of signals) process.removeListener(s, onSignal)
  }
}
