import type { RunConfig } from '../../config/options.js'

/** Rules of --transport kafka that involve more than one option. */
export function kafkaChecks(c: Pick<RunConfig, 'kafkaUrl' | 'ingestWorkers' | 'kafkaPartitions'>): string[] {
  const problems: string[] = []
  if (!c.kafkaUrl)
    problems.push(
      '--transport kafka needs --kafka-url, e.g. kafka://127.0.0.1:19092 (bash infra/kafka/start-kafka.sh starts a broker there)',
    )
  if (c.ingestWorkers > c.kafkaPartitions)
    problems.push(
      `ingest-workers (${c.ingestWorkers}) must be ≤ kafka-partitions (${c.kafkaPartitions}): a consumer without a partition idles`,
    )
  return problems
}
