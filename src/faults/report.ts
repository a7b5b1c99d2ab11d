import type { RunResult } from '../report/result.js'

const s = (x: number | null): string => (x === null ? 'not within the run' : `${x} s`)

/** Lines for the end-of-run summary: each fault, its loss and its recovery. */
export function faultSummaryLines(r: Pick<RunResult, 'faults' | 'devices'>): string[] {
  const out: string[] = []
  const f = r.faults
  if (f) {
    f.schedule.forEach((rec, i) => {
      const loss = f.loss.windows[i]
      const rc = f.recovery[i]
      out.push(
        `  fault ${rec.label}: ${rec.startS}–${rec.endS} s${rec.error ? ` (NOT INJECTED: ${rec.error})` : ''}; lost ${loss?.lost ?? 0}, never acked ${loss?.neverAcknowledged ?? 0}, queue overflow ${loss?.queueOverflow ?? 0}; latency back under SLO ${s(rc?.recoveredUnderSloS ?? null)}, in the pre-fault band ${s(rc?.recoveredToBandS ?? null)}`,
      )
    })
    const o = f.loss.outside
    out.push(`  outside fault windows: lost ${o.lost}, never acked ${o.neverAcknowledged}, queue overflow ${o.queueOverflow}`)
  }
  if (r.devices && (r.devices.queueDropped > 0 || r.devices.reconnects > 0)) {
    out.push(
      `  devices: ${r.devices.reconnects} reconnects, ${r.devices.queueDropped} readings dropped by full queues (${r.devices.queuePolicy}, ${r.devices.queue} a device)`,
    )
  }
  return out
}

/** The "Faults" section of report.md (empty without faults). */
export function faultsMarkdown(r: Pick<RunResult, 'faults' | 'devices'>): string[] {
  const f = r.faults
  const L: string[] = []
  if (f) {
    L.push('', '## Faults', '')
    L.push(
      `Missing readings are attributed to the fault whose window (start − ${f.loss.graceBeforeS} s … end + ${f.loss.graceAfterS} s) holds their intended send time. ` +
        'Recovery: seconds from the fault’s end until the one-second p99 stayed under the SLO (or within 1.5 × the pre-fault band: the worst one-second p99 of the 10 s before the first fault) for 3 s.',
    )
    L.push('')
    L.push(
      '| fault | planned at (s) | began (s) | ended (s) | lost | never acked | queue overflow | pre-fault p99 (ms) | peak p99 (ms) | back under SLO | back in band | detail |',
    )
    L.push('|---|---|---|---|---|---|---|---|---|---|---|---|')
    f.schedule.forEach((rec, i) => {
      const loss = f.loss.windows[i]
      const rc = f.recovery[i]
      const detail = (rec.error ? `NOT INJECTED: ${rec.error}` : rec.detail).replace(/\|/g, '\\|')
      L.push(
        `| ${rec.label} | ${rec.plannedAtSeconds} | ${rec.startS} | ${rec.endS} | ${loss.lost} | ${loss.neverAcknowledged} | ${loss.queueOverflow} | ${rc.preFaultP99Ms ?? '–'} | ${rc.peakP99Ms} | ${s(rc.recoveredUnderSloS)} | ${s(rc.recoveredToBandS)} | ${detail} |`,
      )
    })
    const o = f.loss.outside
    L.push(`| outside every fault window | | | | ${o.lost} | ${o.neverAcknowledged} | ${o.queueOverflow} | | | | | |`)
  }
  if (r.devices) {
    L.push(
      '',
      `Devices: queue ${r.devices.queue} readings each, ${r.devices.queuePolicy} when full; ${r.devices.queueDropped} readings dropped by full queues; ${r.devices.reconnects} reconnects.`,
    )
  }
  return L
}
