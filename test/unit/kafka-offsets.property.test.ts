import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { OffsetLedger, StaleOffsetsError, addOffset, fenceBreaks, type OffsetRange } from '../../src/ingest/kafka-offsets.js'

/**
 * A consumer group against a model of Kafka and the database, driven by the real ledger, batch ranges
 * and fence: consumers take records, commit batches (offsets stored in the same "transaction" as the
 * rows, Kafka's committed offset moved only afterwards), crash with a batch open, and lose partitions
 * while a batch is still being written (zombies). Whatever the schedule, every record must be stored
 * exactly once and each partition in offset order.
 *
 * What a rebalance does to a member with a batch open is kafkajs's (2.2.4, src/consumer/runner.js and
 * fetchManager.js): the runner rejoins only after `fetchManager.stop()`, which waits for every
 * eachBatch handler in flight, and KafkaSource.onBatch returns only once the batch holding its records
 * committed or failed (a StaleOffsetsError ends the process). So a member never sees a new assignment
 * with a batch open: either its batch finishes first, or — its handler outlived the rebalance timeout —
 * the group goes on without it (a zombie: partitions moved away, its ledger, batch and old assignment
 * untouched until its batch is done). The first version of this model gave members new assignments
 * with a batch still open; fast-check (seed -1766664826) found that this stores a record twice — a
 * schedule kafkajs cannot produce (the fixed example below keeps it).
 */
interface Member {
  ledger: OffsetLedger
  owned: Set<number>
  fetchAt: Map<number, number>
  ranges: Map<number, OffsetRange>
  records: Array<[partition: number, offset: number]>
}

type Step =
  | { kind: 'consume'; member: number; partition: number; count: number }
  | { kind: 'commit'; member: number }
  | { kind: 'crash'; member: number }
  /**
   * owner[p] = the member given partition p; seekMissed: fetch starts at Kafka's (lagging) committed
   * offset; late[i]: member i's handler outlives the rebalance timeout if it has a batch open (a zombie).
   */
  | { kind: 'rebalance'; owner: number[]; seekMissed: boolean; late: boolean[] }

const MEMBERS = 3

function simulate(lengths: readonly number[], steps: readonly Step[]): { rows: Array<[number, number]> } {
  const stored = lengths.map(() => 0)
  const kafkaCommitted = lengths.map(() => 0)
  const rows: Array<[number, number]> = []
  const fresh = (): Member => ({ ledger: new OffsetLedger(), owned: new Set(), fetchAt: new Map(), ranges: new Map(), records: [] })
  const members = Array.from({ length: MEMBERS }, fresh)

  const rebalance = (owner: readonly number[], seekMissed: boolean, late: readonly boolean[]): void => {
    // kafkajs rejoins once the member's handlers returned, i.e. once its batch is done; a late one is
    // left out of the group (its partitions go to nobody this generation) and sees no assignment.
    const out = members.map((m, i) => m.records.length > 0 && late[i] === true)
    out.forEach((isOut, i) => !isOut && commit(i))
    members.forEach((m, i) => {
      if (out[i]) return
      const now = new Set(owner.flatMap((o, p) => (o === i ? [p] : [])))
      m.ledger.forget([...m.owned].filter((p) => !now.has(p))) // as KafkaSource.onJoin
      for (const p of now) {
        if (m.ledger.has(p)) continue
        m.ledger.seed(p, stored[p]!) // loadOffsets
        m.fetchAt.set(p, seekMissed ? kafkaCommitted[p]! : stored[p]!)
      }
      m.owned = now
    })
  }
  const commit = (i: number): void => {
    const m = members[i]!
    if (m.records.length === 0) return
    const broken = fenceBreaks(new Map(stored.map((s, p) => [p, s])), m.ranges)
    if (broken.length > 0) {
      members[i] = fresh() // StaleOffsetsError: rolled back; the process leaves and a fresh one rejoins
      return
    }
    rows.push(...m.records) // COPY, in the transaction that moves the offsets
    for (const [p, r] of m.ranges) stored[p] = r.next
    for (const [p, r] of m.ranges) kafkaCommitted[p] = Math.max(kafkaCommitted[p]!, r.next) // after COMMIT
    m.ranges = new Map()
    m.records = []
  }
  const consume = (i: number, p: number, count: number): void => {
    const m = members[i]!
    if (!m.owned.has(p)) return
    let at = m.fetchAt.get(p)!
    for (let n = 0; n < count && at < lengths[p]!; n++, at++) {
      if (!m.ledger.take(p, at)) continue
      addOffset(m.ranges, p, at)
      m.records.push([p, at])
    }
    m.fetchAt.set(p, at)
  }

  for (const s of steps) {
    if (s.kind === 'consume') consume(s.member, s.partition, s.count)
    else if (s.kind === 'commit') commit(s.member)
    else if (s.kind === 'crash') members[s.member] = fresh()
    else rebalance(s.owner, s.seekMissed, s.late)
  }
  // Drain: every open batch commits or is fenced off, then member 0 takes everything to the end (a
  // fenced member comes back fresh and is assigned again, as the pool restarts it; twice is enough).
  for (let i = 0; i < MEMBERS; i++) commit(i)
  for (let round = 0; round < 2; round++) {
    rebalance(
      lengths.map(() => 0),
      true,
      [],
    )
    lengths.forEach((len, p) => consume(0, p, len))
    commit(0)
  }
  return { rows }
}

const scenario = fc.integer({ min: 1, max: 4 }).chain((partitions) =>
  fc.tuple(
    fc.array(fc.integer({ min: 0, max: 25 }), { minLength: partitions, maxLength: partitions }),
    fc.array(
      fc.oneof(
        fc.record({
          kind: fc.constant('consume' as const),
          member: fc.integer({ min: 0, max: MEMBERS - 1 }),
          partition: fc.integer({ min: 0, max: partitions - 1 }),
          count: fc.integer({ min: 1, max: 8 }),
        }),
        fc.record({ kind: fc.constant('commit' as const), member: fc.integer({ min: 0, max: MEMBERS - 1 }) }),
        fc.record({ kind: fc.constant('crash' as const), member: fc.integer({ min: 0, max: MEMBERS - 1 }) }),
        fc.record({
          kind: fc.constant('rebalance' as const),
          owner: fc.array(fc.integer({ min: 0, max: MEMBERS - 1 }), { minLength: partitions, maxLength: partitions }),
          seekMissed: fc.boolean(),
          late: fc.array(fc.boolean(), { minLength: MEMBERS, maxLength: MEMBERS }),
        }),
      ),
      { maxLength: 60 },
    ),
  ),
)

/** Every record stored, none twice, each partition in offset order. */
function assertExactlyOnce(lengths: readonly number[], rows: ReadonlyArray<[number, number]>): void {
  const seen = new Set<string>()
  const last = new Map<number, number>()
  for (const [p, o] of rows) {
    const key = `${p}:${o}`
    assert.ok(!seen.has(key), `record ${key} stored twice`)
    seen.add(key)
    assert.ok(o > (last.get(p) ?? -1), `partition ${p}: offset ${o} stored after ${last.get(p)}`)
    last.set(p, o)
  }
  assert.equal(
    rows.length,
    lengths.reduce((a, b) => a + b, 0),
    'every record stored',
  )
}

/**
 * fast-check's counterexample of the first model (seed -1766664826): one record; member 0 is given its
 * partition and takes it, the partition moves to member 1 and back with no commit, member 0 takes it
 * again. Kept with both ways kafkajs can run it: member 0's batch commits before it rejoins, or member
 * 0 is a zombie. (With the first model's rebalance this stores record 0:0 twice.)
 */
const movedAwayAndBack = (late: boolean): [number[], Step[]] => [
  [1],
  [
    { kind: 'rebalance', owner: [0], seekMissed: false, late: [false, false, false] },
    { kind: 'consume', member: 0, partition: 0, count: 1 },
    { kind: 'rebalance', owner: [1], seekMissed: false, late: [late, false, false] },
    { kind: 'rebalance', owner: [0], seekMissed: false, late: [late, false, false] },
    { kind: 'consume', member: 0, partition: 0, count: 1 },
  ],
]

describe('Kafka offsets stored with the batch (kafka-offsets.ts)', () => {
  test('crashes, rebalances and zombie batches: every record stored exactly once, in offset order per partition', () => {
    fc.assert(
      fc.property(scenario, ([lengths, steps]) => assertExactlyOnce(lengths, simulate(lengths, steps).rows)),
      { numRuns: 500, examples: [[movedAwayAndBack(false)], [movedAwayAndBack(true)]] },
    )
  })

  test('the counterexample of the first model: a partition moved away and back while a batch holds its record', () => {
    for (const late of [false, true]) {
      const [lengths, steps] = movedAwayAndBack(late)
      assertExactlyOnce(lengths, simulate(lengths, steps).rows)
    }
  })

  test('the ledger skips records below the stored offset and takes each record once', () => {
    const l = new OffsetLedger()
    l.seed(0, 5)
    assert.equal(l.take(0, 3), false, 'a redelivery below the stored offset')
    assert.equal(l.take(0, 5), true)
    assert.equal(l.take(0, 5), false, 'the same record again')
    assert.equal(l.take(0, 6), true)
    l.forget([0])
    assert.throws(() => l.take(0, 7), /no stored offset/, 'a partition given up must be reloaded first')
    assert.equal(l.has(0), false)
    l.seed(0, 9)
    l.seed(1, 0)
    assert.deepEqual([l.has(0), l.has(1), l.has(2), l.seekTarget(0), l.seekTarget(2)], [true, true, false, 9, undefined])
    l.forget([0])
    assert.deepEqual([l.has(0), l.has(1)], [false, true], 'forget(list) gives up only those')
    l.forget()
    assert.deepEqual([l.has(0), l.has(1)], [false, false], 'forget() without partitions gives up every one')
    assert.equal(new StaleOffsetsError('x').name, 'StaleOffsetsError', 'the name logs and reports show')
  })

  test('the fence: a batch commits only where the stored offset stands', () => {
    const ranges = new Map<number, OffsetRange>()
    addOffset(ranges, 1, 10)
    addOffset(ranges, 1, 11)
    addOffset(ranges, 2, 0)
    assert.deepEqual(ranges.get(1), { first: 10, next: 12 })
    assert.deepEqual(
      fenceBreaks(
        new Map([
          [1, 10],
          [2, 0],
        ]),
        ranges,
      ),
      [],
    )
    assert.deepEqual(
      fenceBreaks(
        new Map([
          [1, 12],
          [2, 0],
        ]),
        ranges,
      ),
      [1],
      'another member stored past the batch',
    )
    assert.deepEqual(
      fenceBreaks(
        new Map([
          [1, 8],
          [2, 0],
        ]),
        ranges,
      ),
      [1],
      'a gap: records nobody stored',
    )
  })
})
