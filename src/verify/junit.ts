import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PropertyResult } from './types.js'

const esc = (s: string): string =>
  // XML 1.0 forbids these control characters even escaped: they are dropped on purpose.
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * JUnit XML (the subset every CI reads: testsuite/testcase/failure/system-out): one test case per
 * property, the summary as the failure message and the evidence as its text, so any CI shows which
 * devices, seqs and alerts failed without opening result.json.
 */
export function junitXml(runId: string, profile: string, properties: readonly PropertyResult[], seconds = 0): string {
  const failures = properties.filter((p) => !p.pass).length
  const cases = properties.map((p) => {
    const head = `    <testcase classname="iotbench.${esc(profile)}" name="${esc(`${p.id} ${p.name}`)}" time="0">`
    const out = `      <system-out>${esc(p.summary)}</system-out>`
    if (p.pass) return `${head}\n${out}\n    </testcase>`
    return `${head}\n      <failure message="${esc(p.summary)}" type="PropertyFailed">${esc(JSON.stringify(p.evidence, null, 2))}</failure>\n${out}\n    </testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="iotbench" tests="${properties.length}" failures="${failures}" time="${seconds}">`,
    `  <testsuite name="iotbench ${esc(runId)}" tests="${properties.length}" failures="${failures}" errors="0" skipped="0" time="${seconds}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

export function writeJunit(dir: string, runId: string, profile: string, properties: readonly PropertyResult[], seconds = 0): string {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'junit.xml')
  writeFileSync(file, junitXml(runId, profile, properties, seconds))
  return file
}
