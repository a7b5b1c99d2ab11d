import type { Spike } from '../sim/schedule.js'

/** A fleet outage: at `atSeconds` after the load starts, each device is offline with probability `share` for `seconds`. */
export interface OutageSpec {
  readonly atSeconds: number
  readonly seconds: number
  readonly share: number
}

/** The shape of the offered load over a run (profile "load"): baseline × spikes, plus fleet outages. */
export interface LoadShape {
  readonly spikes?: readonly Spike[]
  readonly outages?: readonly OutageSpec[]
}

const item = (properties: Record<string, object>): object => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
})

export const loadShapeSchema = (): object => ({
  type: 'object',
  description: 'spikes of the offered rate and fleet outages, in seconds after the load starts',
  properties: {
    spikes: {
      type: 'array',
      maxItems: 1000,
      items: item({
        atSeconds: { type: 'number', minimum: 0 },
        seconds: { type: 'number', exclusiveMinimum: 0 },
        multiplier: { type: 'number', minimum: 0.01, maximum: 1000 },
      }),
    },
    outages: {
      type: 'array',
      maxItems: 100,
      items: item({
        atSeconds: { type: 'number', minimum: 0 },
        seconds: { type: 'number', exclusiveMinimum: 0 },
        share: { type: 'number', minimum: 0, maximum: 1 },
      }),
    },
  },
  additionalProperties: false,
})

/** Rules the schema cannot say. */
export function loadChecks(load: LoadShape | undefined, durationSeconds: number): string[] {
  const problems: string[] = []
  const spikes = [...(load?.spikes ?? [])].sort((a, b) => a.atSeconds - b.atSeconds)
  for (let i = 1; i < spikes.length; i++) {
    const prev = spikes[i - 1]
    if (spikes[i].atSeconds < prev.atSeconds + prev.seconds)
      problems.push(`load.spikes: the spike at ${spikes[i].atSeconds} s overlaps the one at ${prev.atSeconds} s (${prev.seconds} s long)`)
  }
  for (const s of spikes)
    if (s.atSeconds >= durationSeconds)
      problems.push(`load.spikes: the spike at ${s.atSeconds} s starts after the load ends (${durationSeconds} s)`)
  for (const o of load?.outages ?? [])
    if (o.atSeconds >= durationSeconds)
      problems.push(`load.outages: the outage at ${o.atSeconds} s starts after the load ends (${durationSeconds} s)`)
  return problems
}
