import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'

/**
 * Streams the rows of a query through COPY … TO STDOUT (text format), so verification never holds a
 * run in memory. Fields come back as strings; NULL is null. Only for columns whose text form has no
 * escapes (numbers, booleans, timestamps as numbers, identifiers).
 */
export async function* copyRows(client: pg.Client, query: string): AsyncGenerator<Array<string | null>> {
  const stream = client.query(copyTo(`COPY (${query}) TO STDOUT`))
  let rest = ''
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + chunk.toString('utf8')
    const lines = text.split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) yield line.split('\t').map((f) => (f === '\\N' ? null : f))
  }
  if (rest !== '') yield rest.split('\t').map((f) => (f === '\\N' ? null : f))
}
