/** Every relative link in README.md, CHANGELOG.md and docs/*.md points at a file that exists, and at a heading of it. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { PACKAGE_ROOT } from '../../src/paths.js'

/** Being written in the other steps of issue 21; linked from the README already. */
const PENDING = new Set(['docs/timescaledb.md', 'docs/running.md', 'docs/testing.md'])

/** GitHub's heading anchor: lower case, punctuation dropped (hyphens kept), spaces to hyphens. */
const anchor = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')

function headings(text: string): Set<string> {
  const out = new Set<string>()
  let fenced = false
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    else if (!fenced && /^#{1,6} /.test(line)) out.add(anchor(line.replace(/^#+ /, '')))
  }
  return out
}

const pages = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(PACKAGE_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

test('relative links in the README and docs/ resolve to a file and a heading', () => {
  const broken: string[] = []
  for (const page of pages) {
    const text = readFileSync(join(PACKAGE_ROOT, page), 'utf8')
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue
      const [path = '', hash] = target.split('#')
      const file = path === '' ? join(PACKAGE_ROOT, page) : join(PACKAGE_ROOT, dirname(page), path)
      const name = relative(PACKAGE_ROOT, file)
      if (PENDING.has(name)) continue
      if (!existsSync(file)) broken.push(`${page}: ${target} (no file ${name})`)
      else if (hash !== undefined && file.endsWith('.md') && !headings(readFileSync(file, 'utf8')).has(hash))
        broken.push(`${page}: ${target} (no heading #${hash} in ${name})`)
    }
  }
  assert.deepEqual(broken, [])
})
