import type { AlertEvent } from '../alerts/engine.js'
import { KINDS } from '../kinds.js'
import type { AlertRules } from '../alerts/rules.js'
import type { DecodedReading } from '../ingest/decode.js'
import { NO_FAULTS, type Accepted, type FaultBatch, type IngestFaultSeam } from '../ingest/fault-seam.js'

/**
 * Test-only: makes the ingest misbehave in a counted way so tests can show that the verifier catches
 * it. It never runs unless --fault-hook / IOTBENCH_FAULT_HOOK is given; the ingest core sees it only
 * through its seam (src/ingest/fault-seam.ts).
 *   drop, duplicate, reorder   readings (P1, P3)
 *   corrupt                    change the first field of N readings before they are stored (P2)
 *   stallMs                    hold the first batch's commit this long (P4, P6)
 *   dropAlert                  raise but never write N alerts (P5: missed)
 *   spuriousAlert              write N raises no rule made (P5: spurious)
 *   delayAlert                 write N raises one reading later than their rule allows (P5: late)
 *   deadLetter                 reject N valid readings into dead_letters (P7, and P1: lost)
 *   dropLive                   store N readings but keep them from the live feed (P9: missing)
 */
export const FAULT_HOOK_NAMES = [
  'drop',
  'duplicate',
  'reorder',
  'corrupt',
  'stallMs',
  'dropAlert',
  'spuriousAlert',
  'delayAlert',
  'deadLetter',
  'dropLive',
] as const
export type FaultBudget = Record<(typeof FAULT_HOOK_NAMES)[number], number>

const one = `(${FAULT_HOOK_NAMES.join('|')})=\\d+`
/** --fault-hook's value: name=N,… */
export const FAULT_HOOK_PATTERN = new RegExp(`^(${one})(,${one})*$`)

export function parseFaultHook(spec: string | undefined): FaultBudget {
  const budget = Object.fromEntries(FAULT_HOOK_NAMES.map((n) => [n, 0])) as FaultBudget
  for (const part of (spec ?? '').split(',').filter(Boolean)) {
    const [name, n] = part.split('=')
    if ((FAULT_HOOK_NAMES as readonly string[]).includes(name)) budget[name as keyof FaultBudget] = Number(n)
  }
  return budget
}

/** The seam the ingest core gets: NO_FAULTS unless the hook asks for one. */
export function ingestFaultsOf(spec: string | undefined, rules: AlertRules, clock: () => number, topicPrefix: string): IngestFaultSeam {
  const budget = parseFaultHook(spec)
  return Object.values(budget).some((n) => n > 0) ? new IngestFaultHook(budget, rules, clock, topicPrefix) : NO_FAULTS
}

class IngestFaultHook implements IngestFaultSeam {
  /** A reading held back by the reorder fault, written after the device's next one. */
  private held: Accepted | undefined
  /** delayAlert: raises held back until their device reaches `dueSeq`. */
  private readonly delayed = new Map<string, { event: AlertEvent; dueSeq: number }>()

  constructor(
    private readonly fault: FaultBudget,
    private readonly rules: AlertRules,
    private readonly clock: () => number,
    private readonly topicPrefix: string,
  ) {}

  write(accepted: DecodedReading, received: number, rx: number, batch: FaultBatch): void {
    const { fault } = this
    let reading = accepted
    if (fault.drop > 0) {
      fault.drop--
      return
    }
    if (fault.corrupt > 0 && reading.values.length > 0) {
      fault.corrupt--
      const v = reading.values[0]
      reading = { ...reading, values: [typeof v === 'boolean' ? !v : v + 1, ...reading.values.slice(1)] }
    }
    if (fault.deadLetter > 0) {
      fault.deadLetter--
      const values = Object.fromEntries(KINDS[reading.kind].fields.map((f, i) => [f.name, reading.values[i]]))
      const payload = Buffer.from(
        JSON.stringify({ device: reading.device, kind: reading.kind, seq: reading.seq, ts: reading.ts, sent: reading.sent, values }),
      )
      batch.deadLetter({
        received,
        topic: `${this.topicPrefix}farm/${reading.device.split('-')[0]}/${reading.kind}/${reading.device}/telemetry`,
        payload,
        reason: 'fault-hook',
      })
      return
    }
    const held = this.held
    if (held && held.reading.device === reading.device) {
      // The held reading goes in after this one: it takes the later receive order.
      batch.store(reading, received, held.rx)
      batch.store(held.reading, held.received, rx)
      this.held = undefined
      return
    }
    if (fault.reorder > 0 && !held) {
      fault.reorder--
      this.held = { reading, received, rx }
      return
    }
    batch.store(reading, received, rx)
    if (fault.duplicate > 0) {
      fault.duplicate--
      batch.storeAgain(reading, received)
    }
  }

  alerts(reading: DecodedReading, events: readonly AlertEvent[]): readonly AlertEvent[] {
    const { fault } = this
    const out: AlertEvent[] = []
    if (fault.spuriousAlert > 0 && reading.kind === 'collar') {
      fault.spuriousAlert--
      const rule = this.rules.collar.find((r) => r.rule.anomaly === null) ?? this.rules.collar[0]
      if (rule)
        out.push({
          device: reading.device,
          kind: reading.kind,
          rule: rule.name,
          event: 'raise',
          seq: reading.seq,
          ts: reading.ts,
          sent: reading.sent,
          raisedAt: this.clock(),
          value: Number(reading.values[0]),
          reading: {},
        })
    }
    const due = this.delayed.get(reading.device)
    if (due && reading.seq >= due.dueSeq) {
      this.delayed.delete(reading.device)
      out.push({ ...due.event, seq: reading.seq, ts: reading.ts, sent: reading.sent, raisedAt: this.clock() })
    }
    for (const e of events) {
      if (e.event === 'raise' && fault.dropAlert > 0) {
        fault.dropAlert--
        continue
      }
      if (e.event === 'raise' && fault.delayAlert > 0 && !this.delayed.has(e.device)) {
        fault.delayAlert--
        // one reading later than the rule allows
        const allowed = this.rules[e.kind].find((r) => r.name === e.rule)?.rule.maxDelayReadings ?? 0
        this.delayed.set(e.device, { event: e, dueSeq: e.seq + allowed + 1 })
        continue
      }
      out.push(e)
    }
    return out
  }

  async beforeCommit(): Promise<void> {
    if (this.fault.stallMs <= 0) return
    const ms = this.fault.stallMs
    this.fault.stallMs = 0
    await new Promise((r) => setTimeout(r, ms))
  }

  live(readings: DecodedReading[]): DecodedReading[] {
    if (this.fault.dropLive <= 0 || readings.length === 0) return readings
    const n = Math.min(this.fault.dropLive, readings.length)
    this.fault.dropLive -= n
    return readings.slice(n)
  }

  release(batch: FaultBatch): void {
    if (!this.held) return
    batch.store(this.held.reading, this.held.received, this.held.rx)
    this.held = undefined
  }
}
