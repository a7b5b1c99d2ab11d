import type { Kind } from '../../kinds.js'
import type { KindReport } from '../parallel.js'
import type { PropertyId } from '../types.js'
import { setProperties } from '../verdicts.js'
import type { Property } from './types.js'

/** What the set-based (or row-by-row) pass over the sensor tables found, per kind. */
export interface SetsReport {
  readonly perKind: Map<Kind, KindReport>
  readonly method: Record<string, unknown>
}

const setProperty = (i: 0 | 1 | 2, id: PropertyId, name: string): Property => ({
  id,
  name,
  lane: 'main',
  check: async (ctx) => setProperties(await ctx.sets(), ctx.manifest, ctx.slo)[i],
})

/** P1 completeness: every reading acknowledged at the source is stored (lost, duplicated, unexpected, recovered). */
export const completeness = setProperty(0, 'P1', 'completeness')
/** P2 integrity: every stored value equals the oracle's. */
export const integrity = setProperty(1, 'P2', 'integrity')
/** P3 ordering: per device, receive order follows seq. */
export const ordering = setProperty(2, 'P3', 'ordering')
