import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { holds, type PropertyOutcome } from '../verify/properties/types.js'

// XML 1.0 forbids these control characters even escaped: they are dropped on purpose.
// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g

const esc = (s: string): string =>
  s.replace(XML_FORBIDDEN, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * JUnit XML (the subset every CI reads: testsuite/testcase/failure/system-out): one test case per
 * property, the summary as the failure message and the evidence as its text, so any CI shows which
 * devices, seqs and alerts failed without opening result.json.
 */
/** What the run's outcome adds beyond its properties (each becomes its own test case). */
export interface JunitOutcome {
  /** The load was stopped by a signal: an error case, so CI shows the run as incomplete. */
  readonly interrupted?: string
  /** Timing properties that failed on a saturated host, and the host's figures: failure type TimingFailedOnSaturatedHost. */
  readonly saturated?: { readonly ids: readonly string[]; readonly summary: string }
}

export function junitXml(
  runId: string,
  profile: string,
  properties: readonly PropertyOutcome[],
  seconds = 0,
  outcome: JunitOutcome = {},
): string {
  const failures = properties.filter((p) => !holds(p)).length
  const skipped = properties.filter((p) => p.notApplicable !== undefined).length
  const errors = outcome.interrupted ? 1 : 0
  const cls = `iotbench.${esc(profile)}`
  const cases = properties.map((p) => {
    const head = `    <testcase classname="${cls}" name="${esc(`${p.id} ${p.name}`)}" time="0">`
    const out = `      <system-out>${esc(p.summary)}</system-out>`
    // A property that does not apply to the run is a skipped case, its reason the message.
    if (p.notApplicable !== undefined)
      return `${head}\n      <skipped message="${esc(`not applicable: ${p.notApplicable}`)}"/>\n${out}\n    </testcase>`
    if (p.pass) return `${head}\n${out}\n    </testcase>`
    const type = outcome.saturated?.ids.includes(p.id) ? 'TimingFailedOnSaturatedHost' : 'PropertyFailed'
    return `${head}\n      <failure message="${esc(p.summary)}" type="${type}">${esc(JSON.stringify(p.evidence, null, 2))}</failure>\n${out}\n    </testcase>`
  })
  if (outcome.interrupted)
    cases.push(
      `    <testcase classname="${cls}" name="run interrupted" time="0">\n      <error message="${esc(outcome.interrupted)}" type="Interrupted"/>\n    </testcase>`,
    )
  if (outcome.saturated)
    cases.push(
      `    <testcase classname="${cls}" name="host saturated" time="0">\n      <system-out>${esc(outcome.saturated.summary)}</system-out>\n    </testcase>`,
    )
  const tests = cases.length
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="iotbench" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds}">`,
    `  <testsuite name="iotbench ${esc(runId)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

export function writeJunit(
  dir: string,
  runId: string,
  profile: string,
  properties: readonly PropertyOutcome[],
  seconds = 0,
  outcome: JunitOutcome = {},
): string {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'junit.xml')
  writeFileSync(file, junitXml(runId, profile, properties, seconds, outcome))
  return file
}
