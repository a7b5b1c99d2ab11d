/**
 * The sensor kinds as data: table, columns and their types. The generator, the ingest decoder and the
 * verifier all read this, so none of them has to import another to agree on the wire and table shape.
 */
export type Kind = 'collar' | 'milk' | 'chiller'
export type FieldType = 'float8' | 'int4' | 'bool'

export interface FieldSpec {
  readonly name: string
  readonly type: FieldType
  readonly unit?: string
}

export interface KindSpec {
  readonly kind: Kind
  readonly table: string
  /**
   * Sampling interval of the simulated sensor, in simulated seconds. The same for every kind: every
   * device sends the same number of readings in a run, so simulated time advances alike for all of them.
   */
  readonly intervalSeconds: number
  readonly fields: readonly FieldSpec[]
}

export const KINDS: Readonly<Record<Kind, KindSpec>> = {
  collar: {
    kind: 'collar',
    table: 'collar_readings',
    intervalSeconds: 60,
    fields: [
      { name: 'activity', type: 'float8', unit: 'index' },
      { name: 'rumination_min', type: 'float8', unit: 'min' },
      { name: 'eating_min', type: 'float8', unit: 'min' },
      { name: 'neck_temp_c', type: 'float8', unit: '°C' },
      { name: 'battery_pct', type: 'float8', unit: '%' },
      { name: 'rssi_dbm', type: 'int4', unit: 'dBm' },
    ],
  },
  milk: {
    kind: 'milk',
    table: 'milk_readings',
    intervalSeconds: 60,
    fields: [
      { name: 'cow', type: 'int4' },
      { name: 'yield_kg', type: 'float8', unit: 'kg' },
      { name: 'flow_mean_kg_min', type: 'float8', unit: 'kg/min' },
      { name: 'flow_peak_kg_min', type: 'float8', unit: 'kg/min' },
      { name: 'conductivity_ms_cm', type: 'float8', unit: 'mS/cm' },
      { name: 'fat_pct', type: 'float8', unit: '%' },
      { name: 'protein_pct', type: 'float8', unit: '%' },
      { name: 'milk_temp_c', type: 'float8', unit: '°C' },
      { name: 'duration_s', type: 'int4', unit: 's' },
    ],
  },
  chiller: {
    kind: 'chiller',
    table: 'chiller_readings',
    intervalSeconds: 60,
    fields: [
      { name: 'milk_temp_c', type: 'float8', unit: '°C' },
      { name: 'compressor_on', type: 'bool' },
      { name: 'agitator_on', type: 'bool' },
      { name: 'volume_l', type: 'float8', unit: 'L' },
      { name: 'ambient_c', type: 'float8', unit: '°C' },
    ],
  },
}

export const KIND_NAMES: readonly Kind[] = ['collar', 'milk', 'chiller']

export type FieldValue = number | boolean

/** A reading as the ingest understood it from the wire (it never sees the generator); the alert engine reads it too. */
export interface DecodedReading {
  readonly kind: Kind
  readonly device: string
  readonly seq: number
  readonly ts: number
  readonly sent: number
  /** In the order of KINDS[kind].fields. */
  readonly values: readonly FieldValue[]
}
