import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { renderHtml } from './html.js'
import { renderMarkdown } from './markdown.js'
import type { RunResult } from './result.js'

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
  const r = parsed as Partial<RunResult>
  const problems: string[] = []
  if (r.schemaVersion !== 1) problems.push(`${file}: schemaVersion ${String(r.schemaVersion)} is not 1`)
  for (const k of ['runId', 'counts', 'rates', 'latency', 'properties', 'environment'] as const) if (r[k] === undefined) problems.push(`${file}: no "${k}"`)
  if (problems.length) throw new ConfigError(problems)
  return { result: r as RunResult, file, dir: file.endsWith('result.json') ? join(file, '..') : join(resultsDir, r.runId!) }
}
