import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { test } from 'node:test'
import { chromium } from 'playwright-core'
import { ROOT, runCli, tempResultsDir } from '../support/cli.js'
import { CHROMIUM_ARGS, requireChromium } from '../support/chromium.js'

const BASELINE = join(ROOT, 'bench-results', 'baselines', 'ci.json')
const ARTIFACTS = join(ROOT, 'test-artifacts')

// report.html must open offline in a real browser, draw every chart, and log no error.
test('report.html renders its charts in headless Chromium without console errors', async (t) => {
  const executablePath = requireChromium(t)
  if (!executablePath) return
  const dir = tempResultsDir()
  copyFileSync(BASELINE, join(dir, 'result.json'))
  const r = await runCli(['report', join(dir, 'result.json')], {}, 60_000)
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const html = readFileSync(join(dir, 'report.html'), 'utf8')
  assert.doesNotMatch(html, /<script[^>]+src=/i, 'self-contained: no external scripts')
  assert.doesNotMatch(html, /https?:\/\/(?!www\.chartjs\.org)[^\s"'<>]+\.(js|css)\b/i, 'no CDN')

  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 })
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1900 } })
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    // Offline: any request besides the file itself is a bug.
    await page.route('**/*', (route) =>
      route.request().url().startsWith('file:')
        ? route.continue()
        : (problems.push(`network request: ${route.request().url()}`), route.abort()),
    )
    await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load', timeout: 30_000 })
    await page.waitForFunction('window.__iotbench !== undefined && window.__iotbench.drawn === 5', undefined, { timeout: 15_000 })

    // Runs in the page (a string: this package compiles without DOM types).
    const state = (await page.evaluate(`(() => {
      const s = window.__iotbench
      const canvases = [...document.querySelectorAll('canvas')].map((c) => {
        const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height)
        let painted = 0
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++
        return { id: c.id, painted, share: painted / (c.width * c.height) }
      })
      return { drawn: s.drawn, empty: s.empty, points: s.charts.map((c) => c.data.datasets.reduce((n, d) => n + d.data.length, 0)), canvases, title: document.title }
    })()`)) as {
      drawn: number
      empty: string[]
      points: number[]
      canvases: Array<{ id: string; painted: number; share: number }>
      title: string
    }
    assert.deepEqual(problems, [])
    assert.equal(state.drawn, 5)
    assert.deepEqual(state.empty, [], 'every plot has data in the baseline')
    assert.deepEqual(
      state.canvases.map((c) => c.id),
      ['throughput', 'latency-time', 'latency-distribution', 'loss', 'events'],
    )
    for (const [i, c] of state.canvases.entries()) {
      assert.ok(state.points[i]! > 0, `${c.id}: the chart has data points`)
      assert.ok(c.share > 0.01, `${c.id}: the canvas is drawn on (${c.painted} pixels)`)
    }
    assert.match(state.title, /^iotbench .* — (PASS|FAIL)$/)
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true })
  } finally {
    await browser.close()
  }
})
