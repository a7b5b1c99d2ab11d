import { Partitioners } from 'kafkajs'

/**
 * Several MQTT messages in one Kafka record, for the run's own topic (`--transport kafka`).
 *
 * Why: kafkajs spends its time per record (encoding, CRC, buffers), in the bridge and in the consumers.
 * One record per partition and produce request carries the same readings for less: 14 instead of
 * 20–22 µs of the bridge's CPU a reading, 3–4 instead of 6–7 µs of a consumer's (bench:kafka-bridge).
 * Order per device holds: a device's messages all go to one partition (the partition its key would
 * get, see partitionOf), in receive order within a record and in offset order across records.
 *
 * A frame is: topic length (uint16 BE), topic (UTF-8), payload length (uint32 BE), payload.
 */
export interface Frame {
  readonly topic: string
  readonly payload: Buffer
}

/** Header of a packed record: its number of frames. A record without it is one MQTT message (`mqtt-topic` header). */
export const FRAMES_HEADER = 'iotbench-frames'
/** Most frames in one record: the frame's index takes 12 bits of the receive order (packedRx). */
export const MAX_FRAMES = 4096
/**
 * Most bytes of frames in one record (a larger single frame gets a record of its own): a partition's part
 * of a produce request stays well under the broker's message.max.bytes (1 MiB by default).
 */
export const MAX_RECORD_BYTES = 512 * 1024

export const frameBytes = (f: Frame): number => 6 + Buffer.byteLength(f.topic) + f.payload.length

/** The frames as one record value. */
export function packFrames(frames: readonly Frame[]): Buffer {
  const topicBytes = frames.map((f) => Buffer.byteLength(f.topic))
  let size = 0
  for (let i = 0; i < frames.length; i++) size += 6 + topicBytes[i] + frames[i].payload.length
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]
    out.writeUInt16BE(topicBytes[i], at)
    at += 2 + out.write(f.topic, at + 2, 'utf8')
    out.writeUInt32BE(f.payload.length, at)
    at += 4 + f.payload.copy(out, at + 4)
  }
  return out
}

/**
 * Calls `each` with every frame of a packed record, in order; payloads are views into `value`. A
 * truncated tail, or an empty record, comes as one frame with an empty topic (the ingest dead-letters
 * it), so every record reaches the ingest at least once and its offset is stored with a batch.
 */
export function unpackFrames(value: Buffer, each: (topic: string, payload: Buffer, index: number, last: boolean) => void): number {
  let at = 0
  let index = 0
  do {
    const topicEnd = at + 2 <= value.length ? at + 2 + value.readUInt16BE(at) : Infinity
    const payloadEnd = topicEnd + 4 <= value.length ? topicEnd + 4 + value.readUInt32BE(topicEnd) : Infinity
    if (payloadEnd > value.length) {
      each('', value.subarray(at), index, true)
      return index + 1
    }
    each(value.toString('utf8', at + 2, topicEnd), value.subarray(topicEnd + 4, payloadEnd), index, payloadEnd === value.length)
    at = payloadEnd
    index++
  } while (at < value.length)
  return index
}

/**
 * The partition a record keyed `key` gets from kafkajs's default (Java-compatible murmur2) partitioner,
 * cached per key: a packed record names its partition, and a device lands where its keyed records would.
 */
export function partitionOf(partitions: number): (key: string) => number {
  const partitioner = Partitioners.DefaultPartitioner()
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }))
  const cache = new Map<string, number>()
  return (key) => {
    let p = cache.get(key)
    if (p === undefined) {
      p = partitioner({ topic: '', partitionMetadata, message: { key, value: null } })
      cache.set(key, p)
    }
    return p
  }
}
