import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { renderHtml, plotData } from '../../src/report/html.js'
import { ratesOf, renderMarkdown } from '../../src/report/markdown.js'
import type { RunResult } from '../../src/report/result.js'
import { ROOT } from '../support/cli.js'

const baseline = (): RunResult => JSON.parse(readFileSync(join(ROOT, 'bench-results', 'baselines', 'ci.json'), 'utf8')) as RunResult

describe('report rendering', () => {
  test('report.md states the verdict, every property and the counts per kind', () => {
    const r = baseline()
    const md = renderMarkdown(r)
    assert.match(md, new RegExp(`^# iotbench ${r.runId} — (PASS|FAIL)`))
    for (const p of r.properties) assert.ok(md.includes(`| ${p.id} |`), p.id)
    assert.match(md, /\| collar \| /)
    assert.match(md, /## Over time/)
  })

  test('report.html is self-contained and its embedded data cannot end the script early', () => {
    const r = structuredClone(baseline()) as RunResult & { properties: Array<{ summary: string }> }
    r.properties[0]!.summary = '</script><script>alert(1)</script>'
    const html = renderHtml(r)
    assert.doesNotMatch(html, /<script[^>]*\ssrc=/)
    assert.doesNotMatch(html, /<link[^>]*stylesheet/)
    assert.equal(html.match(/<\/script>/g)?.length, 3, 'data, Chart.js, page: three scripts')
    assert.match(html, /Chart\.js v4/)
    assert.ok(html.includes('&lt;/script&gt;'), 'text is escaped')
  })

  test('results written before the timeline existed still render, with empty plots named', () => {
    const { timeline: _t, countsByKind: _c, latencyDistribution: _d, ...old } = baseline()
    const html = renderHtml(old as RunResult)
    assert.match(html, /<canvas id="throughput"/)
    const d = plotData(old as RunResult) as { throughput: Array<{ data: unknown[] }>; kinds: unknown[] }
    assert.equal(d.throughput[0]!.data.length, 0)
    assert.equal(d.kinds.length, 0)
    assert.doesNotMatch(renderMarkdown(old as RunResult), /## Over time/)
  })

  test('rates come from the differences of cumulative counts', () => {
    const p = (t: number, ingested: number) => ({ t, ingested, offered: 0, sent: 0, acked: 0, deadLetters: 0 }) as never
    assert.deepEqual(ratesOf([p(1, 100), p(2, 300), p(2.5, 400)], 'ingested'), [
      { t: 1, perS: 100 },
      { t: 2, perS: 200 },
      { t: 2.5, perS: 200 },
    ])
  })
})
