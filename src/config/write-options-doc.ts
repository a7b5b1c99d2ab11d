/** `npm run docs:options`: writes docs/options.md from the option table (see options-doc.ts). */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../paths.js'
import { renderOptionsDoc } from './options-doc.js'

const path = join(PACKAGE_ROOT, 'docs', 'options.md')
writeFileSync(path, renderOptionsDoc())
process.stdout.write(`wrote ${path}\n`)
