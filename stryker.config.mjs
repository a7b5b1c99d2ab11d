// Mutation testing (docs/testing.md). Stryker mutates the compiled JavaScript in dist/ (tsc's output
// keeps the TypeScript's lines and names): mutating the .ts would need a tsc build per mutant, minutes
// each on two cores. The node:test files print TAP when piped, so the tap runner runs them as they are.
// IOTBENCH_MUTATE (globs separated by spaces) narrows the files (CI: the checkers alone); `npm run mutation` builds first.
const ALL = [
  'dist/src/verify/{alerts,completeness,dead-letters,digest,fast,ordering,parallel,rates,unacked}.js',
  'dist/src/ingest/{dedupe,commit,kafka-offsets,copy-binary}.js',
]
const mutate = process.env.IOTBENCH_MUTATE ? process.env.IOTBENCH_MUTATE.split(/\s+/) : ALL

export default {
  testRunner: 'tap',
  // The tests that reach the mutated files (the others only cost time per mutant); the two integration
  // tests need IOTBENCH_TEST_DATABASE_URL (CI has it), take a second or two and drop their schemas.
  tap: { testFiles: ['dist/test/unit/{verify-*,kafka-*,copy-binary,seq-tracker*}.test.js', 'dist/test/integration/{kafka-offsets-db,commit-batch}.test.js'] },
  mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.IOTBENCH_MUTATION_CONCURRENCY ?? 2),
  timeoutMS: 20000,
  ignorePatterns: ['/bench-results', '/test-artifacts', '/.iotbench', '/scratch', '/src', '/bench', '/.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'bench-results/mutation/index.html' },
  jsonReporter: { fileName: 'bench-results/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: null },
}
