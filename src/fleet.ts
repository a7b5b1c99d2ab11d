import type { Kind } from './kinds.js'

/** How many devices of each kind a farm has; the fleet is `farms` identical farms. */
export interface FleetShape {
  readonly farms: number
  readonly cowsPerFarm: number
  readonly stallsPerFarm: number
  readonly tanksPerFarm: number
}

export interface Device {
  /** Global index, 0..fleetSize-1: farm-major, then collars, milk meters, tanks. */
  readonly index: number
  readonly id: string
  readonly farm: string
  readonly farmIndex: number
  readonly kind: Kind
  /** 0-based position among the farm's devices of this kind. */
  readonly ordinal: number
}

/** The fleet's four numbers out of anything that carries them (a resolved config, a stored run's options). */
export const fleetOf = (c: FleetShape): FleetShape => ({
  farms: c.farms,
  cowsPerFarm: c.cowsPerFarm,
  stallsPerFarm: c.stallsPerFarm,
  tanksPerFarm: c.tanksPerFarm,
})

export const devicesPerFarm = (s: FleetShape): number => s.cowsPerFarm + s.stallsPerFarm + s.tanksPerFarm
export const fleetSize = (s: FleetShape): number => s.farms * devicesPerFarm(s)

const pad = (n: number, width: number): string => String(n).padStart(width, '0')
export const farmId = (s: FleetShape, farmIndex: number): string => `farm${pad(farmIndex + 1, Math.max(2, String(s.farms).length))}`

export function deviceAt(s: FleetShape, index: number): Device {
  const per = devicesPerFarm(s)
  const farmIndex = Math.floor(index / per)
  const r = index % per
  const farm = farmId(s, farmIndex)
  let kind: Kind
  let ordinal: number
  if (r < s.cowsPerFarm) {
    kind = 'collar'
    ordinal = r
  } else if (r < s.cowsPerFarm + s.stallsPerFarm) {
    kind = 'milk'
    ordinal = r - s.cowsPerFarm
  } else {
    kind = 'chiller'
    ordinal = r - s.cowsPerFarm - s.stallsPerFarm
  }
  return { index, id: `${farm}-${kind}-${pad(ordinal + 1, 4)}`, farm, farmIndex, kind, ordinal }
}

/** The MQTT topic a device publishes its telemetry on: {prefix}farm/{farm}/{kind}/{device}/telemetry. */
export const telemetryTopic = (prefix: string, d: Device): string => `${prefix}farm/${d.farm}/${d.kind}/${d.id}/telemetry`

/** The subscription that covers one farm's telemetry; works on every broker and keeps each device's order. */
export const farmFilter = (prefix: string, farm: string): string => `${prefix}farm/${farm}/+/+/telemetry`
