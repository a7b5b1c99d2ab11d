import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

/** The package root: this file runs as dist/src/paths.js. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const PROFILES_DIR = join(PACKAGE_ROOT, 'sensor-profiles')
export const SQL_DIR = join(PACKAGE_ROOT, 'sql')
