/**
 * docs/options.md, rendered from the option table (OPTIONS and DEFAULTS): the options are documented
 * once, where the CLI, the environment reader and the profile reader take them from.
 * `npm run docs:options` writes the file; test/unit/options-doc.test.ts fails when it is stale.
 */
import { DEFAULTS, OPTIONS, envName, type OptionSpec } from './options.js'

/** Table cells may not hold a bare `|` or a line break. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const code = (text: string): string => `\`${text}\``

function valueOf(spec: OptionSpec): string {
  switch (spec.type) {
    case 'int':
    case 'number':
      return `${spec.type === 'int' ? 'integer' : 'number'} ${spec.min}…${spec.max}`
    case 'enum':
      return spec.values.map(code).join(' | ')
    case 'url':
      return `URL (${spec.protocols.join(' ')})`
    case 'string':
      return spec.patternHelp ?? 'text'
    case 'json':
      return 'JSON'
    case 'boolean':
      return 'on/off (a flag without a value; true/false in a variable)'
  }
}

function defaultOf(spec: OptionSpec): string {
  const value = DEFAULTS[spec.key]
  if (value === undefined || value === '') return '—'
  return code(typeof value === 'object' ? JSON.stringify(value) : String(value))
}

function row(spec: OptionSpec): string {
  const profile = spec.profilePath ? code(spec.profilePath.join('.')) : '—'
  return `| ${code(`--${spec.flag}`)} | ${code(envName(spec.key))} | ${profile} | ${cell(valueOf(spec))} | ${defaultOf(spec)} | ${cell(spec.help)} |`
}

const HEADER = `| flag | environment | profile key | value | default | what |
|---|---|---|---|---|---|`

export function renderOptionsDoc(): string {
  const shown = OPTIONS.filter((spec) => spec.hidden !== true)
  const hidden = OPTIONS.filter((spec) => spec.hidden === true)
  return `# Options

<!-- Generated from src/config/options.ts by \`npm run docs:options\`; do not edit by hand.
     test/unit/options-doc.test.ts fails when this file is stale. -->

\`iotbench run --help\`, \`iotbench verify --help\` and \`iotbench profiles --help\` list them all. They
resolve in one place, as **defaults < profile file < \`IOTBENCH_*\` environment < flags**: \`--batch-rows\`
is \`IOTBENCH_BATCH_ROWS\`, \`--mqtt-url\` is \`IOTBENCH_MQTT_URL\`, and so on.

\`--profile ci\` / \`--profile my.json\` (\`-p\`) picks a bench profile from \`sensor-profiles/\`, or a file
(default \`ci\`; see [profiles.md](profiles.md)). The defaults below are the built-in ones; a profile
overrides them. The other commands (\`verify\`, \`merge\`, \`report\`, \`runs\`, \`bridge\`) take the
options that apply to them; \`iotbench <command> --help\` lists them.

${HEADER}
${shown.map(row).join('\n')}

## Not shown by --help

Hidden from \`--help\`: profile settings that also take a flag or variable (JSON), and a test-only hook.

${HEADER}
${hidden.map(row).join('\n')}
`
}
