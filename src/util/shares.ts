/** Size of part `i` when `n` items are split into `parts` parts: exact, the remainder goes to the first parts. */
export const shareOf = (n: number, parts: number, i: number): number => Math.floor(n / parts) + (i < n % parts ? 1 : 0)

/** Half-open ranges [from, to) that split 0..n-1 into `parts` contiguous, exact shares. */
export function splitRange(n: number, parts: number): Array<readonly [from: number, to: number]> {
  const out: Array<readonly [number, number]> = []
  let from = 0
  for (let i = 0; i < parts; i++) {
    const size = shareOf(n, parts, i)
    out.push([from, from + size])
    from += size
  }
  return out
}
