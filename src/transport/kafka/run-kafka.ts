import { Kafka, logLevel } from 'kafkajs'
import { connect } from '../../db/connect.js'
import { InfraError, errorMessage } from '../../errors.js'
import { startConsumerGroup } from '../../ingest/kafka-pool.js'
import type { IngestWorkerData, KafkaIngest } from '../../ingest/messages.js'
import type { IngestPool } from '../../ingest/pool.js'
import type { MetricsSink } from '../../metrics/thread-metrics.js'
import { summarizeEncoded } from '../../util/histogram.js'
import { startBridgeThread } from './bridge-thread.js'

/** A killed member's partitions move to the others after this long without its heartbeat. */
export const SESSION_TIMEOUT_MS = 10_000

export interface KafkaRunOptions {
  readonly kafkaUrl: string
  readonly partitions: number
  readonly kafkajsLog: KafkaIngest['log']
  readonly consumers: number
  /** The run's name: the topic and the group are named after it. */
  readonly runName: string
  readonly mqttUrl: string
  /** One consumer's data without its number, client id and Kafka part. */
  readonly base: Omit<IngestWorkerData, 'worker' | 'clientId' | 'filters' | 'kafka'>
}

/**
 * `iotbench run --transport kafka`: the simulators publish MQTT as always; a bridge thread moves the
 * telemetry into a run-unique topic keyed by device; the ingest is a consumer group of child processes
 * that store the consumed offsets with each batch. Caught up when the bridge holds nothing and the
 * stored offsets reach the topic's end.
 */
export async function startKafkaIngest(
  o: KafkaRunOptions,
  log: (line: string) => void,
  sink?: MetricsSink,
  onLive?: Parameters<typeof startConsumerGroup>[3],
): Promise<IngestPool> {
  const brokers = [new URL(o.kafkaUrl).host]
  const topic = `iotbench-${o.runName}`
  const groupId = `${topic}-ingest`
  const admin = new Kafka({ clientId: `${topic}-admin`, brokers, logLevel: logLevel.NOTHING }).admin()
  try {
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: o.partitions, replicationFactor: -1 }], waitForLeaders: true })
  } catch (err) {
    await admin.disconnect().catch(() => undefined)
    throw new InfraError(
      `cannot reach Kafka at ${brokers.join(',')}: ${errorMessage(err)}`,
      'is the broker running? (bash infra/kafka/start-kafka.sh starts one on 127.0.0.1:19092)',
      { cause: err },
    )
  }
  log(`Kafka topic ${topic}: ${o.partitions} partitions; consumer group ${groupId} of ${o.consumers} processes`)
  const bridge = await startBridgeThread(
    {
      mqttUrl: o.mqttUrl,
      mqttProtocol: o.base.mqttProtocol,
      clientId: `${topic}-bridge`,
      filters: [`${o.base.topicPrefix}farm/+/+/+/telemetry`],
      topicPrefix: o.base.topicPrefix,
      brokers,
      kafkaTopic: topic,
      // Packed records are cheap per reading: a request may take the whole window (one record per partition).
      maxBatch: 20_000,
      window: 20_000,
      packPartitions: o.partitions,
      ...(o.base.mqttSecurity && { mqttSecurity: o.base.mqttSecurity }),
    },
    log,
  )
  const kafka = { brokers, topic, groupId, partitions: o.partitions, sessionTimeoutMs: SESSION_TIMEOUT_MS, log: o.kafkajsLog }
  const workers = Array.from({ length: o.consumers }, (_, worker): IngestWorkerData => ({
    ...o.base,
    worker,
    clientId: `${topic}-ingest-${worker}`,
    filters: [],
    kafka,
    faultHook: worker === 0 ? o.base.faultHook : undefined,
  }))
  const group = await startConsumerGroup(workers, log, sink, onLive).catch(async (err: unknown) => {
    await bridge.stop().catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
    throw err
  })
  const db = await connect(o.base.databaseUrl, o.base.dbSchema, 'iotbench-kafka-lag')
  const failed = Promise.race([group.failed, bridge.failed])
  failed.catch(() => undefined)
  let finals: Awaited<ReturnType<typeof group.stop>> = []
  let bridgeFinal = bridge.stats()
  let stored: { committedRows?: number; deadLetters?: number; batches?: number } = {}
  for (const [w, pid] of group.pids()) log(`ingest consumer ${w}: pid ${pid}`)
  return {
    mqttVersion: group.mqttVersion,
    failed,
    // After the stop, rows, dead letters and batches come from ingest_batches: a killed member never
    // reported its last second, but everything it committed is there.
    totals: () => ({ ...group.totals(), ...stored }),
    async caughtUp(published, badInput) {
      const b = bridge.stats()
      // The bridge moves the bad input too: without it here, the drain could end with the last
      // malformed messages still on their way (P7 missed one at 3,000/s, issue 19).
      if (b.pending > 0 || b.received < published + badInput || b.produced < b.received) return false
      const ends = await admin.fetchTopicOffsets(topic)
      const end = ends.reduce((n, p) => n + Number(p.high), 0)
      const r = await db.query<{ n: string | null }>('SELECT sum(next_offset) AS n FROM kafka_offsets WHERE run_id = $1 AND topic = $2', [
        o.base.runId,
        topic,
      ])
      return Number(r.rows[0]?.n ?? 0) >= end
    },
    async stop() {
      try {
        finals = await group.stop()
        bridgeFinal = { ...(await bridge.stop()), pending: 0 }
        const r = await db.query<{ rows: string | null; dead: string | null; batches: string }>(
          'SELECT sum(rows) AS rows, sum(dead_letters) AS dead, count(*) AS batches FROM ingest_batches WHERE run_id = $1',
          [o.base.runId],
        )
        stored = {
          committedRows: Number(r.rows[0]?.rows ?? 0),
          deadLetters: Number(r.rows[0]?.dead ?? 0),
          batches: Number(r.rows[0]?.batches ?? 0),
        }
        const hops = finals.flatMap((d) => (d.kafkaHop ? [d.kafkaHop] : []))
        const hop = hops.length ? `, Kafka hop p99 ${summarizeEncoded(hops).p99Ms} ms` : ''
        log(
          `Kafka: bridge produced ${bridgeFinal.produced}${hop}; ${group.assignments.length} assignments, ${group.exits.length} consumers exited`,
        )
        await admin
          .deleteTopics({ topics: [topic] })
          .catch((err: unknown) => log(`deleting Kafka topic ${topic} failed: ${errorMessage(err)}`))
      } finally {
        await admin.disconnect().catch(() => undefined)
        await db.end().catch(() => undefined)
      }
      return finals
    },
    evidence() {
      const hops = finals.flatMap((d) => (d.kafkaHop ? [d.kafkaHop] : []))
      return {
        kind: 'kafka',
        topic,
        partitions: o.partitions,
        groupId,
        consumers: o.consumers,
        bridge: bridgeFinal,
        /** Bridge produce → consumer receive, the Kafka part of the broker hop. */
        kafkaHop: hops.length ? summarizeEncoded(hops) : undefined,
        assignments: group.assignments,
        consumerExits: group.exits,
        joins: group.assignments.length,
      }
    },
  }
}
