import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { faultSummaryLines } from '../faults/report.js'
import { hostLine } from '../metrics/host.js'
import { writeJunit, type JunitOutcome } from './junit.js'
import { holds } from '../verify/properties/types.js'
import type { PropertyResult } from '../verify/types.js'
import { writeReports } from './files.js'
import { summaryText, writeResult, type RunResult, type Verdict } from './result.js'

/** A re-verify's record (verify.json): the verdict again, from the database alone. */
export interface VerifyRecord {
  readonly runId: string
  readonly profile: string
  readonly verdict: Verdict
  readonly storage: string
  readonly properties: PropertyResult[]
}

/**
 * What the outputs publish: a run's (or a merge's) whole result, or a re-verify's record. The JUnit
 * suite's time and its extra cases (interrupted, host saturated) come with a run.
 */
export type Published =
  | { readonly kind: 'run'; readonly result: RunResult; readonly seconds?: number }
  | { readonly kind: 'verify'; readonly record: VerifyRecord; readonly environment: Parameters<typeof summaryText>[0]['environment'] }

/**
 * One output of a judged run (the model: grafana/k6's output.Output). `publish` writes it under the run's
 * folder and returns what it made (a file, or for the summary its text), or undefined when the outcome
 * has nothing for it.
 */
export interface Output {
  readonly name: string
  publish(p: Published, dir: string): string | undefined
}

const runOnly = (name: string, write: (result: RunResult, dir: string) => string): Output => ({
  name,
  publish: (p, dir) => (p.kind === 'run' ? write(p.result, dir) : undefined),
})

/** result.json. */
export const resultJson: Output = runOnly('result', (result, dir) => writeResult(dir, result))

/** report.md and report.html (returns the Markdown's path). */
export const reports: Output = runOnly('reports', (result, dir) => writeReports(dir, result).markdown)

/** verify.json. */
export const verifyJson: Output = {
  name: 'verify',
  publish: (p, dir) => {
    if (p.kind !== 'verify') return undefined
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'verify.json')
    writeFileSync(file, `${JSON.stringify(p.record, null, 2)}\n`)
    return file
  },
}

/** What a run's JUnit suite adds beyond its properties. */
const junitOutcome = (r: RunResult): JunitOutcome => ({
  ...(r.interrupted && { interrupted: r.interrupted }),
  ...(r.timingOnSaturatedHost && {
    saturated: {
      ids: r.properties.filter((p) => !holds(p)).map((p) => p.id),
      summary: `${r.timingOnSaturatedHost}. Host: ${r.host ? hostLine(r.host, r.latency.scheduleLag.p99Ms) : 'unknown'}`,
    },
  }),
})

/** junit.xml: one test case per property. */
export const junit: Output = {
  name: 'junit',
  publish: (p, dir) =>
    p.kind === 'run'
      ? writeJunit(dir, p.result.runId, p.result.profile, p.result.properties, p.seconds, junitOutcome(p.result))
      : writeJunit(dir, p.record.runId, p.record.profile, p.record.properties),
}

/** The one-screen summary printed at the end (writes no file). */
export const summary: Output = {
  name: 'summary',
  publish: (p) =>
    p.kind === 'run'
      ? [summaryText(p.result), ...faultSummaryLines(p.result)].join('\n')
      : summaryText({ ...p.record, environment: p.environment }),
}

/** The outputs of a run and of a merge; a re-verify's. */
export const RUN_OUTPUTS: readonly Output[] = [resultJson, reports, junit, summary]
export const VERIFY_OUTPUTS: readonly Output[] = [verifyJson, junit, summary]

/** Publishes a judged run through each output; returns what each made, by name. */
export function publish(p: Published, dir: string, outputs: readonly Output[]): Record<string, string> {
  const made: Record<string, string> = {}
  for (const o of outputs) {
    const m = o.publish(p, dir)
    if (m !== undefined) made[o.name] = m
  }
  return made
}
