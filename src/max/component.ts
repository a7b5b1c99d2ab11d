import type { RunResult } from '../report/result.js'

export type Component = 'generator' | 'broker' | 'ingest' | 'database'

export interface ComponentVerdict {
  readonly component: Component
  /** The numbers that named it. */
  readonly why: string
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined)

/**
/** Mosquitto (and the embedded aedes) forward on one thread: this share of a core over the load is saturated. */
export const BROKER_SATURATED_CORE = 0.9
/** An offered rate within this share of the broker's measured fan-out ceiling is the broker's limit. */
export const BROKER_CEILING_SHARE = 0.95

/**
 * Which stage of the pipeline limits a run, from what every run records (result.json: latency split by
 * hop, P6's send and commit ratios, P1's losses, the ingest's COPY/commit time share, CPU per component). In order:
 * - broker: its process (or thread) was busy ≥ 90 % of a core over the load (it forwards on one thread),
 *   or the offered rate is ≥ 95 % of its fan-out ceiling (`brokerCeilingPerS`: the simulators into it with
 *   one plain subscriber and no database, as bench:max measures it) — the broker before the generator,
 *   whose QoS 1 window then waits on the broker's acknowledgements;
 * - generator: the simulators fell behind their open-loop schedule (P6's send ratio, or schedule lag
 *   p99 above half the latency SLO): the load never reached the broker as offered;
 * - database: the ingest threads spent most of the run (≥ 60 %) inside COPY and COMMIT;
 * - ingest: more of the p99 is spent after the ingest received a reading (batch wait, decode, write)
 *   than between publish and receipt;
 * - broker: readings waited between publish and receipt (the broker hop beyond schedule lag
 *   dominates) while the ingest was not busy writing, or the broker lost acknowledged readings;
 * - otherwise ingest: it received late because it was busy (it reads no more while a window of
 *   unacknowledged readings waits for its commit).
 */
export function limitingComponent(
  r: Pick<RunResult, 'latency' | 'properties' | 'stages'> &
    Partial<Pick<RunResult, 'cpu' | 'rates'>> & { readonly transport?: Readonly<Record<string, unknown>> },
  sloP99Ms: number,
  brokerCeilingPerS?: number,
): ComponentVerdict {
  const lag = r.latency.scheduleLag.p99Ms
  const hop = r.latency.brokerHop.p99Ms
  const e2e = r.latency.endToEnd.p99Ms
  const p6 = r.properties.find((p) => p.id === 'P6')?.evidence ?? {}
  const p1 = r.properties.find((p) => p.id === 'P1')
  const sendRatio = num(p6['sendRatio']) ?? 1
  const tolerance = num(p6['tolerance']) ?? 0
  const copyShare = r.stages?.copyShare ?? 0
  const meanCopy = r.stages?.meanCopyMs ?? 0
  const f = (x: number): string => `${Math.round(x * 10) / 10}`
  // The broker's CPU over the load (schedule start to drained), else the run's over the publishers' load seconds.
  const window = r.cpu?.load
  const brokerSeconds = (window ?? r.cpu)?.components.broker.seconds
  const loadSeconds = window?.wallSeconds ?? r.rates?.loadSeconds ?? 0
  const brokerCore = typeof brokerSeconds === 'number' && loadSeconds > 0 ? brokerSeconds / loadSeconds : undefined
  if (brokerCore !== undefined && brokerCore >= BROKER_SATURATED_CORE) {
    return {
      component: 'broker',
      why: `broker busy ${f(brokerCore * 100)} % of a core over the ${f(loadSeconds)}-s load (${f(brokerSeconds ?? 0)} CPU s; it forwards on one thread)`,
    }
  }
  const offered = r.rates?.offeredPerS
  if (brokerCeilingPerS !== undefined && offered !== undefined && offered >= BROKER_CEILING_SHARE * brokerCeilingPerS) {
    return {
      component: 'broker',
      why: `offered ${offered}/s is ${f((offered / brokerCeilingPerS) * 100)} % of the broker's fan-out ceiling ${brokerCeilingPerS}/s (its publishers into it, one plain subscriber, no database)`,
    }
  }
  if (sendRatio < tolerance || lag > sloP99Ms / 2) {
    return {
      component: 'generator',
      why: `simulators behind their schedule: sent ${f(sendRatio * 100)} % on time, schedule lag p99 ${f(lag)} ms`,
    }
  }
  // An external ingest (src/external/) is seen from outside only: publish → stored, and what it lost.
  if (r.transport?.['ingest'] === 'external') {
    const lostExt = num((p1?.evidence['counts'] as Record<string, unknown> | undefined)?.['lost']) ?? 0
    return {
      component: 'ingest',
      why: `external ingest: intended send → stored p99 ${f(e2e)} ms${lostExt > 0 ? `, ${lostExt} acknowledged readings never stored (the broker's drop count tells whether it dropped them)` : ''}; its broker hop and write path are not visible from outside`,
    }
  }
  if (copyShare >= 0.6) {
    return {
      component: 'database',
      why: `ingest threads spent ${f(copyShare * 100)} % of the run in COPY/COMMIT (mean ${f(meanCopy)} ms a batch)`,
    }
  }
  const afterReceipt = Math.max(0, e2e - hop)
  const inBroker = Math.max(0, hop - lag)
  const lost = num((p1?.evidence['counts'] as Record<string, unknown> | undefined)?.['lost']) ?? 0
  if (lost > 0 && afterReceipt <= inBroker)
    return { component: 'broker', why: `${lost} acknowledged readings lost between publish and ingest; broker hop p99 ${f(hop)} ms` }
  if (afterReceipt > inBroker) {
    return {
      component: 'ingest',
      why: `p99 after receipt (batch wait, decode, write) ${f(afterReceipt)} ms > in the broker ${f(inBroker)} ms; COPY/COMMIT ${f(copyShare * 100)} % of ingest time`,
    }
  }
  if (copyShare < 0.3) {
    return {
      component: 'broker',
      why: `broker hop p99 ${f(hop)} ms (${f(inBroker)} ms beyond schedule lag) while the ingest wrote only ${f(copyShare * 100)} % of the time`,
    }
  }
  return {
    component: 'ingest',
    why: `readings waited in the broker (hop p99 ${f(hop)} ms) while the ingest was busy writing (${f(copyShare * 100)} % of its time in COPY/COMMIT)`,
  }
}
