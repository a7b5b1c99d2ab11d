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
// Exit explicitly, once stdout and stderr have drained, so the verdict's exit code survives whatever
// handle (a socket, a timer of a library) would otherwise keep the process alive or end it with 0.
process.exitCode = code
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
