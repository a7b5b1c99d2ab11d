import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { ConfigError, errorMessage } from '../errors.js'
import { KINDS, KIND_NAMES, type Kind } from '../kinds.js'
import { quoteIdent } from '../db/connect.js'

/**
 * Where an external ingest stores the readings (src/external/, docs/external-ingest.md): per sensor kind,
 * a table and the columns holding device, seq, sensor time and each value, and the optional columns that
 * make more properties judgeable. Strings may name environment variables as ${NAME} (as Telegraf's
 * config does), so one map serves a schema made per run.
 */
export interface KindSink {
  readonly table: string
  readonly device: string
  readonly seq: string
  /** Sensor timestamp (timestamptz). */
  readonly ts: string
  /** The payload's `sent` (epoch ms, the intended send time): with insertedAt, P4's latency. */
  readonly sentMs?: string
  /** A column the database fills at insert, e.g. `DEFAULT clock_timestamp()`: P4's commit time. */
  readonly insertedAt?: string
  /** A column that grows in the order rows were stored (e.g. bigserial): P3. */
  readonly receiveOrder?: string
  /** Field name → column; a field not named here is read from the column of its own name. */
  readonly values?: Readonly<Record<string, string>>
}

/** The external ingest's alerts, for P5: one row per raise (a clear is not a row here). */
export interface AlertSink {
  readonly table: string
  readonly device: string
  /** The rule's name, ours or one `rules` maps to ours. */
  readonly rule: string
  /** seq of the reading the rule fired on. */
  readonly seq: string
  /** When the alert was raised (timestamptz); rows raised before the run are left out. */
  readonly raisedAt: string
  /** The triggering reading's `sent` (epoch ms); without it, the stored reading's. */
  readonly sentMs?: string
  /** Their rule name → ours (src/alerts/rules.ts); a name not listed is taken as it is. */
  readonly rules?: Readonly<Record<string, string>>
}

/** The external ingest's dead letters, for P7: the rejected message as received and why. */
export interface DeadLetterSink {
  readonly table: string
  readonly topic: string
  /** The payload as received (bytea, or text holding it). */
  readonly payload: string
  readonly reason: string
  /** When it was rejected (timestamptz); rows from before the run are left out. */
  readonly receivedAt: string
  /** Their reason → ours (README "Dead letters"); a reason not listed is taken as it is. */
  readonly reasons?: Readonly<Record<string, string>>
}

export interface SinkMap {
  /** Schema of the tables (default: the database user's search_path). */
  readonly schema?: string
  readonly kinds: Readonly<Record<Kind, KindSink>>
  readonly alerts?: AlertSink
  readonly deadLetters?: DeadLetterSink
}

const IDENT = '^[A-Za-z_][A-Za-z0-9_$]{0,62}$'
const column = { type: 'string', pattern: IDENT }
const renames = { type: 'object', additionalProperties: { type: 'string', minLength: 1 } }
const table = (required: readonly string[], optional: readonly string[], map: string): object => ({
  type: 'object',
  additionalProperties: false,
  required: ['table', ...required],
  properties: { table: column, ...Object.fromEntries([...required, ...optional].map((c) => [c, column])), [map]: renames },
})

export const sinkMapSchema = (): object => ({
  type: 'object',
  additionalProperties: false,
  required: ['kinds'],
  properties: {
    $comment: { type: 'string' },
    schema: column,
    kinds: {
      type: 'object',
      additionalProperties: false,
      required: [...KIND_NAMES],
      properties: Object.fromEntries(
        KIND_NAMES.map((k) => [
          k,
          {
            type: 'object',
            additionalProperties: false,
            required: ['table', 'device', 'seq', 'ts'],
            properties: {
              table: column,
              device: column,
              seq: column,
              ts: column,
              sentMs: column,
              insertedAt: column,
              receiveOrder: column,
              values: {
                type: 'object',
                additionalProperties: false,
                properties: Object.fromEntries(KINDS[k].fields.map((f) => [f.name, column])),
              },
            },
          },
        ]),
      ),
    },
    alerts: table(['device', 'rule', 'seq', 'raisedAt'], ['sentMs'], 'rules'),
    deadLetters: table(['topic', 'payload', 'reason', 'receivedAt'], [], 'reasons'),
  },
})

/** ${NAME} → the variable's value; an unset variable is a problem, never an empty identifier. */
function expandEnv(text: string, env: NodeJS.ProcessEnv, problems: string[]): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = env[name]
    if (v === undefined) problems.push(`the sink map names \${${name}}, which is not set in the environment`)
    return v ?? ''
  })
}

/** Reads and validates a sink map file; every problem at once, as a ConfigError (exit 4). */
export function loadSinkMap(file: string, env: NodeJS.ProcessEnv = process.env): SinkMap {
  const problems: string[] = []
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError([`sink-map ${file} cannot be read: ${errorMessage(err)}`])
  }
  let doc: unknown
  try {
    doc = JSON.parse(expandEnv(text, env, problems))
  } catch (err) {
    throw new ConfigError([...problems, `sink-map ${file} must be JSON (${errorMessage(err)})`])
  }
  const validate = new Ajv({ allErrors: true, strict: false }).compile(sinkMapSchema())
  if (!validate(doc)) {
    for (const e of validate.errors ?? []) {
      const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : ''
      problems.push(`sink-map ${file}: ${e.instancePath || '(top level)'} ${e.message ?? 'is invalid'}${extra}`)
    }
  }
  if (problems.length) throw new ConfigError(problems)
  return doc as SinkMap
}

/** The problems of a --sink-map file, for the config's cross-checks (empty when it is valid). */
export function sinkMapProblems(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  try {
    loadSinkMap(file, env)
    return []
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
}

/** The table of a kind, schema-qualified and quoted. */
export const sinkTable = (map: SinkMap, table: string): string =>
  map.schema ? `${quoteIdent(map.schema)}.${quoteIdent(table)}` : quoteIdent(table)

/** The column holding a value field of a kind. */
export const valueColumn = (sink: KindSink, field: string): string => sink.values?.[field] ?? field
