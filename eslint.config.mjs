// @ts-check
// Type-aware lint, modeled on fast-check's eslint.config.mjs. `npm run lint`; .ci/run runs it before `npm test`.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import eslintConfigPrettier from 'eslint-config-prettier'
import globals from 'globals'

/**
 * Files other engineers are changing in parallel during issue 21's first step. Rules whose fixes would
 * edit them are warnings there until the follow-up step of issue 21 fixes the sites and drops this list.
 */
const IN_FLIGHT = [
  'src/run.ts',
  'src/cli.ts',
  'src/verify/dashboards.ts',
  'src/verify/dashboard-jobs.ts',
  'src/db/**',
  'src/ingest/**',
  'src/sim/**',
  'test/**',
]

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'bench-results/', 'test-artifacts/', '.iotbench/', 'coverage/', '.stryker-tmp/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  eslintConfigPrettier,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        tsconfigRootDir: import.meta.dirname,
        projectService: true,
      },
    },
  },
  {
    rules: {
      // An unawaited COPY is a lost batch (STYLE.md, principle 1).
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // Follow-up (issue 21: "no non-null assertions where a check belongs"): ~290 sites in src/ and bench/,
      // each to be replaced by a check or a narrowing type; a warning until then.
      '@typescript-eslint/no-non-null-assertion': 'warn',
      // Follow-up (issue 21): values read from rows and sockets typed unknown/RawData are String()ed;
      // narrow them (a warning until then).
      '@typescript-eslint/no-base-to-string': 'warn',
      // A `!` or `as` that changes no type is noise (fast-check turns this off; here it found ~130).
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // Async functions that implement a Promise-returning interface (Output.start, a noop stop) need no await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // As fast-check: the unsafe-any family and template/operand restrictions are off.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: IN_FLIGHT,
    rules: {
      '@typescript-eslint/consistent-type-imports': 'warn',
      '@typescript-eslint/no-unnecessary-type-assertion': 'warn',
    },
  },
  {
    // As fast-check: in a test, `!` is the assertion (a wrong guess fails the test).
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
)
