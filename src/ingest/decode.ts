import { KINDS, type DecodedReading, type FieldValue, type Kind } from '../kinds.js'

export type { DecodedReading } from '../kinds.js'
export type Decoded = { readonly ok: true; readonly reading: DecodedReading } | { readonly ok: false; readonly reason: string }

const utf8 = new TextDecoder('utf-8', { fatal: true })
const fail = (reason: string): Decoded => ({ ok: false, reason })
const MAX_PAYLOAD = 64 * 1024
const MAX_SEQ = 2 ** 31 - 1
/** 1970..2200: anything outside is a broken clock or a corrupted payload. */
const TS_MIN = 0
const TS_MAX = 7_258_118_400_000

/** device, kind, seq, ts, sent, values */
const TOP_LEVEL_KEYS = 6

/** Colons outside strings: the number of key/value pairs in a JSON text, whatever the nesting. */
function pairsIn(text: string): number {
  let pairs = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x3a) pairs++
  }
  return pairs
}

/** Splits `{prefix}farm/{farm}/{kind}/{device}/telemetry`; null when the topic has another shape. */
export function parseTopic(topic: string, prefix: string): { farm: string; kind: string; device: string } | null {
  if (!topic.startsWith(prefix)) return null
  const parts = topic.slice(prefix.length).split('/')
  if (parts.length !== 5 || parts[0] !== 'farm' || parts[4] !== 'telemetry') return null
  const [, farm, kind, device] = parts as [string, string, string, string]
  if (!farm || !kind || !device) return null
  return { farm, kind, device }
}

/** Decodes and validates one telemetry payload; every rejection names its reason (for dead_letters). */
export function decodeTelemetry(topic: string, payload: Uint8Array, prefix: string): Decoded {
  const t = parseTopic(topic, prefix)
  if (!t) return fail('bad-topic')
  if (payload.length > MAX_PAYLOAD) return fail('too-large')
  let text: string
  try {
    text = utf8.decode(payload)
  } catch {
    return fail('invalid-utf8')
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return fail('invalid-json')
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return fail('not-an-object')
  const o = doc as Record<string, unknown>
  if (typeof o.kind !== 'string' || !Object.hasOwn(KINDS, o.kind)) return fail('unknown-kind')
  const kind = o.kind as Kind
  if (kind !== t.kind) return fail('topic-mismatch')
  if (typeof o.device !== 'string' || o.device !== t.device) return fail('topic-mismatch')
  if (typeof o.seq !== 'number' || !Number.isInteger(o.seq) || o.seq < 0 || o.seq > MAX_SEQ) return fail('bad-seq')
  if (typeof o.ts !== 'number' || !Number.isFinite(o.ts) || o.ts < TS_MIN || o.ts > TS_MAX) return fail('bad-ts')
  if (typeof o.sent !== 'number' || !Number.isFinite(o.sent) || o.sent < TS_MIN || o.sent > TS_MAX) return fail('bad-sent')
  const v = o.values
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('missing-values')
  const vals = v as Record<string, unknown>
  const spec = KINDS[kind].fields
  if (Object.keys(vals).length !== spec.length || Object.keys(o).length !== TOP_LEVEL_KEYS) return fail('wrong-field-set')
  const values: FieldValue[] = new Array(spec.length)
  for (let i = 0; i < spec.length; i++) {
    const f = spec[i]
    const x = vals[f.name]
    switch (f.type) {
      case 'float8':
        if (typeof x !== 'number' || !Number.isFinite(x)) return fail(`bad-field:${f.name}`)
        break
      case 'int4':
        if (typeof x !== 'number' || !Number.isInteger(x) || x < -(2 ** 31) || x > MAX_SEQ) return fail(`bad-field:${f.name}`)
        break
      case 'bool':
        if (typeof x !== 'boolean') return fail(`bad-field:${f.name}`)
        break
    }
    values[i] = x
  }
  // JSON.parse keeps the last of duplicate keys silently; a payload that names a field twice is
  // ambiguous, so count the key/value pairs in the text itself (every value is a scalar by now).
  if (pairsIn(text) !== TOP_LEVEL_KEYS + spec.length) return fail('duplicate-key')
  return { ok: true, reading: { kind, device: o.device, seq: o.seq, ts: o.ts, sent: o.sent, values } }
}
