import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/**
 * Chart.js's UMD build, read from the installed package and inlined into report.html, so the report
 * opens offline, forever, with no CDN. (Why Chart.js: docs/results.md, "Reports and baselines".)
 */
let cached: { source: string; version: string } | undefined
export function chartLibrary(): { source: string; version: string } {
  if (cached) return cached
  const require = createRequire(import.meta.url)
  const dist = dirname(require.resolve('chart.js')) // …/chart.js/dist/chart.cjs
  const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string }
  const source = readFileSync(join(dist, 'chart.umd.min.js'), 'utf8')
  // Inside <script>, only "</script" (any case) can end the element early; the build has none, keep it so.
  cached = { source: source.replace(/<\/(script)/gi, '<\\/$1'), version: pkg.version }
  return cached
}
