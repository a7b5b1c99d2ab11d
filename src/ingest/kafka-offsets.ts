import type pg from 'pg'

/**
 * Offsets in the database, in the batch's transaction: the exactly-once half of the Kafka transport.
 *
 * A consumer keeps, per partition it owns, the next offset it will take (seeded from kafka_offsets
 * when the partition is assigned). Records below it are redeliveries of what is already stored (Kafka's
 * committed offset lags the database) and are skipped. A batch remembers per partition the range of
 * offsets it holds; its transaction moves kafka_offsets from the range's first offset to its end, and
 * only if the stored offset is still that first offset: otherwise another member of the group took the
 * partition and stored past it meanwhile, and the whole batch is rolled back (StaleOffsetsError).
 */
export interface OffsetRange {
  /** First offset of the partition in the batch. */
  first: number
  /** One past the last offset of the partition in the batch. */
  next: number
}

export class StaleOffsetsError extends Error {
  override readonly name = 'StaleOffsetsError'
}

/** Next offset to take per partition; a record below it is already in the database or in a batch. */
export class OffsetLedger {
  private readonly next = new Map<number, number>()

  /** Whether this partition's stored offset has been loaded since it was assigned. */
  has(partition: number): boolean {
    return this.next.has(partition)
  }

  /** The offset the database holds for a newly assigned partition. */
  seed(partition: number, storedNext: number): void {
    this.next.set(partition, storedNext)
  }

  /** True when the record must be processed (and takes it); false for a record already taken. */
  take(partition: number, offset: number): boolean {
    const n = this.next.get(partition)
    if (n === undefined) throw new Error(`partition ${partition} has no stored offset loaded`)
    if (offset < n) return false
    this.next.set(partition, offset + 1)
    return true
  }

  /** Partitions given up (revoked, or a batch was rolled back): reload from the database before taking. */
  forget(partitions?: Iterable<number>): void {
    if (!partitions) return this.next.clear()
    for (const p of partitions) this.next.delete(p)
  }

  seekTarget(partition: number): number | undefined {
    return this.next.get(partition)
  }
}

/** Adds a record's offset to a batch's ranges (records of one partition arrive in offset order). */
export function addOffset(ranges: Map<number, OffsetRange>, partition: number, offset: number): void {
  const r = ranges.get(partition)
  if (r) r.next = offset + 1
  else ranges.set(partition, { first: offset, next: offset + 1 })
}

/**
 * The fence: a batch may move the stored offsets only if each of its partitions is stored exactly at
 * the batch's first offset. Lower means a gap (records nobody stored), higher means another consumer
 * stored the records already. Returns the partitions that break it (empty: the batch may commit).
 */
export function fenceBreaks(stored: ReadonlyMap<number, number>, ranges: ReadonlyMap<number, OffsetRange>): number[] {
  const broken: number[] = []
  for (const [p, r] of ranges) if (stored.get(p) !== r.first) broken.push(p)
  return broken
}

/** Creates the offset rows of a run's topic (0 for a partition nobody stored yet) and returns them. */
export async function loadOffsets(client: pg.Client, runId: number, topic: string, partitions: number): Promise<Map<number, number>> {
  await client.query(
    `INSERT INTO kafka_offsets (run_id, topic, partition, next_offset) SELECT $1, $2, p, 0 FROM generate_series(0, $3 - 1) AS p ON CONFLICT DO NOTHING`,
    [runId, topic, partitions],
  )
  const r = await client.query<{ partition: number; next_offset: string }>(
    'SELECT partition, next_offset FROM kafka_offsets WHERE run_id = $1 AND topic = $2',
    [runId, topic],
  )
  return new Map(r.rows.map((row) => [row.partition, Number(row.next_offset)]))
}

/**
 * Inside the batch's transaction: locks the batch's partitions' rows, checks the fence and moves them
 * to the batch's ends. Throws StaleOffsetsError (the caller rolls back) when the fence breaks.
 */
export async function writeOffsets(
  client: pg.Client,
  runId: number,
  topic: string,
  worker: number,
  ranges: ReadonlyMap<number, OffsetRange>,
): Promise<void> {
  if (ranges.size === 0) return
  const partitions = [...ranges.keys()]
  const r = await client.query<{ partition: number; next_offset: string }>(
    'SELECT partition, next_offset FROM kafka_offsets WHERE run_id = $1 AND topic = $2 AND partition = ANY($3::int[]) FOR UPDATE',
    [runId, topic, partitions],
  )
  const stored = new Map(r.rows.map((row) => [row.partition, Number(row.next_offset)]))
  const broken = fenceBreaks(stored, ranges)
  if (broken.length > 0) {
    const p = broken[0]
    throw new StaleOffsetsError(
      `partition ${p} is stored at offset ${stored.get(p) ?? 'none'}, the batch starts at ${ranges.get(p)?.first} (${broken.length} partitions moved to another consumer)`,
    )
  }
  await client.query(
    `UPDATE kafka_offsets k SET next_offset = u.n, committed_by = $3, updated_at = now()
     FROM unnest($4::int[], $5::bigint[]) AS u(p, n) WHERE k.run_id = $1 AND k.topic = $2 AND k.partition = u.p`,
    [runId, topic, worker, partitions, [...ranges.values()].map((r) => r.next)], // the same order: the map's
  )
}
