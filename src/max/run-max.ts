import type { Verdict } from '../report/result.js'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunConfig } from '../config/options.js'
import { atRate } from '../config/slices.js'
import { errorMessage } from '../errors.js'
import { fleetOf, fleetSize } from '../fleet.js'
import { newRunId, publicConfig, runBench } from '../run.js'
import { cpuLine, type CpuReport } from '../metrics/cpu.js'
import { limitingComponent, type Component } from './component.js'
import { searchMaxRate, type SearchOptions } from './search.js'
import { must } from '../util/must.js'

export interface MaxStep {
  readonly runId: string
  readonly rate: number
  readonly verdict: Verdict | 'error'
  readonly failed: readonly string[]
  readonly component: Component | undefined
  readonly why: string
  readonly endToEndP99Ms?: number
  readonly brokerHopP99Ms?: number
  readonly scheduleLagP99Ms?: number
  readonly copyShare?: number
  /** Readings that reached the broker per second (acknowledged, or written at QoS 0). */
  readonly achievedPerS?: number
  readonly ingested?: number
  readonly offered?: number
  /** CPU per component of the step's run (result.json's cpu). */
  readonly cpu?: CpuReport
  readonly seconds: number
}

export interface MaxResult {
  readonly kind: 'iotbench-max'
  readonly searchId: string
  readonly profile: string
  readonly broker: string
  readonly startedAt: string
  readonly finishedAt: string
  readonly search: SearchOptions & { readonly stepSeconds: number }
  /** The highest offered rate (readings/s) at which every property held. */
  readonly maxRate: number | undefined
  readonly maxRateRun: MaxStep | undefined
  /** Named from the lowest failing step (the edge above the maximum); the ceiling's when it passed. */
  readonly limitingComponent: Component | undefined
  readonly limitingReason: string
  /** The broker's fan-out ceiling the steps were named against (--max-broker-ceiling), and the best rate's share of it. */
  readonly brokerCeilingPerS: number | undefined
  readonly ofBrokerCeiling: number | undefined
  readonly stoppedBy: string
  readonly converged: boolean
  readonly steps: readonly MaxStep[]
  readonly config: Readonly<Record<string, unknown>>
}

/** `iotbench run --profile max`: one bench run per step of the rate search, then max.json. */
export async function runMaxSearch(
  cfg: RunConfig,
  log: (line: string) => void,
): Promise<{ result: MaxResult; file: string; summary: string }> {
  const startedAt = new Date()
  const searchId = cfg.runId ?? newRunId(cfg.profile)
  const dir = join(cfg.resultsDir, searchId)
  mkdirSync(dir, { recursive: true })
  const stepLog = join(dir, 'steps.log')
  const devices = fleetSize(fleetOf(cfg))
  const opts: SearchOptions = {
    startRate: cfg.rate,
    ceiling: Math.max(cfg.rate, cfg.maxCeiling ?? cfg.rate),
    // every device needs at least one reading in a step
    floor: Math.ceil(devices / cfg.durationSeconds),
    factor: 2,
    resolution: cfg.maxResolution,
    maxSteps: 40,
    budgetMs: cfg.maxBudgetSeconds * 1000,
  }
  log(
    `max search ${searchId}: ${cfg.durationSeconds}-s runs from ${opts.startRate}/s (×2, then binary search to ${opts.resolution}/s), ceiling ${opts.ceiling}/s, budget ${cfg.maxBudgetSeconds} s; each step's log in ${stepLog}`,
  )
  const t0 = Date.now()
  const result = await searchMaxRate<MaxStep>(
    async (rate, index) => {
      const runId = `${searchId}-s${index + 1}-${rate}`
      const begin = Date.now()
      log(`max: step ${index + 1}: ${rate}/s for ${cfg.durationSeconds} s …`)
      const stepCfg = atRate({ ...cfg, runId, progress: 'off', maxCeiling: undefined }, rate)
      try {
        const out = await runBench(stepCfg, (line) => appendFileSync(stepLog, `[${runId}] ${line}\n`))
        if (out.pending) throw new Error('a max search cannot be sharded')
        const r = out.result
        const failed = r.properties.filter((p) => !p.pass).map((p) => p.id)
        const c = limitingComponent(r, cfg.sloP99Ms, cfg.maxBrokerCeiling)
        const step: MaxStep = {
          runId,
          rate,
          verdict: r.verdict,
          failed,
          component: c.component,
          why: c.why,
          endToEndP99Ms: r.latency.endToEnd.p99Ms,
          brokerHopP99Ms: r.latency.brokerHop.p99Ms,
          scheduleLagP99Ms: r.latency.scheduleLag.p99Ms,
          ...(r.stages && { copyShare: r.stages.copyShare }),
          achievedPerS: r.rates.achievedPerS,
          ingested: r.counts.ingested,
          offered: r.counts.offered,
          ...(r.cpu && { cpu: r.cpu }),
          seconds: Math.round((Date.now() - begin) / 100) / 10,
        }
        return { pass: r.verdict === 'pass', detail: step }
      } catch (err) {
        // A step that could not run (e.g. the pipeline fell over) fails; the search goes on below it.
        const step: MaxStep = {
          runId,
          rate,
          verdict: 'error',
          failed: [],
          component: undefined,
          why: errorMessage(err),
          seconds: Math.round((Date.now() - begin) / 100) / 10,
        }
        return { pass: false, detail: step }
      }
    },
    opts,
    Date.now,
    (s, i) => {
      const d = must(s.detail, 'every max step has its detail')
      const elapsed = Math.round((Date.now() - t0) / 1000)
      log(
        `max: step ${i + 1}: ${s.rate}/s ${d.verdict.toUpperCase()}${d.failed.length ? ` (${d.failed.join(', ')})` : ''} — p99 ${d.endToEndP99Ms ?? '?'} ms, limiting: ${d.component ?? '?'} (${d.why}) — ${elapsed} s elapsed`,
      )
    },
  )
  const steps = result.steps.map((s) => must(s.detail, 'every max step has its detail'))
  const best = steps.filter((s) => s.verdict === 'pass').sort((a, b) => b.rate - a.rate)[0]
  const edge = steps.filter((s) => s.verdict !== 'pass' && s.rate === result.lowestFail)[0]
  const limiting = edge ?? best
  const max: MaxResult = {
    kind: 'iotbench-max',
    searchId,
    profile: cfg.profile,
    broker: cfg.mqttUrl === undefined ? 'embedded aedes' : String(publicConfig(cfg).mqttUrl),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    search: { ...opts, budgetMs: cfg.maxBudgetSeconds * 1000, stepSeconds: cfg.durationSeconds },
    maxRate: result.best,
    maxRateRun: best,
    limitingComponent: limiting?.component,
    limitingReason: limiting ? `${limiting.rate}/s: ${limiting.why}` : 'no step ran',
    brokerCeilingPerS: cfg.maxBrokerCeiling,
    ofBrokerCeiling:
      cfg.maxBrokerCeiling !== undefined && result.best !== undefined
        ? Math.round((result.best / cfg.maxBrokerCeiling) * 1000) / 1000
        : undefined,
    stoppedBy: result.stoppedBy,
    converged: result.converged,
    steps,
    config: publicConfig(cfg),
  }
  const file = join(dir, 'max.json')
  writeFileSync(file, `${JSON.stringify(max, null, 2)}\n`)
  const summary = [
    `iotbench ${searchId} — profile ${cfg.profile} — max rate ${result.best === undefined ? 'none (even the lowest rate failed)' : `${result.best}/s`}${result.converged ? '' : ` (not converged: stopped by ${result.stoppedBy})`}`,
    best ? `  at ${best.rate}/s: end-to-end p99 ${best.endToEndP99Ms} ms, zero loss, every property held (run ${best.runId})` : '',
    max.ofBrokerCeiling !== undefined
      ? `  ${Math.round(max.ofBrokerCeiling * 1000) / 10} % of the broker's fan-out ceiling ${max.brokerCeilingPerS}/s`
      : '',
    best?.cpu ? `  CPU at ${best.rate}/s${best.cpu.load ? ' during the load' : ''}: ${cpuLine(best.cpu.load ?? best.cpu)}` : '',
    `  limiting component: ${max.limitingComponent ?? 'unknown'} — ${max.limitingReason}`,
    ...steps.map(
      (s, i) =>
        `  step ${String(i + 1).padStart(2)} ${String(s.rate).padStart(7)}/s ${s.verdict.padEnd(5)} ${s.failed.join(',').padEnd(8)} p99 ${String(s.endToEndP99Ms ?? '-').padStart(9)} ms  ${s.component ?? ''}`,
    ),
  ]
    .filter((l) => l !== '')
    .join('\n')
  return { result: max, file, summary }
}
