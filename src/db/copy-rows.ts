import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

/**
 * Streams the rows of a query through COPY … TO STDOUT (text format), so verification never holds a
 * run in memory. Fields come back as strings; NULL is null. Only for columns whose text form has no
 * escapes (numbers, booleans, timestamps as numbers, identifiers).
 */
export async function* copyRows(client: pg.Client, query: string): AsyncGenerator<Array<string | null>> {
  for await (const rows of copyRowBatches(client, query)) yield* rows
}

/** The same rows, a network chunk's worth at a time: one await per chunk instead of per row (verification's hot loop). */
export async function* copyRowBatches(client: pg.Client, query: string): AsyncGenerator<Array<Array<string | null>>> {
  const stream = client.query(copyTo(`COPY (${query}) TO STDOUT`))
  let rest = ''
  const split = (line: string): Array<string | null> => line.split('\t').map((f) => (f === '\\N' ? null : f))
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + chunk.toString('utf8')
    const lines = text.split('\n')
    rest = lines.pop() ?? ''
    yield lines.map(split)
  }
  if (rest !== '') yield [split(rest)]
}
