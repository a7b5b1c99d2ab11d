import { KINDS, type DecodedReading, type FieldValue, type Kind } from '../kinds.js'
import { compare, type AlertRules, type Condition, type NamedRule } from './rules.js'

/** A rule firing: written to the alerts table in the batch's transaction, raises published after commit. */
export interface AlertEvent {
  readonly device: string
  readonly kind: Kind
  readonly rule: string
  readonly event: 'raise' | 'clear'
  readonly seq: number
  readonly ts: number
  readonly sent: number
  readonly raisedAt: number
  /** The rule's value at the triggering reading (the field, or the window's mean). */
  readonly value: number
  /** The triggering reading's values, by field name. */
  readonly reading: Readonly<Record<string, FieldValue>>
}

/** Per device and rule: active, consecutive count or run length, last value, mean window, readings since the condition held. JSON-safe. */
interface RuleState {
  a: boolean
  n: number
  v: number | boolean | null
  q: number[]
  r: number
}
type DeviceState = Record<string, RuleState>

/** The engine sees readings exactly as the ingest decoded them. */
export type EngineReading = DecodedReading

interface Compiled {
  readonly r: NamedRule
  readonly field: number
  readonly fields: readonly number[]
  readonly guards: ReadonlyArray<{ readonly i: number; readonly c: Condition }>
}

/**
 * Streaming alert rules, state per device. Feed it only readings accepted into a batch (after the
 * de-duplication): a redelivered reading never advances a rule. The state of a device is a small JSON
 * value, snapshotted with every batch that touched the device (alert_state), so a restarted worker
 * resumes exactly where the last committed batch left it.
 */
export class AlertEngine {
  private readonly compiled: Record<Kind, Compiled[]>
  private readonly states = new Map<string, DeviceState>()

  constructor(
    rules: AlertRules,
    private readonly now: () => number = Date.now,
  ) {
    const compile = (kind: Kind): Compiled[] => {
      const idx = (name: string): number => KINDS[kind].fields.findIndex((f) => f.name === name)
      return rules[kind].map((r) => ({
        r,
        field: r.rule.type === 'mean' ? -1 : idx(r.rule.field),
        fields: r.rule.type === 'mean' ? r.rule.fields.map(idx) : [],
        guards: (r.rule.when ?? []).map((c) => ({ i: idx(c.field), c })),
      }))
    }
    this.compiled = { collar: compile('collar'), milk: compile('milk'), chiller: compile('chiller') }
  }

  get ruleCount(): number {
    return this.compiled.collar.length + this.compiled.milk.length + this.compiled.chiller.length
  }

  /** Evaluates every rule of the reading's kind; returns the raises and clears it caused. */
  evaluate(x: EngineReading): AlertEvent[] {
    const rules = this.compiled[x.kind]
    if (rules.length === 0) return []
    let st = this.states.get(x.device)
    if (!st) this.states.set(x.device, (st = {}))
    let out: AlertEvent[] | undefined
    for (const c of rules) {
      const rule = c.r.rule
      let s = st[c.r.name]
      if (!s) st[c.r.name] = s = { a: false, n: 0, v: null, q: [], r: 0 }
      s.r ??= 0
      let fire: 'raise' | 'clear' | undefined
      let value = 0
      let held = false
      let guarded = true
      for (const g of c.guards) if (!compare(x.values[g.i], g.c.op, g.c.value)) guarded = false
      if (guarded) {
        switch (rule.type) {
          case 'threshold': {
            const v = x.values[c.field] as number
            value = v
            held = compare(v, rule.op, rule.value)
            s.n = held ? s.n + 1 : 0
            if (!s.a && s.n >= rule.forReadings) fire = 'raise'
            else if (s.a && compare(v, rule.clear.op, rule.clear.value)) fire = 'clear'
            break
          }
          case 'stuck': {
            const v = x.values[c.field]
            value = Number(v)
            held = s.v === v
            s.n = held ? s.n + 1 : 1
            s.v = v
            if (!s.a && s.n >= rule.forReadings) fire = 'raise'
            else if (s.a && s.n === 1) fire = 'clear'
            break
          }
          case 'mean': {
            let sum = 0
            for (const i of c.fields) sum += x.values[i] as number
            s.q.push(sum)
            if (s.q.length > rule.window) s.q.shift()
            if (s.q.length < rule.window) break
            let total = 0
            for (const q of s.q) total += q
            value = total / rule.window
            held = compare(value, rule.op, rule.value)
            if (!s.a && held) fire = 'raise'
            else if (s.a && compare(value, rule.clear.op, rule.clear.value)) fire = 'clear'
            break
          }
        }
      }
      s.r = held ? 0 : s.r + 1
      if (!fire && s.a && rule.resetAfterReadings !== undefined && s.r >= rule.resetAfterReadings) fire = 'clear'
      if (!fire) continue
      s.a = fire === 'raise'
      const reading: Record<string, FieldValue> = {}
      KINDS[x.kind].fields.forEach((f, i) => (reading[f.name] = x.values[i]))
      ;(out ??= []).push({
        device: x.device,
        kind: x.kind,
        rule: c.r.name,
        event: fire,
        seq: x.seq,
        ts: x.ts,
        sent: x.sent,
        raisedAt: this.now(),
        value,
        reading,
      })
    }
    return out ?? []
  }

  /** The state of a device as JSON text (for alert_state). */
  snapshot(device: string): string {
    return JSON.stringify(this.states.get(device) ?? {})
  }

  /** Restores a device's state from its last snapshot. */
  restore(device: string, json: string): void {
    this.states.set(device, JSON.parse(json) as DeviceState)
  }
}
