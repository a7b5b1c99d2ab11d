/**
 * Replays a failed fast-check property: fast-check's failure message names `seed` and `path`; run the
 * failing test alone with them in the environment (docs/testing.md):
 *
 *   IOTBENCH_FC_SEED=-1766664826 IOTBENCH_FC_PATH=0:1:2 \
 *     node --import ./dist/test/support/replay.js --test --test-name-pattern='exactly once' dist/test/unit/kafka-offsets.property.test.js
 *
 * A global setting, so only for the one test: a test that passes its own `seed` keeps it.
 */
import fc from 'fast-check'

const seed = process.env['IOTBENCH_FC_SEED']
const path = process.env['IOTBENCH_FC_PATH']
if (seed !== undefined) {
  fc.configureGlobal({
    ...fc.readConfigureGlobal(),
    seed: Number(seed),
    ...(path !== undefined && { path }),
    endOnFailure: true,
    verbose: 2,
  })
}
