import type pg from 'pg'
import { StringDecoder } from 'node:string_decoder'
import { to as copyTo } from 'pg-copy-streams'

/**
 * Streams the rows of a query through COPY … TO STDOUT (text format), so verification never holds a
 * run in memory. Fields come back as strings, exactly as stored (escapes decoded); NULL is null.
 */
export async function* copyRows(client: pg.Client, query: string): AsyncGenerator<Array<string | null>> {
  for await (const rows of copyRowBatches(client, query)) yield* rows
}

/** The same rows, a network chunk's worth at a time: one await per chunk instead of per row (verification's hot loop). */
export async function* copyRowBatches(client: pg.Client, query: string): AsyncGenerator<Array<Array<string | null>>> {
  const stream = client.query(copyTo(`COPY (${query}) TO STDOUT`))
  let rest = ''
  // A chunk may end inside a multi-byte character: the decoder keeps the partial bytes for the next one.
  const utf8 = new StringDecoder('utf8')
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + utf8.write(chunk)
    const lines = text.split('\n')
    rest = lines.pop() ?? ''
    yield lines.map(splitCopyLine)
  }
  rest += utf8.end()
  if (rest !== '') yield [splitCopyLine(rest)]
}

/** PostgreSQL's text COPY escapes ("COPY — Text Format"): what COPY TO writes for a backslash and these controls. */
const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' }

/** One line into fields. Without a backslash there is neither an escape nor a NULL (\N): the fast path. */
export function splitCopyLine(line: string): Array<string | null> {
  if (!line.includes('\\')) return line.split('\t')
  return line.split('\t').map((f) => (f === '\\N' ? null : f.includes('\\') ? f.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c) : f))
}
