import type { Device, FleetShape } from '../fleet.js'
import { KINDS, type FieldValue } from '../kinds.js'
import { normal, uniform } from './random.js'

/** One sensor reading: a pure function of (seed, simulated start, fleet shape, device, seq). */
export interface Reading {
  readonly device: Device
  readonly seq: number
  /** Sensor time (simulated), epoch milliseconds. */
  readonly ts: number
  readonly values: Readonly<Record<string, FieldValue>>
}

export interface GeneratorContext {
  readonly seed: number
  /** Simulated time of seq 0, epoch ms. */
  readonly simStartMs: number
  readonly fleet: FleetShape
}

const HOUR = 3_600_000
const round2 = (x: number): number => Math.round(x * 100) / 100
const hourOfDay = (ts: number): number => (((ts % (24 * HOUR)) + 24 * HOUR) % (24 * HOUR)) / HOUR
/** A bump centred on `centre` (hours), `width` hours wide, wrapping around midnight. */
function bump(h: number, centre: number, width: number): number {
  const d = Math.min(Math.abs(h - centre), 24 - Math.abs(h - centre))
  return Math.exp(-(d * d) / (2 * width * width))
}

/** Milking sessions start at 05:00 and 16:00; milk arrives in the tank for two hours after each. */
const MILKINGS = [5, 16]
const COLLECTION_HOUR = 8

export function sensorTime(ctx: GeneratorContext, device: Device, seq: number): number {
  return ctx.simStartMs + seq * KINDS[device.kind].intervalSeconds * 1000
}

export function generateReading(ctx: GeneratorContext, device: Device, seq: number): Reading {
  const ts = sensorTime(ctx, device, seq)
  const h = hourOfDay(ts)
  const n = (stream: number): number => normal(ctx.seed, device.index, seq, stream)
  const u = (stream: number): number => uniform(ctx.seed, device.index, seq, stream)
  switch (device.kind) {
    case 'collar': {
      const feeding = bump(h, 6.5, 1.2) + bump(h, 17.5, 1.2)
      const resting = bump(h, 2, 2.5)
      const activity = Math.max(0, 18 + 40 * feeding - 10 * resting + 6 * n(0))
      const eating = Math.min(1, Math.max(0, 0.15 + 0.6 * feeding + 0.08 * n(1)))
      const rumination = Math.min(1 - eating, Math.max(0, 0.35 + 0.25 * resting - 0.2 * feeding + 0.08 * n(2)))
      const neck = 38.5 + 0.25 * Math.sin((2 * Math.PI * (h - 10)) / 24) + 0.08 * n(3)
      const cowDrain = 0.0004 + 0.0002 * uniform(ctx.seed, device.index, 0, 99)
      const battery = Math.max(0, 100 - seq * cowDrain)
      return {
        device, seq, ts,
        values: {
          activity: round2(activity),
          rumination_min: round2(rumination),
          eating_min: round2(eating),
          neck_temp_c: round2(neck),
          battery_pct: round2(battery),
          rssi_dbm: Math.round(-68 + 5 * n(4)),
        },
      }
    }
    case 'milk': {
      const cow = ((device.ordinal * 7 + seq) % ctx.fleet.cowsPerFarm) + 1
      const cowBase = 12 + 3 * uniform(ctx.seed, device.farmIndex * 100_003 + cow, 0, 7)
      const yieldKg = Math.max(2, cowBase + 1.2 * n(0))
      const duration = Math.max(120, Math.round(330 + 25 * yieldKg / 13 + 40 * n(1)))
      const flowMean = yieldKg / (duration / 60)
      return {
        device, seq, ts,
        values: {
          cow,
          yield_kg: round2(yieldKg),
          flow_mean_kg_min: round2(flowMean),
          flow_peak_kg_min: round2(flowMean * (1.5 + 0.1 * u(2))),
          conductivity_ms_cm: round2(4.9 + 0.25 * n(3)),
          fat_pct: round2(4.0 + 0.2 * n(4)),
          protein_pct: round2(3.35 + 0.1 * n(5)),
          milk_temp_c: round2(36.8 + 0.3 * n(6)),
          duration_s: duration,
        },
      }
    }
    case 'chiller': {
      // Hours since the latest milking started (0..24), then warm inflow for 2 h, then cooling to ≤ 4 °C.
      const since = Math.min(...MILKINGS.map((m) => (h - m + 24) % 24))
      const warm = since < 2 ? 5.5 * (1 - Math.exp(-since / 0.5)) : 5.5 * Math.exp(-(since - 2) / 0.6)
      const temp = 3.4 + warm + 0.1 * n(0)
      const sinceCollection = (h - COLLECTION_HOUR + 24) % 24
      const milkings = MILKINGS.filter((m) => (m - COLLECTION_HOUR + 24) % 24 <= sinceCollection)
      const tankShare = ctx.fleet.cowsPerFarm / ctx.fleet.tanksPerFarm
      const volume = milkings.reduce((v, m) => {
        const into = Math.min(2, (sinceCollection - ((m - COLLECTION_HOUR + 24) % 24)))
        return v + (tankShare * 13 * Math.max(0, into)) / 2
      }, 0)
      const compressor = temp > 4
      return {
        device, seq, ts,
        values: {
          milk_temp_c: round2(temp),
          compressor_on: compressor,
          agitator_on: compressor || (seq % 15) < 2,
          volume_l: round2(volume),
          ambient_c: round2(14 + 7 * Math.sin((2 * Math.PI * (h - 9)) / 24) + 0.3 * n(1)),
        },
      }
    }
  }
}

/** The wire payload. `sent` is the intended send time (epoch ms), from which latency is measured. */
export function encodePayload(r: Reading, sentMs: number): string {
  return JSON.stringify({ device: r.device.id, kind: r.device.kind, seq: r.seq, ts: r.ts, sent: sentMs, values: r.values })
}
