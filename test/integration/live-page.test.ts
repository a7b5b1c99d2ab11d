/**
 * The live page in headless Debian Chromium (playwright-core, never a downloaded browser): during a real
 * run it connects to the feed, its charts update, the last point it draws for a device equals that
 * device's last stored value in the database, and the console stays clean. The screenshot is kept in
 * test-artifacts/live-page.png.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import pg from 'pg'
import { chromium } from 'playwright-core'
import { ROOT, readResult, runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { CHROMIUM_ARGS, requireChromium } from '../support/chromium.js'
import { requireService, uniqueName } from '../support/services.js'

const ARTIFACTS = join(ROOT, 'test-artifacts')

interface PageState {
  connected: boolean
  ended: boolean
  readings: number
  updates: number
  collarDevice: string | null
  tank: Array<{ label: string; n: number; last: { x: number; y: number } | null }>
  collar: Array<{ label: string; n: number; last: { x: number; y: number } | null }>
}
const READ_STATE = `(() => {
  const s = window.__iotbenchLive
  if (!s) return null
  const sets = (c) => c.data.datasets.map((d) => ({ label: d.label, n: d.data.length, last: d.data.length ? d.data[d.data.length - 1] : null }))
  return { connected: s.state.connected, ended: s.state.ended, readings: s.state.readings, updates: s.state.updates, collarDevice: s.state.collarDevice, tank: sets(s.charts.tank), collar: sets(s.charts.collar) }
})()`
// Read once, at the end (Chromium warns about repeated canvas readbacks).
const PAINTED = `(() => {
  const canvas = document.getElementById('tank')
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
  let painted = 0
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++
  return painted
})()`

test('the live page draws a farm in real time in headless Chromium, ending on the database’s values', async (t) => {
  const executablePath = requireChromium(t)
  if (!executablePath) return
  const url = await requireService(t, 'database')
  if (!url) return
  const schema = uniqueName('livepage')
  const results = tempResultsDir()
  let pageUrl: string | undefined
  const run = runCli(
    [
      'run',
      '--profile',
      'ci',
      '--duration',
      '10',
      '--rate',
      '1500',
      '--progress',
      'plain',
      '--live-clients',
      '0',
      '--live-port',
      '0',
      '--database-url',
      url,
      '--db-schema',
      schema,
      '--results-dir',
      results,
    ],
    {},
    240_000,
    (stderr) => (pageUrl ??= /live page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1]),
  )
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 60_000 })
  try {
    const deadline = Date.now() + 60_000
    while (!pageUrl && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    assert.ok(pageUrl, 'the run printed the live page address')
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    // Everything comes from the bench itself: no CDN, no other host.
    await page.route('**/*', (route) =>
      route.request().url().startsWith(pageUrl!)
        ? route.continue()
        : (problems.push(`network request: ${route.request().url()}`), route.abort()),
    )
    await page.goto(`${pageUrl}?farm=farm02`, { waitUntil: 'load', timeout: 30_000 })
    await page.waitForFunction('window.__iotbenchLive && window.__iotbenchLive.state.connected', undefined, { timeout: 30_000 })
    await page.waitForFunction('window.__iotbenchLive.state.readings > 0 && window.__iotbenchLive.state.updates > 0', undefined, {
      timeout: 60_000,
      polling: 100,
    })
    const early = (await page.evaluate(READ_STATE)) as PageState
    // The charts keep updating while the load runs: more points drawn a moment later, same connection.
    const drawn = `[...window.__iotbenchLive.charts.tank.data.datasets, ...window.__iotbenchLive.charts.collar.data.datasets].reduce((n, d) => n + d.data.length, 0)`
    const drawnEarly = (await page.evaluate(drawn)) as number
    await page.waitForFunction(
      `(() => { const s = window.__iotbenchLive.state; return s.updates > ${early.updates} && s.readings > ${early.readings} && ${drawn} > ${drawnEarly} })()`,
      undefined,
      { timeout: 60_000, polling: 100 },
    )
    const later = (await page.evaluate(READ_STATE)) as PageState
    assert.ok(later.readings > early.readings, `readings grew: ${early.readings} → ${later.readings}`)
    const points = (p: PageState): number => [...p.tank, ...p.collar].reduce((n, d) => n + d.n, 0)
    const newest = (p: PageState): number => Math.max(0, ...[...p.tank, ...p.collar].map((d) => d.last?.x ?? 0))
    assert.ok(
      points(later) > points(early) || newest(later) > newest(early),
      `the charts drew new points (${points(early)} → ${points(later)})`,
    )
    await page.waitForFunction('window.__iotbenchLive.state.ended', undefined, { timeout: 120_000, polling: 200 })
    await new Promise((r) => setTimeout(r, 400)) // the next render tick (every 250 ms)
    const end = (await page.evaluate(READ_STATE)) as PageState
    const painted = (await page.evaluate(PAINTED)) as number
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'live-page.png'), fullPage: true })

    const r = await run
    const id = runIdFrom(r.stdout)
    const result = readResult(results, id)
    assert.equal(result.properties.find((p: { id: string }) => p.id === 'P1').pass, true, r.stdout)

    // The last point drawn for the tank and the cow equals the database's last value for that device.
    const db = new pg.Client({ connectionString: url })
    await db.connect()
    try {
      await db.query(`SET search_path TO ${schema}`)
      const last = async (table: string, field: string, device: string): Promise<{ ts: number; value: number }> => {
        const q = await db.query<{ ts: string; v: number }>(
          `SELECT (extract(epoch FROM ts) * 1000)::float8 AS ts, ${field} AS v FROM ${table} WHERE run_id = (SELECT id FROM runs WHERE name = $1) AND device = $2 ORDER BY seq DESC LIMIT 1`,
          [id, device],
        )
        return { ts: Number(q.rows[0]!.ts), value: Number(q.rows[0]!.v) }
      }
      assert.equal(end.tank.length, 1, 'one bulk tank on farm02')
      const tank = end.tank[0]!
      assert.match(tank.label, /^farm02-chiller-\d{4}$/)
      assert.deepEqual(tank.last, {
        x: (await last('chiller_readings', 'milk_temp_c', tank.label)).ts,
        y: (await last('chiller_readings', 'milk_temp_c', tank.label)).value,
      })
      const cow = end.collar[0]!
      assert.equal(cow.label, end.collarDevice)
      const c = await last('collar_readings', 'neck_temp_c', cow.label)
      assert.deepEqual(cow.last, { x: c.ts, y: c.value })
    } finally {
      await db.end()
    }
    assert.ok(painted > 1000, `the tank chart is drawn (${painted} pixels)`)
    assert.deepEqual(problems, [])
  } finally {
    await browser.close()
  }
})
