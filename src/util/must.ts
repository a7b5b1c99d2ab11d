import { parentPort, type MessagePort } from 'node:worker_threads'

/**
 * The value, or an Error naming what was missing: the check a `!` would have hidden (issue 21).
 * For invariants only; a missing input the user can fix is a ConfigError instead.
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`internal: ${what}`)
  return value
}

/** The port to the thread that started this module; an Error when it was loaded outside a worker thread. */
export function threadPort(module: string): MessagePort {
  return must(parentPort, `${module} runs in a worker thread only`)
}
