import { Command, CommanderError, Option } from 'commander'
import { mkdirSync } from 'node:fs'
import { DEFAULTS, OPTIONS, type OptionKey, type RunConfig } from './config/options.js'
import { listProfiles, loadProfile, profileSchema, resolveConfig } from './config/resolve.js'
import { ConfigError, Exit, InfraError, type ExitCode } from './errors.js'
import { runBench } from './run.js'
import { Interrupt, handleSignals } from './interrupt.js'
import { exitCodeOf } from './verdict.js'
import { mergeShardResults } from './shard/merge.js'
import { runMaxSearch } from './max/run-max.js'
import { verifyStored } from './verify/stored.js'
import { dropRuns, listRuns } from './runs.js'
import { withDatabase } from './infra.js'
import { resolveBridge, runBridgeCommand, type BridgeCommandOptions } from './transport/kafka/command.js'
import { compareRuns, comparisonText, thresholdsFrom } from './report/compare.js'
import { loadResult, writeReports } from './report/files.js'
import { textOf } from './util/text.js'

const EXIT_HELP = `
Exit codes:
  0  every property holds        3  a property failed (see result.json)
  4  invalid options or profile  5  a service could not be reached
  6  interrupted (Ctrl-C/SIGTERM): the shortened run was judged and written
  7  only timing failed, on a saturated host (--strict-timing: 3)
  130  interrupted twice: exited at once, nothing judged
  1  internal error`

const LAYERS_HELP = `
Options resolve as: defaults < profile file < IOTBENCH_* environment < flags.
The defaults shown are the built-in ones; a profile overrides them (see: iotbench profiles).
Every option has an environment variable: --batch-rows is IOTBENCH_BATCH_ROWS, --mqtt-url is IOTBENCH_MQTT_URL.`

function addOptions(cmd: Command, keys: readonly OptionKey[]): void {
  for (const spec of OPTIONS) {
    if (!keys.includes(spec.key)) continue
    const placeholder = spec.type === 'enum' ? spec.values.join('|') : spec.type === 'url' ? 'url' : spec.type === 'string' ? 'value' : 'n'
    const def = DEFAULTS[spec.key]
    const help = `${spec.help}${def !== undefined && def !== '' && def !== false ? ` (default ${textOf(def)})` : ''}`
    const opt = new Option(spec.type === 'boolean' ? `--${spec.flag}` : `--${spec.flag} <${placeholder}>`, help)
    if (spec.hidden) opt.hideHelp()
    cmd.addOption(opt)
  }
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
/** Commander names values after the flag (--duration → duration); the config names them by option key. */
function flagValues(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const spec of OPTIONS) if (opts[camel(spec.flag)] !== undefined) out[spec.key] = opts[camel(spec.flag)]
  return out
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

function fail(err: unknown): ExitCode {
  if (err instanceof ConfigError) {
    log(err.message)
    return Exit.InvalidConfig
  }
  if (err instanceof InfraError) {
    log(`${err.message}\n  what to do: ${err.hint}`)
    return Exit.InfraUnavailable
  }
  log(`iotbench: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  return Exit.Internal
}

const ALL_KEYS = OPTIONS.map((o) => o.key)
const DB_KEYS: OptionKey[] = ['databaseUrl', 'dbSchema', 'storage', 'embeddedDir', 'embeddedPgPort', 'resultsDir']

export function buildCli(setExit: (code: ExitCode) => void): Command {
  const program = new Command('iotbench')
    .description(
      'Load and correctness bench for a dairy-farm IoT pipeline: simulated sensors → MQTT → batched COPY → PostgreSQL/TimescaleDB, verified property by property.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `${LAYERS_HELP}\n${EXIT_HELP}\n\nStart with:  iotbench run --profile ci`)

  const run = program
    .command('run')
    .description('run a bench profile end to end and print the verdict (embedded broker and PostgreSQL unless told otherwise)')
    .option('-p, --profile <name|file.json>', `bench profile: ${listProfiles().join(', ')}, or a path`, 'ci')
  addOptions(run, ALL_KEYS)
  run.addHelpText(
    'after',
    `
Examples:
  iotbench run --profile ci                                   # nothing installed: embedded aedes + PostgreSQL
  iotbench run --mqtt-url mqtt://127.0.0.1:1883 --database-url postgres://postgres:postgres@127.0.0.1:5432/postgres
  IOTBENCH_RATE=5000 iotbench run --duration 60               # env and flags override the profile
  IOTBENCH_MQTT_PASSWORD=… iotbench run --mqtt-url mqtts://broker:8883 --mqtt-username bench \\
    --mqtt-ca ca.crt --mqtt-cert client.crt --mqtt-key client.key \\
    --database-url 'postgres://bench@db/iotbench?sslmode=verify-full' --database-ca db-ca.crt   # TLS everywhere
  iotbench run --live-port 8088                               # watch farm01 live at http://127.0.0.1:8088/
  iotbench run --mqtt-url mqtt://127.0.0.1:1883 --transport kafka --kafka-url kafka://127.0.0.1:19092 --ingest-workers 3
                                                              # MQTT → bridge → Kafka → a consumer group of 3 processes
  iotbench run --profile max --mqtt-url mqtt://127.0.0.1:1883 # the highest rate at which every property holds
${LAYERS_HELP}
${EXIT_HELP}`,
  )
  run.action(async (opts: Record<string, unknown>) => {
    const cfg: RunConfig = resolveConfig({ profile: String(opts.profile), env: process.env, flags: flagValues(opts) })
    if (cfg.maxCeiling !== undefined) {
      const max = await runMaxSearch(cfg, log)
      process.stdout.write(`${max.summary}\n  result: ${max.file}\n`)
      return setExit(max.result.maxRate !== undefined ? Exit.Ok : Exit.PropertyFailed)
    }
    const interrupt = new Interrupt()
    const release = handleSignals(interrupt, log, () => process.exit(Exit.Aborted))
    try {
      const outcome = await runBench(cfg, log, interrupt)
      process.stdout.write(`${outcome.summary}\n  result: ${outcome.resultFile}\n`)
      setExit(outcome.pending ? Exit.Ok : exitCodeOf(outcome.result, cfg.strictTiming))
    } catch (err) {
      // Threads terminated by a hard stop fail the run under it: the hard stop ends the process.
      if (interrupt.hardStopping) await new Promise(() => undefined)
      throw err
    } finally {
      release()
    }
  })

  const verify = program
    .command('verify')
    .argument('<run-id>', 'the run to verify again (its name, as printed by run)')
    .description(
      're-run verification of a finished run from the database alone (seed, profile and source acknowledgements are stored with the run)',
    )
  addOptions(verify, [...DB_KEYS, 'dashboards'])
  verify
    .option('--row-by-row', 'check P1–P3 row by row for every device, skipping the set-based pass (slower; the same verdict)')
    .option(
      '--regenerate-oracle',
      'regenerate the oracle’s record (digests and alert expectations) from the seed instead of using the one stored with the run',
    )
  verify.addHelpText(
    'after',
    `
P1–P3 are checked set-based: one aggregate query per sensor table fingerprints each device's rows in
the database and compares them with the oracle's digests (computed from the seed while the run's load
ran, and stored with the run); only devices that differ are streamed out and checked row by row,
which is what names the first lost, duplicated, corrupted or late (device, seq).

Examples:
  iotbench verify 20261123-140512-ci-3fa2 --database-url postgres://…
  iotbench verify 20261123-140512-ci-3fa2 --row-by-row          # every reading streamed and compared
${EXIT_HELP}`,
  )
  verify.action(async (runName: string, opts: Record<string, unknown>) => {
    const cfg = resolveConfig({ profile: DEFAULTS.profile, env: process.env, flags: flagValues(opts) })
    const outcome = await verifyStored(cfg, runName, log, {
      rowByRow: opts.rowByRow === true,
      regenerateDigests: opts.regenerateOracle === true,
    })
    process.stdout.write(`${outcome.summary}\n  written: ${outcome.file}\n`)
    setExit(exitCodeOf(outcome.result))
  })

  const merge = program
    .command('merge')
    .argument(
      '<shard-results...>',
      'the folders (or shard.json files) the agents of one sharded run wrote: <results-dir>/<run-id>.shard-IofN',
    )
    .description(
      'combine the agents of a sharded run (iotbench run --shard i/n) into one result: histograms merged exactly, counts summed, the whole fleet verified (P1–P7) from the shared database',
    )
  addOptions(merge, DB_KEYS)
  merge.addHelpText(
    'after',
    `
Example (two agents, one broker and database, the same run id and seed; they start together at a barrier in the database):
  iotbench run --shard 1/2 --run-id fleet-1 --mqtt-url mqtt://broker:1883 --database-url postgres://…   # machine A
  iotbench run --shard 2/2 --run-id fleet-1 --mqtt-url mqtt://broker:1883 --database-url postgres://…   # machine B
  iotbench merge a/bench-results/fleet-1.shard-1of2 b/bench-results/fleet-1.shard-2of2 --database-url postgres://…
${EXIT_HELP}`,
  )
  merge.action(async (refs: string[], opts: Record<string, unknown>) => {
    const cfg = resolveConfig({ profile: DEFAULTS.profile, env: process.env, flags: flagValues(opts) })
    const outcome = await mergeShardResults(cfg.slices.shard, (fn) => withDatabase(cfg, fn, log), refs, log)
    process.stdout.write(`${outcome.summary}\n  result: ${outcome.resultFile}\n`)
    setExit(exitCodeOf(outcome.result))
  })

  const runs = program.command('runs').description('list the runs a database holds, or drop old runs and everything they stored')
  const list = runs.command('list').description('the latest runs: name, profile, start, verdict').option('--limit <n>', 'how many', '20')
  addOptions(list, DB_KEYS)
  list.action(async (opts: Record<string, unknown>) => {
    const cfg = resolveConfig({ profile: DEFAULTS.profile, env: process.env, flags: flagValues(opts) })
    const rows = await withDatabase(cfg, (client) => listRuns(client, Number(opts.limit) || 20))
    for (const r of rows)
      process.stdout.write(
        `${r.name.padEnd(36)} ${r.profile.padEnd(8)} ${r.startedAt.toISOString()}  ${r.verdict ?? 'unfinished'}  [${r.storage}]\n`,
      )
    if (rows.length === 0) process.stdout.write('no runs\n')
  })
  const drop = runs
    .command('drop')
    .argument('[run-ids...]', 'names of the runs to drop')
    .option('--older-than <age>', 'drop every run started longer ago than this: 90m, 12h, 7d')
    .description('delete runs with their readings, dead letters and batch records, in one transaction')
  addOptions(drop, DB_KEYS)
  drop.addHelpText(
    'after',
    `
Examples:
  iotbench runs drop 20261123-140318-ci-50c5
  iotbench runs drop --older-than 7d --database-url postgres://…`,
  )
  drop.action(async (names: string[], opts: Record<string, unknown>) => {
    const cfg = resolveConfig({ profile: DEFAULTS.profile, env: process.env, flags: flagValues(opts) })
    const olderThan = typeof opts.olderThan === 'string' ? opts.olderThan : undefined
    const r = await withDatabase(cfg, (client) => dropRuns(client, { names, ...(olderThan ? { olderThan } : {}) }))
    process.stdout.write(`dropped ${r.runs.length} run(s), ${r.rows} rows${r.runs.length ? `: ${r.runs.join(', ')}` : ''}\n`)
  })

  const report = program
    .command('report')
    .argument('<runs...>', 'a run id (under --results-dir), a run folder or a result.json; with --compare: baseline then current')
    .option('--compare', 'compare two runs; exit 3 when the second regressed beyond the thresholds')
    .option('--threshold-p99 <limit>', 'largest allowed growth of end-to-end p99: a percentage (10%) or ms (50ms)', '10%')
    .option('--threshold-throughput <limit>', 'largest allowed drop of achieved throughput (percentage)', '5%')
    .description('write report.md and report.html of a finished run from its result.json, or compare two runs (CI baselines)')
  addOptions(report, ['resultsDir'])
  report.addHelpText(
    'after',
    `
Examples:
  iotbench report 20261123-140512-ci-3fa2                       # → bench-results/<run>/report.md, report.html
  iotbench report --compare bench-results/baselines/ci.json 20261123-140512-ci-3fa2 --threshold-p99 20%

Exit codes:
  0  reports written / no regression   3  --compare: the second run regressed
  4  invalid options, or a result that cannot be read   1  internal error`,
  )
  report.action((refs: string[], opts: Record<string, unknown>) => {
    const cfg = resolveConfig({ profile: DEFAULTS.profile, env: process.env, flags: flagValues(opts) })
    if (opts.compare) {
      if (refs.length !== 2) throw new ConfigError([`--compare takes exactly two runs, baseline then current (got ${refs.length})`])
      const thresholds = thresholdsFrom(opts.thresholdP99 as string | undefined, opts.thresholdThroughput as string | undefined)
      const c = compareRuns(loadResult(refs[0], cfg.resultsDir).result, loadResult(refs[1], cfg.resultsDir).result, thresholds)
      process.stdout.write(`${comparisonText(c)}\n`)
      return setExit(c.regressions.length ? Exit.PropertyFailed : Exit.Ok)
    }
    for (const ref of refs) {
      const { result, dir } = loadResult(ref, cfg.resultsDir)
      mkdirSync(dir, { recursive: true })
      const files = writeReports(dir, result)
      process.stdout.write(`${result.runId}: ${files.markdown}\n${result.runId}: ${files.html}\n`)
    }
  })

  const bridge = program
    .command('bridge')
    .description(
      'move MQTT telemetry into a Kafka topic keyed by device, acknowledging MQTT only once Kafka has each record; runs until Ctrl-C',
    )
    .option('--mqtt-url <url>', 'the broker to bridge from (required)')
    .option('--mqtt-protocol <auto|4|5>', 'MQTT version of the bridge subscriber', 'auto')
    .option('--topic-prefix <value>', 'prefix of the telemetry topics', '')
    .option('--kafka-brokers <host:port,…>', 'Kafka bootstrap brokers (required)')
    .option('--kafka-topic <name>', 'the Kafka topic (created if missing)', 'iotbench-telemetry')
    .option('--partitions <n>', 'partitions when the topic is created', '8')
  for (const spec of OPTIONS.filter((o) => ['mqttUsername', 'mqttPassword', 'mqttCa', 'mqttCert', 'mqttKey'].includes(o.key)))
    bridge.option(`--${spec.flag} <value>`, spec.help)
  bridge
    .addHelpText(
      'after',
      `
Example:
  bash infra/kafka/start-kafka.sh            # Apache Kafka from Maven Central jars on 127.0.0.1:19092
  iotbench bridge --mqtt-url mqtt://127.0.0.1:1883 --kafka-brokers 127.0.0.1:19092`,
    )
    .action(async (opts: BridgeCommandOptions) => {
      const resolved = resolveBridge(opts, process.env)
      const stop = new AbortController()
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort())
      const stats = await runBridgeCommand(resolved, log, stop.signal)
      process.stdout.write(`bridge stopped: received ${stats.received}, in Kafka ${stats.produced}, acknowledged ${stats.acked}\n`)
    })

  program
    .command('profiles')
    .description('list the bench profiles with their rate, duration and what they exercise')
    .option('--json', 'print them as JSON')
    .option('--schema', 'print the JSON schema a profile file is validated against')
    .action((opts: { json?: boolean; schema?: boolean }) => {
      if (opts.schema) return void process.stdout.write(`${JSON.stringify(profileSchema(), null, 2)}\n`)
      const profiles = listProfiles().map((name) => {
        const p = loadProfile(name)
        const v = { ...DEFAULTS, ...p.values }
        return {
          name,
          description: p.description,
          rate: v.rate,
          durationSeconds: v.durationSeconds,
          qos: v.qos,
          devices: v.farms * (v.cowsPerFarm + v.stallsPerFarm + v.tanksPerFarm),
          sloP99Ms: v.sloP99Ms,
        }
      })
      if (opts.json) return void process.stdout.write(`${JSON.stringify(profiles, null, 2)}\n`)
      for (const p of profiles) {
        process.stdout.write(
          `${p.name.padEnd(8)} ${String(p.rate).padStart(7)}/s × ${String(p.durationSeconds).padStart(5)} s  QoS ${p.qos}  ${String(p.devices).padStart(6)} devices  p99 ≤ ${p.sloP99Ms} ms\n         ${p.description}\n`,
        )
      }
    })
  return program
}

export async function main(argv: readonly string[]): Promise<ExitCode> {
  let code: ExitCode = Exit.Ok
  const program = buildCli((c) => (code = c))
  try {
    await program.parseAsync(argv)
    return code
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return Exit.Ok
      return Exit.InvalidConfig
    }
    return fail(err)
  }
}
