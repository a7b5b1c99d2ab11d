import { deviceAt, fleetSize } from '../fleet.js'
import { KINDS, type Kind } from '../kinds.js'
import type { GeneratorContext } from './context.js'
import { generateReading } from './generator.js'
import { headerOf } from './replay.js'

/**
 * Records generated readings as a replay trace (the CSV format of replay.ts, ts in ISO 8601): how the
 * sample under sensor-profiles/traces/ was made, and a starting point for hand-edited traces.
 */
export function traceCsv(ctx: GeneratorContext, kind: Kind, perDevice: number): string {
  const lines = [headerOf(kind)]
  for (let i = 0; i < fleetSize(ctx.fleet); i++) {
    const d = deviceAt(ctx.fleet, i)
    if (d.kind !== kind) continue
    for (let seq = 0; seq < perDevice; seq++) {
      const r = generateReading(ctx, d, seq)
      lines.push([d.id, seq, new Date(r.ts).toISOString(), ...KINDS[kind].fields.map((f) => String(r.values[f.name]))].join(','))
    }
  }
  return `${lines.join('\n')}\n`
}
