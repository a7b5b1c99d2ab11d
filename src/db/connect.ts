import pg from 'pg'
import { InfraError, errorMessage } from '../errors.js'
import { redactUrl } from '../util/redact.js'
import { databaseTlsHint, pgConnectionString } from './tls.js'

export type Storage = 'timescaledb' | 'postgresql'

/** A client whose search_path is the run's schema (then public, where TimescaleDB's functions live). */
/** The URL and schema each client of connect() was opened with, so helpers can open siblings with the same settings (TLS included). */
const opened = new WeakMap<pg.Client, { url: string; schema: string }>()
export const connectionOf = (client: pg.Client): { url: string; schema: string } | undefined => opened.get(client)

export async function connect(url: string, schema: string, applicationName = 'iotbench'): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: pgConnectionString(url),
    application_name: applicationName,
    options: `-c search_path=${quoteIdent(schema)},public`,
    connectionTimeoutMillis: 10_000,
  })
  try {
    await client.connect()
  } catch (err) {
    throw new InfraError(
      `cannot reach the database at ${redactUrl(url)}: ${errorMessage(err)}`,
      databaseTlsHint(err) ?? 'is PostgreSQL running and is the URL right? Leave out --database-url to use the embedded PostgreSQL.',
      { cause: err },
    )
  }
  client.on('error', () => undefined) // surfaced by the next query; an idle client must not crash the process
  opened.set(client, { url, schema })
  return client
}

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`
