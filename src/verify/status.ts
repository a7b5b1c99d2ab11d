import { notApplicable } from './properties/types.js'
import type { PropertyId, PropertyResult } from './types.js'

/** How a property's line reads: ok, FAIL, or N/A (no data to judge it; the summary says why). */
export const propertyStatus = (p: PropertyResult): 'ok' | 'FAIL' | 'N/A' => (p.notApplicable !== undefined ? 'N/A' : p.pass ? 'ok' : 'FAIL')

/** Replaces the results of properties the run has no data for with "not applicable" and the reason. */
export function markNotApplicable(
  properties: readonly PropertyResult[],
  reasons: Readonly<Partial<Record<PropertyId, string>>>,
): PropertyResult[] {
  return properties.map((p) => {
    const reason = reasons[p.id]
    return reason === undefined ? p : notApplicable(p, reason)
  })
}
