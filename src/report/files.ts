import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { renderHtml } from './html.js'
import { renderMarkdown } from './markdown.js'
import { RESULT_SCHEMA_VERSION, type RunResult } from './result.js'

/** Writes report.md and report.html beside result.json; returns their paths. */
export function writeReports(dir: string, result: RunResult): { markdown: string; html: string } {
  const markdown = join(dir, 'report.md')
  const html = join(dir, 'report.html')
  writeFileSync(markdown, renderMarkdown(result))
  writeFileSync(html, renderHtml(result))
  return { markdown, html }
}

/**
 * A run's result from a reference: a result.json (or other JSON file), a run folder, or a run id under
 * the results folder. Returns the result and the folder its reports belong in.
 */
export function loadResult(ref: string, resultsDir: string): { result: RunResult; file: string; dir: string } {
  const candidates = [ref, join(ref, 'result.json'), join(resultsDir, ref, 'result.json')]
  const file = candidates.find((c) => existsSync(c) && statSync(c).isFile())
  if (!file) throw new ConfigError([`no result found for "${ref}" (looked for ${candidates.join(', ')})`])
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError([`${file} is not valid JSON: ${(err as Error).message}`])
  }
  const r = upgradeResult(parsed as Partial<RunResult>)
  const problems: string[] = []
  if (r.schemaVersion !== RESULT_SCHEMA_VERSION)
    problems.push(`${file}: schemaVersion ${String((parsed as Partial<RunResult>).schemaVersion)} is not 1 or ${RESULT_SCHEMA_VERSION}`)
  for (const k of ['runId', 'counts', 'rates', 'latency', 'properties', 'environment'] as const)
    if (r[k] === undefined) problems.push(`${file}: no "${k}"`)
  if (problems.length) throw new ConfigError(problems)
  const result = r as RunResult // every field checked just above
  return { result, file, dir: file.endsWith('result.json') ? join(file, '..') : join(resultsDir, result.runId) }
}

/** Schema 1 had `rates.achievedSendPerS`, readings handed to the MQTT client per second: read as such. */
function upgradeResult(r: Partial<RunResult>): Partial<RunResult> {
  if ((r.schemaVersion as number) !== 1) return r
  const old = r.rates as unknown as { offeredPerS: number; achievedSendPerS: number; loadSeconds: number } | undefined
  return {
    ...r,
    schemaVersion: RESULT_SCHEMA_VERSION,
    ...(old && {
      rates: {
        offeredPerS: old.offeredPerS,
        achievedPerS: old.achievedSendPerS,
        achievedCounts: 'published',
        publishedPerS: old.achievedSendPerS,
        loadSeconds: old.loadSeconds,
      },
    }),
  }
}
