import { setTimeout as sleep } from 'node:timers/promises'
import mqtt from 'mqtt'
import type pg from 'pg'
import { connect } from '../db/connect.js'
import { copyRowBatches } from '../db/copy-rows.js'
import { InfraError, errorMessage } from '../errors.js'
import type { Done, IngestPool } from '../ingest/pool.js'
import type { IngestCounters } from '../ingest/messages.js'
import { KINDS, KIND_NAMES } from '../kinds.js'
import { mqttJsOptions, type MqttSecurity } from '../transport/mqtt-options.js'
import { encodeHistogram, newHistogram } from '../util/histogram.js'
import type { PropertyId } from '../verify/types.js'
import { startIngestProcess, type IngestProcess } from './process.js'
import type { Sink } from './sink.js'

export interface ExternalIngestOptions {
  /** Shell command that starts the external ingest (unset: it already runs). */
  readonly command: string | undefined
  /** Variables the command gets besides the run's environment (IOTBENCH_RUN_ID, IOTBENCH_MQTT_URL, …). */
  readonly env: Readonly<Record<string, string>>
  readonly databaseUrl: string
  readonly dbSchema: string
  readonly dbRunId: number
  readonly mqttUrl: string
  readonly mqttSecurity: MqttSecurity | undefined
  /** The probe's topic and payload: a valid reading of a device outside the fleet. */
  readonly probe: { readonly clientId: string; readonly topic: string; readonly payload: string }
  readonly readyTimeoutMs: number
  /** The drain ends when the stored count has not grown for this long (or reached what was published). */
  readonly quietMs: number
}

export interface ExternalIngest extends IngestPool {
  /** Properties the external ingest's storage gives no data for, with the reason. */
  notApplicable(): Readonly<Partial<Record<PropertyId, string>>>
}

const ZERO: IngestCounters = { received: 0, committedRows: 0, deadLetters: 0, batches: 0, retries: 0, duplicatesSkipped: 0 }

/**
 * An ingest the bench did not write (`--ingest external`): started by --ingest-command in its own process
 * group, gated by a readiness probe (a reading of a device outside the fleet, published until the sink
 * shows it), watched by counting what it stored, stopped after the drain. Its rows then sit where the
 * verifier reads them, so every checker judges it as it judges ours.
 */
export async function startExternalIngest(
  o: ExternalIngestOptions,
  makeSink: (client: pg.Client) => Promise<Sink>,
  log: (line: string) => void,
): Promise<ExternalIngest> {
  const client = await connect(o.databaseUrl, o.dbSchema, 'iotbench-external-ingest')
  let proc: IngestProcess | undefined
  try {
    const sink = await makeSink(client)
    if (o.command !== undefined) {
      proc = startIngestProcess(o.command, o.env)
      log(`external ingest started (process group ${proc.pid}): ${o.command}`)
    }
    const readyMs = await awaitProbe(o, sink, client, proc).catch((err: unknown) => {
      if (err instanceof InfraError) throw err
      throw new InfraError(
        `the external ingest did not become ready: ${errorMessage(err)}`,
        'run the --ingest-command by hand with the variables above to see why it stops',
      )
    })
    log(`external ingest ready: the readiness probe was stored after ${readyMs} ms`)
    return watch(o, sink, client, proc, log)
  } catch (err) {
    await proc?.stop()
    await client.end().catch(() => undefined)
    throw err
  }
}

/** Publishes the probe once a second until the sink holds it; bounded by readyTimeoutMs. */
async function awaitProbe(o: ExternalIngestOptions, sink: Sink, client: pg.Client, proc: IngestProcess | undefined): Promise<number> {
  const started = Date.now()
  const publisher = await mqtt.connectAsync(o.mqttUrl, {
    ...mqttJsOptions(o.mqttSecurity),
    clientId: o.probe.clientId,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 500,
  })
  try {
    let lastPublish = 0
    while (Date.now() - started < o.readyTimeoutMs) {
      if (Date.now() - lastPublish >= 1000) {
        lastPublish = Date.now()
        await publisher.publishAsync(o.probe.topic, o.probe.payload, { qos: 1 })
      }
      if (await sink.probeSeen(client)) return Date.now() - started
      await Promise.race([sleep(100), proc?.exited])
    }
  } finally {
    await publisher.endAsync(true)
  }
  const tail = proc ? `; its last output:\n${proc.tail()}` : ' (no --ingest-command: is it running?)'
  throw new InfraError(
    `the external ingest did not store the readiness probe (device ${o.probe.topic.split('/').at(-2)} on ${o.probe.topic}) within ${o.readyTimeoutMs / 1000} s${tail}`,
    'check that it subscribes to the run’s telemetry topics on this broker and writes where the sink map says; --ingest-ready-timeout gives it longer',
  )
}

function watch(
  o: ExternalIngestOptions,
  sink: Sink,
  client: pg.Client,
  proc: IngestProcess | undefined,
  log: (line: string) => void,
): ExternalIngest {
  let stored = 0
  let grewAt = Date.now()
  let polling: Promise<void> = Promise.resolve()
  let pollError: string | undefined
  const poll = (): Promise<void> =>
    (polling = polling.then(async () => {
      try {
        const n = await sink.count(client)
        if (n !== stored) grewAt = Date.now()
        stored = n
        pollError = undefined
      } catch (err) {
        pollError = errorMessage(err)
      }
    }))
  const timer = setInterval(() => void poll(), 500)
  // The ingest under test dying mid-run is a finding, not a crash of the bench: the run goes on, the drain
  // ends at once, and the verdict judges what it stored (P1 counts the rest), its exit in the evidence.
  let exitedEarly: string | undefined
  proc?.exited.catch((err: unknown) => {
    exitedEarly = errorMessage(err)
    log(`external ingest: ${exitedEarly}`)
  })
  const failed = new Promise<never>(() => undefined)
  let drain: 'complete' | 'quiet' | 'exited' | undefined
  const totals = (): IngestCounters => ({ ...ZERO, received: stored, committedRows: stored })
  return {
    mqttVersion: 4,
    totals,
    failed,
    async caughtUp(published: number) {
      await poll()
      if (pollError !== undefined) log(`counting the external ingest's rows failed: ${pollError}`)
      if (stored >= published) drain = 'complete'
      else if (exitedEarly !== undefined) drain = 'exited'
      else if (Date.now() - grewAt >= o.quietMs) drain = 'quiet'
      else drain = undefined
      return drain !== undefined
    },
    async stop(): Promise<Done[]> {
      clearInterval(timer)
      await polling
      try {
        await proc?.stop()
        if (drain === 'quiet')
          log(`external ingest: the stored count stopped growing at ${stored} for ${o.quietMs / 1000} s: judged as it is`)
        const imported = await sink.finish(client)
        stored = imported
        const endToEnd = await latencyOf(client, o.dbRunId)
        return [{ kind: 'done', worker: 0, endToEnd, brokerHop: encodeHistogram(newHistogram()), deadLetterReasons: {}, ...totals() }]
      } finally {
        await client.end().catch(() => undefined)
      }
    },
    async abort() {
      clearInterval(timer)
      await proc?.stop(1000)
    },
    notApplicable: () => sink.notApplicable,
    evidence: () => ({
      ingest: 'external',
      ...(o.command !== undefined && { command: o.command }),
      drain: drain ?? 'timeout',
      stored,
      ...(exitedEarly !== undefined && { exitedEarly }),
      ...(proc && { outputTail: proc.tail() }),
    }),
  }
}

/** The histograms' ceiling (src/util/histogram.ts): an hour. */
const MAX_US = 3_600_000_000

/** Intended send time → the row's insert time, as the run stored them (µs, HdrHistogram). */
async function latencyOf(client: pg.Client, dbRunId: number): Promise<string> {
  const h = newHistogram()
  for (const k of KIND_NAMES) {
    const q = `SELECT round(extract(epoch FROM received - sent) * 1e6)::bigint FROM ${KINDS[k].table} WHERE run_id = ${Number(dbRunId)}`
    for await (const rows of copyRowBatches(client, q)) for (const r of rows) h.recordValue(Math.min(MAX_US, Math.max(0, Number(r[0]))))
  }
  return encodeHistogram(h)
}
