type Printable = { toString(): string }

/**
 * A value read from a row, a JSON document or a socket, as text: what String() gives, except that a
 * plain object is written as JSON (never "[object Object]").
 */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v
  if (v === null || v === undefined) return String(v)
  const own = (v as Partial<Printable>).toString
  if (typeof own !== 'function' || own === Object.prototype.toString) return JSON.stringify(v) ?? typeof v
  return (v as Printable).toString()
}

/** A WebSocket message (ws's RawData: one Buffer, an ArrayBuffer, or fragments) as UTF-8 text. */
export function frameText(raw: Buffer | ArrayBuffer | readonly Buffer[]): string {
  if (Buffer.isBuffer(raw)) return raw.toString('utf8')
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8')
  return Buffer.concat(raw).toString('utf8')
}
