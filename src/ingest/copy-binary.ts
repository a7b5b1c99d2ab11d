/**
 * PostgreSQL binary COPY encoding (COPY … FROM STDIN (FORMAT binary)), written straight into one
 * growing buffer: no per-row strings, Dates or BigInts. Format: PostgreSQL docs, "COPY — Binary Format".
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01T00:00:00Z). */
const PG_EPOCH_MS = 946_684_800_000
const TWO_32 = 4_294_967_296

export class BinaryCopyWriter {
  private buf: Buffer
  private pos = 0
  rows = 0

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, 64))
    this.reset()
  }

  /** Starts a new COPY stream (header: signature, flags, header-extension length). */
  reset(): void {
    this.pos = 0
    this.rows = 0
    SIGNATURE.copy(this.buf, 0)
    this.pos = SIGNATURE.length
    this.buf.writeInt32BE(0, this.pos)
    this.buf.writeInt32BE(0, this.pos + 4)
    this.pos += 8
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + bytes) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  startRow(fields: number): void {
    this.ensure(2)
    this.buf.writeInt16BE(fields, this.pos)
    this.pos += 2
    this.rows++
  }

  null(): void {
    this.ensure(4)
    this.buf.writeInt32BE(-1, this.pos)
    this.pos += 4
  }

  int4(v: number): void {
    this.ensure(8)
    this.buf.writeInt32BE(4, this.pos)
    this.buf.writeInt32BE(v, this.pos + 4)
    this.pos += 8
  }

  /** int8 from a JS number (exact up to 2^53). */
  int8(v: number): void {
    this.ensure(12)
    this.buf.writeInt32BE(8, this.pos)
    const hi = Math.floor(v / TWO_32)
    this.buf.writeInt32BE(hi, this.pos + 4)
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 8)
    this.pos += 12
  }

  float8(v: number): void {
    this.ensure(12)
    this.buf.writeInt32BE(8, this.pos)
    this.buf.writeDoubleBE(v, this.pos + 4)
    this.pos += 12
  }

  bool(v: boolean): void {
    this.ensure(5)
    this.buf.writeInt32BE(1, this.pos)
    this.buf[this.pos + 4] = v ? 1 : 0
    this.pos += 5
  }

  /** timestamptz from epoch milliseconds (fractions kept to the microsecond). */
  timestamptz(epochMs: number): void {
    this.int8(Math.round((epochMs - PG_EPOCH_MS) * 1000))
  }

  text(s: string): void {
    this.ensure(4 + s.length * 3)
    const n = this.buf.write(s, this.pos + 4, 'utf8')
    this.buf.writeInt32BE(n, this.pos)
    this.pos += 4 + n
  }

  bytea(b: Uint8Array): void {
    this.ensure(4 + b.length)
    this.buf.writeInt32BE(b.length, this.pos)
    this.buf.set(b, this.pos + 4)
    this.pos += 4 + b.length
  }

  /** The finished stream (trailer appended); valid until the next reset(). */
  finish(): Buffer {
    this.ensure(2)
    this.buf.writeInt16BE(-1, this.pos)
    return this.buf.subarray(0, this.pos + 2)
  }
}
