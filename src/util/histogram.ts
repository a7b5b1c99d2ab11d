import * as hdr from 'hdr-histogram-js'

/** Latencies are recorded in microseconds; reports speak milliseconds. */
let wasmReady: Promise<void> | undefined
/** This thread's hdr-histogram-js WebAssembly memory, caught while it is instantiated (the library does not expose it). */
let wasmMemory: { readonly buffer: ArrayBuffer } | undefined

/** The little of the WebAssembly global used here (the compiler's libs leave it out). */
interface WasmGlobal {
  instantiate: (...args: unknown[]) => Promise<unknown>
  readonly Instance: new (...args: never[]) => { readonly exports: Record<string, unknown> }
  readonly Memory: new (...args: never[]) => { readonly buffer: ArrayBuffer }
}

/** Each thread must initialise WebAssembly itself before building a histogram. */
export const initHistograms = (): Promise<void> => (wasmReady ??= instantiateCatchingMemory())

async function instantiateCatchingMemory(): Promise<void> {
  const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly
  const instantiate = wasm.instantiate
  wasm.instantiate = async (...args: unknown[]): Promise<unknown> => {
    const made = await instantiate.apply(wasm, args)
    const instance = made instanceof wasm.Instance ? made : (made as { instance?: InstanceType<WasmGlobal['Instance']> }).instance
    const memory = instance?.exports.memory
    // hdr-histogram-js's module is the one exporting Histogram32 (undici's llhttp is WebAssembly too).
    if (instance?.exports.Histogram32 !== undefined && memory instanceof wasm.Memory) wasmMemory = memory
    return made
  }
  try {
    await hdr.initWebAssembly()
  } finally {
    wasm.instantiate = instantiate
  }
}

/** Bytes of this thread's histogram WebAssembly memory (0 before initHistograms); it only ever grows. */
export const wasmMemoryBytes = (): number => wasmMemory?.buffer.byteLength ?? 0

export const newHistogram = (): hdr.Histogram =>
  hdr.build({ useWebAssembly: true, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000 })

export const recordMs = (h: hdr.Histogram, ms: number): void => h.recordValue(Math.max(0, Math.round(ms * 1000)))

export const encodeHistogram = (h: hdr.Histogram): string => hdr.encodeIntoCompressedBase64(h)

/** Merges encoded histograms exactly (never averages percentiles). */
export function mergeEncoded(encoded: readonly string[]): hdr.Histogram {
  const total = newHistogram()
  for (const e of encoded) {
    const h = hdr.decodeFromCompressedBase64(e, 32, true)
    total.add(h)
    h.destroy()
  }
  return total
}

export interface LatencySummary {
  readonly count: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

const ms = (us: number): number => Math.round(us) / 1000
export function summarize(h: hdr.Histogram): LatencySummary {
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: Math.round(h.mean) / 1000,
  }
}

export const summarizeEncoded = (encoded: readonly string[]): LatencySummary => {
  const h = mergeEncoded(encoded)
  const s = summarize(h)
  h.destroy()
  return s
}

export type { Histogram } from 'hdr-histogram-js'
