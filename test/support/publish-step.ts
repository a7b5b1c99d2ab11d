// A child process for test/integration/publish-overload.test.ts: one publishStep (the simulators alone)
// from argv's JSON, its result as one JSON line on stdout. In its own process so the test sees every
// warning the simulator threads print (MaxListenersExceededWarning goes to stderr) and can time it out.
import { publishStep, type PublishStep } from '../../src/sim/publish-only.js'

const step = JSON.parse(process.argv[2]!) as PublishStep
const r = await publishStep(step, (line) => process.stderr.write(`${line}\n`))
process.stdout.write(`${JSON.stringify(r)}\n`)
