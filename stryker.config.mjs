// Mutation testing (docs/testing.md). Stryker mutates the compiled JavaScript in dist/ (tsc's output
// keeps the TypeScript's lines and names): mutating the .ts would need a tsc build per mutant, minutes
// each on two cores. The node:test files print TAP when piped, so the tap runner runs them as they are.
// IOTBENCH_MUTATE (globs separated by spaces) narrows the files (CI: the checkers alone); `npm run mutation` builds first.
const ALL = [
  'dist/src/verify/*.js',
  'dist/src/verify/properties/*.js',
  'dist/src/report/junit.js',
  'dist/src/ingest/{dedupe,commit,kafka-offsets,copy-binary}.js',
]
// Each mutant reruns every test file that reaches it. The heaviest property (verify-alerts, 60
// generated fleets) runs 20 here; the deterministic boundary tests carry the kills, and `npm test`
// runs it in full. Every property runs from one fixed seed (test/support/replay.ts), so a mutant's
// verdict does not depend on the draw and a run's score can be reproduced.
process.env.IOTBENCH_PROPERTY_RUNS ??= '20'
process.env.IOTBENCH_FC_SEED ??= '20261206'
const REPORTS = `bench-results/mutation${process.env.IOTBENCH_MUTATION_NAME ? `/${process.env.IOTBENCH_MUTATION_NAME}` : ''}`
const mutate = process.env.IOTBENCH_MUTATE ? process.env.IOTBENCH_MUTATE.split(/\s+/) : ALL

export default {
  testRunner: 'tap',
  // The tests that reach the mutated files (the others only cost time per mutant); the three integration
  // tests need IOTBENCH_TEST_DATABASE_URL (CI has it), take a second or two and leave nothing behind.
  // Left out: verify-digest-sum, whose 2.6M rows through instrumented code take ~40 s a mutant; the
  // fold mutants it kills are listed in docs/testing.md, checked by hand.
  // IOTBENCH_MUTATION_TESTS (globs separated by spaces) narrows the test files as well: a static mutant (module-level
  // code, such as P8's panel table) reruns every test file, so a narrowed group runs only the tests that reach it.
  tap: {
    testFiles: process.env.IOTBENCH_MUTATION_TESTS
      ? process.env.IOTBENCH_MUTATION_TESTS.split(/\s+/)
      : [
          'dist/test/unit/{verify-!(digest-sum*),kafka-*,copy-binary,seq-tracker*,shares*,host-timing,external-sink-map}.test.js',
          'dist/test/integration/{kafka-offsets-db,commit-batch,verify-digest-sql,verify-threads}.test.js',
        ],
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '--import', './dist/test/support/replay.js', '{{testFile}}'],
  },
  mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.IOTBENCH_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 20000,
  ignorePatterns: ['/bench-results', '/test-artifacts', '/.iotbench', '/scratch', '/src', '/bench', '/.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  reporters: ['html', 'json', 'clear-text', 'progress'],
  // IOTBENCH_MUTATION_NAME keeps a narrowed run's report apart (bench-results/mutation/<name>/).
  htmlReporter: { fileName: `${REPORTS}/index.html` },
  jsonReporter: { fileName: `${REPORTS}/mutation.json` },
  // CI sets IOTBENCH_MUTATION_BREAK=90: a lower score fails the step.
  thresholds: { high: 95, low: 90, break: process.env.IOTBENCH_MUTATION_BREAK ? Number(process.env.IOTBENCH_MUTATION_BREAK) : null },
}
