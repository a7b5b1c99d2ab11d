import type { Sample } from '../types.js'

export const firstOf = (lists: Sample[][]): Sample[] => lists.flat().slice(0, 20)
/** The first offender of each failing class, for the one-line summary (the evidence lists up to 20 of each). */
export const firstNamed = (classes: ReadonlyArray<readonly [label: string, samples: ReadonlyArray<{ device: string; seq: number; rule?: string }>]>): string => {
  const named = classes.flatMap(([label, xs]) => (xs[0] ? [`${label ? `${label} ` : ''}${xs[0].device}${xs[0].rule ? ` ${xs[0].rule}` : ''} seq ${xs[0].seq}`] : []))
  return named.length ? ` (first ${named.join('; ')})` : ''
}
