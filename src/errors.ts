/** Exit codes: one per verdict, documented in the README ("Exit codes"). */
export const Exit = {
  Ok: 0,
  PropertyFailed: 3,
  InvalidConfig: 4,
  InfraUnavailable: 5,
  /** SIGINT/SIGTERM stopped the load; the shortened run was judged and written (verdict `interrupted`). */
  Interrupted: 6,
  /** Only timing properties failed, on a host saturated during the run (not with --strict-timing). */
  TimingOnSaturatedHost: 7,
  Internal: 1,
  /** A second SIGINT/SIGTERM: exited at once, nothing judged (128 + SIGINT, as shells report it). */
  Aborted: 130,
} as const
export type ExitCode = (typeof Exit)[keyof typeof Exit]

/** Every problem found in the options and profile, reported at once. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** A service the run needs cannot be reached; `hint` says what the user can do about it. */
export class InfraError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'InfraError'
  }
}

/** An ingest failure; `retriable` says whether trying the same batch again can help. */
export class IngestError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'IngestError'
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
