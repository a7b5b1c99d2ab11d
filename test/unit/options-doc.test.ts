/** docs/options.md is generated from the option table; this fails when someone changed one without the other. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../../src/paths.js'
import { OPTIONS } from '../../src/config/options.js'
import { renderOptionsDoc } from '../../src/config/options-doc.js'

test('docs/options.md equals what npm run docs:options renders from src/config/options.ts', () => {
  const onDisk = readFileSync(join(PACKAGE_ROOT, 'docs', 'options.md'), 'utf8')
  assert.ok(onDisk === renderOptionsDoc(), 'docs/options.md is stale: run `npm run docs:options` and commit it')
})

test('every option of the table has its row, flag and environment variable', () => {
  const doc = renderOptionsDoc()
  for (const spec of OPTIONS) assert.match(doc, new RegExp(`\\| \`--${spec.flag}\` \\| \`IOTBENCH_`), spec.flag)
})
