// A child process for test/integration/publish-overload.test.ts: one publishStep (the simulators alone)
// from argv's JSON, its result as one JSON line on stdout. In its own process so the test sees every
// warning the simulator threads print (MaxListenersExceededWarning goes to stderr) and can time it out.
// Without an argument (`node --test dist/test/` runs every file it finds) it does nothing.
import { publishStep, type PublishStep } from '../../src/sim/publish-only.js'

const arg = process.argv[2]
if (arg !== undefined) {
  const step = JSON.parse(arg) as PublishStep
  const r = await publishStep(step, (line) => process.stderr.write(`${line}\n`))
  process.stdout.write(`${JSON.stringify(r)}\n`)
}
