import type { Kind } from '../kinds.js'
import { KINDS } from '../kinds.js'

/**
 * Alert rules as data (sensor-profiles/sensors/<kind>.json, "alerts"). Both the ingest's streaming
 * engine (src/alerts/engine.ts) and the verifier (src/verify/alerts.ts) read these numbers; neither
 * imports the other, so a bug on either side shows up as a failed P5 instead of agreeing with itself.
 *
 * Semantics (each rule, per device, over readings in arrival order):
 * - a reading that fails any `when` guard is ignored by the rule (no raise, no clear, no count);
 * - threshold: raise when `field op value` held for `forReadings` consecutive considered readings
 *   and the rule is not active; clear when the `clear` condition holds on one considered reading;
 * - stuck: raise when `field` had the same value for `forReadings` consecutive readings; clear when
 *   it changes;
 * - mean: raise when the mean of (sum of `fields`) over the last `window` readings satisfies
 *   `op value` (only once `window` readings were seen); clear when the same mean satisfies `clear`.
 * An active alert also clears after `resetAfterReadings` consecutive readings (guarded out or not) in
 * which the rule's condition (threshold met, value repeated, mean met) did not hold: a sensor that
 * stops showing the problem, e.g. no milking for hours, does not keep an alert open for ever.
 * `anomaly` names the injected anomaly kind the rule detects (null: a plain condition such as low
 * battery); `maxDelayReadings` is the allowed detection delay, in readings, counted from the first
 * reading whose values meet the rule (see docs/verification.md, P5).
 */
export type Op = '>=' | '<=' | '>' | '<' | '=='
export interface Condition {
  readonly field: string
  readonly op: Op
  readonly value: number | boolean
}
interface RuleBase {
  readonly description?: string
  readonly anomaly: string | null
  readonly maxDelayReadings: number
  readonly when?: readonly Condition[]
  /** An active alert also clears after this many consecutive readings in which the rule's condition did not hold. */
  readonly resetAfterReadings?: number
  /**
   * Other injected anomalies that may legitimately trip this rule (a tank probe stuck at a warm value
   * looks like an excursion): an alert inside one of their windows is explained, not spurious; those
   * windows do not require an alert.
   */
  readonly alsoFrom?: readonly string[]
}
export type AlertRule =
  | (RuleBase & {
      readonly type: 'threshold'
      readonly field: string
      readonly op: Op
      readonly value: number
      readonly forReadings: number
      readonly clear: { readonly op: Op; readonly value: number }
    })
  | (RuleBase & { readonly type: 'stuck'; readonly field: string; readonly forReadings: number })
  | (RuleBase & {
      readonly type: 'mean'
      readonly fields: readonly string[]
      readonly window: number
      readonly op: Op
      readonly value: number
      readonly clear: { readonly op: Op; readonly value: number }
    })

/** A rule with its name and sensor kind, field names resolved to column indexes of KINDS[kind].fields. */
export interface NamedRule {
  readonly name: string
  readonly kind: Kind
  readonly rule: AlertRule
}
export type AlertRules = Readonly<Record<Kind, readonly NamedRule[]>>

const ops = ['>=', '<=', '>', '<', '=='] as const
const cond = {
  type: 'object',
  properties: { op: { enum: ops }, value: { type: 'number' } },
  required: ['op', 'value'],
  additionalProperties: false,
}
const guard = {
  type: 'object',
  properties: { field: { type: 'string' }, op: { enum: ops }, value: { type: ['number', 'boolean'] } },
  required: ['field', 'op', 'value'],
  additionalProperties: false,
}
const base = {
  description: { type: 'string' },
  anomaly: { type: ['string', 'null'] },
  maxDelayReadings: { type: 'integer', minimum: 0, maximum: 100_000 },
  when: { type: 'array', items: guard, maxItems: 8 },
  resetAfterReadings: { type: 'integer', minimum: 1, maximum: 1_000_000 },
  alsoFrom: { type: 'array', items: { type: 'string' }, maxItems: 8 },
}
/** JSON schema of one sensor model's "alerts" section (name → rule). */
export const ALERTS_SCHEMA: object = {
  type: 'object',
  additionalProperties: {
    oneOf: [
      {
        type: 'object',
        properties: {
          ...base,
          type: { const: 'threshold' },
          field: { type: 'string' },
          op: { enum: ops },
          value: { type: 'number' },
          forReadings: { type: 'integer', minimum: 1, maximum: 10_000 },
          clear: cond,
        },
        required: ['type', 'anomaly', 'maxDelayReadings', 'field', 'op', 'value', 'forReadings', 'clear'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: {
          ...base,
          type: { const: 'stuck' },
          field: { type: 'string' },
          forReadings: { type: 'integer', minimum: 2, maximum: 10_000 },
        },
        required: ['type', 'anomaly', 'maxDelayReadings', 'field', 'forReadings'],
        additionalProperties: false,
      },
      {
        type: 'object',
        properties: {
          ...base,
          type: { const: 'mean' },
          fields: { type: 'array', items: { type: 'string' }, minItems: 1 },
          window: { type: 'integer', minimum: 1, maximum: 10_000 },
          op: { enum: ops },
          value: { type: 'number' },
          clear: cond,
        },
        required: ['type', 'anomaly', 'maxDelayReadings', 'fields', 'window', 'op', 'value', 'clear'],
        additionalProperties: false,
      },
    ],
  },
}

export function compare(x: number | boolean, op: Op, v: number | boolean): boolean {
  switch (op) {
    case '>=':
      return x >= v
    case '<=':
      return x <= v
    case '>':
      return x > v
    case '<':
      return x < v
    case '==':
      return x === v
  }
}

/**
 * Problems a schema cannot see: fields that the kind does not have, and a boolean compared by order
 * (`compressor_on >= 1`, `x > true`). JavaScript would answer those by coercing true to 1, and the
 * verifier (src/verify/alerts.ts), which says a boolean never meets an ordering, would disagree with
 * the engine: a boolean is compared with == only.
 */
export function ruleChecks(kind: Kind, alerts: Readonly<Record<string, AlertRule>>): string[] {
  const types = new Map(KINDS[kind].fields.map((f) => [f.name, f.type]))
  const problems: string[] = []
  for (const [name, r] of Object.entries(alerts)) {
    const fields = [...(r.type === 'mean' ? r.fields : [r.field]), ...(r.when ?? []).map((w) => w.field)]
    for (const f of fields) if (!types.has(f)) problems.push(`${kind}.alerts.${name}: ${kind} has no field "${f}"`)
    const compared: Condition[] = [
      ...(r.type === 'threshold'
        ? [
            { field: r.field, op: r.op, value: r.value },
            { field: r.field, ...r.clear },
          ]
        : []),
      ...(r.when ?? []),
    ]
    for (const c of compared) {
      if (c.op !== '==' && (typeof c.value === 'boolean' || types.get(c.field) === 'bool')) {
        problems.push(`${kind}.alerts.${name}: "${c.field} ${c.op} ${String(c.value)}" orders a boolean; compare a boolean with == only`)
      }
    }
  }
  return problems
}

/** The rules of every kind from the (resolved) sensor models; a model without "alerts" has none. */
export function alertRulesOf(models: unknown): AlertRules {
  const m = (models ?? {}) as Record<string, { alerts?: Record<string, AlertRule> } | undefined>
  const of = (kind: Kind): NamedRule[] => Object.entries(m[kind]?.alerts ?? {}).map(([name, rule]) => ({ name, kind, rule }))
  return { collar: of('collar'), milk: of('milk'), chiller: of('chiller') }
}

/** How many readings before a reading a rule can look back (its warm-up when evaluated from scratch). */
export const lookback = (r: AlertRule): number => (r.type === 'mean' ? r.window : r.forReadings)
