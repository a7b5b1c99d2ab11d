import { performance } from 'node:perf_hooks'

/** Epoch milliseconds with sub-millisecond resolution; the same scale on every thread of the process. */
export type Clock = () => number
export const epochClock: Clock = () => performance.timeOrigin + performance.now()
