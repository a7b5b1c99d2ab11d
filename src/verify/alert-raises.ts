import type { Device } from '../fleet.js'
import type { FieldValue } from '../kinds.js'
import type { AlertRule, Op } from '../alerts/rules.js'
import type { Oracle } from '../sim/oracle.js'

/**
 * Where a rule raises on the oracle's values, evaluated here from the rules as data (P5 shares only
 * data with the ingest's engine, never its code).
 */

/** The rule data's comparison, written here again: the verifier shares only data with the engine. */
function compare(x: FieldValue, op: Op, v: number | boolean): boolean {
  if (op === '==') return x === v
  if (typeof x !== 'number' || typeof v !== 'number') return false
  return op === '>=' ? x >= v : op === '<=' ? x <= v : op === '>' ? x > v : x < v
}

/**
 * Evaluates one rule on consecutive readings [from, to) from scratch: the seqs where it raises (only
 * the first at or after `stopAt`, when given). Independent of src/alerts/engine.ts.
 */
export function raisesOf(rule: AlertRule, device: Device, oracle: Oracle, from: number, to: number, stopAt?: number): number[] {
  const out: number[] = []
  let active = false
  let count = 0
  let last: FieldValue | undefined
  let since = 0 // readings since the condition last held
  const sums: number[] = []
  for (let seq = from; seq < to; seq++) {
    const v = oracle.expected(device, seq).values
    let raise = false
    let clear = false
    let held = false
    if ((rule.when ?? []).every((c) => compare(v[c.field], c.op, c.value))) {
      if (rule.type === 'threshold') {
        const x = v[rule.field] as number
        held = compare(x, rule.op, rule.value)
        count = held ? count + 1 : 0
        raise = !active && count >= rule.forReadings
        clear = active && !raise && compare(x, rule.clear.op, rule.clear.value)
      } else if (rule.type === 'stuck') {
        const x = v[rule.field]
        held = x === last
        count = held ? count + 1 : 1
        last = x
        raise = !active && count >= rule.forReadings
        clear = active && count === 1
      } else {
        let s = 0
        for (const f of rule.fields) s += v[f] as number
        sums.push(s)
        if (sums.length > rule.window) sums.shift()
        if (sums.length === rule.window) {
          let total = 0
          for (const q of sums) total += q
          const mean = total / rule.window
          held = compare(mean, rule.op, rule.value)
          raise = !active && held
          clear = active && !raise && compare(mean, rule.clear.op, rule.clear.value)
        }
      }
    }
    since = held ? 0 : since + 1
    if (!raise && active && rule.resetAfterReadings !== undefined && since >= rule.resetAfterReadings) clear = true
    if (raise) {
      active = true
      out.push(seq)
      if (stopAt !== undefined && seq >= stopAt) break
    } else if (clear) active = false
  }
  return out
}
