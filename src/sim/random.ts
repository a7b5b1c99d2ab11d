/**
 * Counter-based randomness: every draw is a pure function of (seed, device, seq, stream), so any
 * reading can be regenerated on its own, in any order, on any thread or machine.
 */
function mix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  h = Math.imul(h, 0x846ca68b)
  h ^= h >>> 16
  return h >>> 0
}

/** Uniform in [0, 1). */
export function uniform(seed: number, device: number, seq: number, stream: number): number {
  let h = mix32(seed ^ 0x9e3779b9)
  h = mix32(h ^ device)
  h = mix32(h ^ Math.imul(seq, 0x85ebca6b))
  h = mix32(h ^ Math.imul(stream + 1, 0xc2b2ae35))
  return h / 4294967296
}

/** Standard normal (Box–Muller over two counter-based uniforms). */
export function normal(seed: number, device: number, seq: number, stream: number): number {
  const u1 = uniform(seed, device, seq, stream * 2) || 1e-12
  const u2 = uniform(seed, device, seq, stream * 2 + 1)
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}
