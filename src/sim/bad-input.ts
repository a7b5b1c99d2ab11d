import { deviceAt, fleetSize, telemetryTopic, type FleetShape } from '../fleet.js'
import { uniform } from './random.js'

/**
 * Malformed telemetry the simulators inject (P7), deterministic from the run's seed. Each message
 * carries the dead-letter reason the ingest must give it: the wire contract of README "Dead letters",
 * written down here independently of the ingest's decoder (which this module never imports).
 */
export interface BadMessage {
  readonly topic: string
  /** Payload bytes, base64 (some are not valid UTF-8). */
  readonly payload: string
  readonly reason: string
  /** Which malformation. */
  readonly type: string
}

const BAD_STREAM = 7_000
const TYPES = [
  'invalid-json',
  'truncated',
  'invalid-utf8',
  'not-an-object',
  'unknown-kind',
  'topic-mismatch',
  'wrong-type',
  'nan',
  'bad-seq',
  'missing-values',
] as const

/** The `count` malformed messages of a run: types in turn, devices drawn from (seed, i). */
export function badInputs(seed: number, fleet: FleetShape, prefix: string, count: number): BadMessage[] {
  const n = fleetSize(fleet)
  const out: BadMessage[] = []
  for (let i = 0; i < count; i++) {
    const d = deviceAt(fleet, Math.floor(uniform(seed, i, 0, BAD_STREAM) * n))
    const other = deviceAt(fleet, (d.index + 1) % n)
    const topic = telemetryTopic(prefix, d)
    const type = TYPES[i % TYPES.length]
    const good = { device: d.id, kind: d.kind, seq: 1_000_000 + i, ts: 1, sent: 1, values: {} as Record<string, unknown> }
    let text: string | Buffer
    let reason: string
    switch (type) {
      case 'invalid-json':
        text = `{"device":"${d.id}",,}`
        reason = 'invalid-json'
        break
      case 'truncated':
        text = JSON.stringify(good).slice(0, 25)
        reason = 'invalid-json'
        break
      case 'invalid-utf8':
        text = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
        reason = 'invalid-utf8'
        break
      case 'not-an-object':
        text = '[1,2,3]'
        reason = 'not-an-object'
        break
      case 'unknown-kind':
        text = JSON.stringify({ ...good, kind: 'toaster' })
        reason = 'unknown-kind'
        break
      case 'topic-mismatch':
        text = JSON.stringify({ ...good, device: other.id === d.id ? `${d.id}x` : other.id })
        reason = 'topic-mismatch'
        break
      case 'wrong-type':
        text = JSON.stringify({ ...good, seq: 'seven' })
        reason = 'bad-seq'
        break
      case 'nan':
        text = JSON.stringify(good).replace('"ts":1', '"ts":NaN')
        reason = 'invalid-json'
        break
      case 'bad-seq':
        text = JSON.stringify({ ...good, seq: -1 - i })
        reason = 'bad-seq'
        break
      case 'missing-values':
        text = JSON.stringify({ ...good, values: null })
        reason = 'missing-values'
        break
    }
    out.push({ topic, payload: (typeof text === 'string' ? Buffer.from(text) : text).toString('base64'), reason, type })
  }
  return out
}
