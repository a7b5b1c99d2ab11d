import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Partitioners } from 'kafkajs'
import { packedRx, kafkaRx } from '../../src/ingest/kafka-source.js'
import { MAX_FRAMES, packFrames, partitionOf, unpackFrames, type Frame } from '../../src/transport/kafka/frames.js'

const unpacked = (value: Buffer): Array<{ topic: string; payload: string; index: number; last: boolean }> => {
  const out: Array<{ topic: string; payload: string; index: number; last: boolean }> = []
  unpackFrames(value, (topic, payload, index, last) => out.push({ topic, payload: payload.toString('base64'), index, last }))
  return out
}

const frame = fc.record({
  topic: fc.string({ unit: 'binary', maxLength: 80 }),
  payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
})

describe('packed Kafka records (frames.ts)', () => {
  test('unpack gives back every frame of a record, in order, the last one flagged', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 50 }), (frames: Frame[]) => {
        const out = unpacked(packFrames(frames))
        assert.deepEqual(
          out,
          frames.map((f, i) => ({ topic: f.topic, payload: f.payload.toString('base64'), index: i, last: i === frames.length - 1 })),
        )
      }),
    )
  })

  test('a truncated record or an empty one reaches the ingest as a frame with an empty topic (dead-lettered, its offset stored)', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 10 }), fc.nat(), (frames, cut) => {
        const packed = packFrames(frames)
        const value = packed.subarray(0, cut % packed.length)
        const out = unpacked(value)
        assert.ok(out.length >= 1, 'every record gives the ingest at least one frame')
        assert.equal(out.filter((f) => f.last).length, 1)
        assert.equal(out.at(-1)!.last, true)
        // Cut at a frame's end, the record is whole (its first frames); anywhere else the tail is one topic-less frame.
        const ends = frames.map((_, i) => packFrames(frames.slice(0, i + 1)).length)
        const whole = ends.indexOf(value.length) + 1
        out
          .slice(0, whole || -1)
          .forEach((f, i) => assert.deepEqual([f.topic, f.payload], [frames[i]!.topic, frames[i]!.payload.toString('base64')]))
        if (whole === 0) assert.equal(out.at(-1)!.topic, '', 'the cut frame (or the empty record) has no topic')
        else assert.equal(out.length, whole)
      }),
    )
  })

  test('a device lands in the partition kafkajs gives its key, so packed and keyed records share the partitioning', () => {
    const partitioner = Partitioners.DefaultPartitioner()
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.string({ minLength: 1, maxLength: 30 }), { maxLength: 30 }), (n, keys) => {
        const of = partitionOf(n)
        const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({
          partitionErrorCode: 0,
          partitionId,
          leader: 0,
          replicas: [0],
          isr: [0],
        }))
        for (const key of keys) {
          const p = of(key)
          assert.equal(p, partitioner({ topic: 't', partitionMetadata, message: { key, value: null } }))
          assert.equal(of(key), p, 'cached, the same every time')
        }
      }),
    )
  })

  test('receive order: frames of a record follow each other and come before the next record of the partition', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 2 ** 27 }), fc.nat(MAX_FRAMES - 2), (p, offset, i) => {
        assert.ok(packedRx(p, offset, i) < packedRx(p, offset, i + 1))
        assert.ok(packedRx(p, offset, MAX_FRAMES - 1) < packedRx(p, offset + 1, 0))
        assert.ok(packedRx(p, offset, i) < kafkaRx(p + 1, 0), 'partitions stay apart')
        assert.ok(Number.isSafeInteger(packedRx(p, offset, i)))
      }),
    )
  })
})
