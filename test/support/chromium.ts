import { existsSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { unavailable } from './services.js'

/** Debian's chromium (apt-get install chromium; .ci/run installs it). Never a downloaded browser. */
export const CHROMIUM = process.env['IOTBENCH_CHROMIUM'] ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The browser binary, or: with CI=true a failure, otherwise a skipped test (undefined). */
export function requireChromium(t: TestContext): string | undefined {
  if (existsSync(CHROMIUM)) return CHROMIUM
  const problem = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set IOTBENCH_CHROMIUM)`
  return unavailable(t, 'Chromium', problem)
}
