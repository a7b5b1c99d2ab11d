import { readFileSync } from 'node:fs'
import { errorMessage } from '../errors.js'

/**
 * TLS to the database, libpq's way: `sslmode` in the URL (disable, prefer, require, verify-ca,
 * verify-full) and the CA either as `sslrootcert=FILE` in the URL or with --database-ca FILE.
 *
 * The CA is folded into the URL once (databaseUrlOf), and every connection — the main thread, each
 * ingest worker, each verifier thread — is opened from that one URL by connect(), so they cannot
 * disagree. node-postgres 8.x treats require and verify-ca as verify-full unless told to follow
 * libpq (`uselibpqcompat=true`): pgConnectionString adds that, so `sslmode=require` encrypts without
 * checking the certificate, exactly as psql does, and verify-full checks the chain and the host name.
 */
export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const

export interface DatabaseTlsConfig {
  readonly databaseUrl: string | undefined
  readonly databaseCa?: string | undefined
}

/** Problems with the database TLS options, for the config's all-at-once report (exit 4). */
export function databaseTlsChecks(c: DatabaseTlsConfig): string[] {
  const problems: string[] = []
  if (c.databaseCa !== undefined && !c.databaseUrl)
    problems.push('--database-ca needs --database-url (the embedded PostgreSQL is reached on loopback without TLS)')
  let params: URLSearchParams | undefined
  try {
    params = c.databaseUrl ? new URL(c.databaseUrl).searchParams : undefined
  } catch {
    // a bad URL is reported by the option's own check
  }
  const mode = params?.get('sslmode')
  if (mode !== null && mode !== undefined && !(SSL_MODES as readonly string[]).includes(mode))
    problems.push(`sslmode in --database-url must be one of ${SSL_MODES.join(', ')} (got ${JSON.stringify(mode)})`)
  if (c.databaseCa !== undefined && (mode === 'disable' || mode === 'no-verify'))
    problems.push(`--database-ca has no effect with sslmode=${mode}: use sslmode=verify-full (or leave sslmode out)`)
  for (const [what, file] of [
    ['--database-ca', c.databaseCa],
    ['sslrootcert in --database-url', params?.get('sslrootcert')],
    ['sslcert in --database-url', params?.get('sslcert')],
    ['sslkey in --database-url', params?.get('sslkey')],
  ] as const) {
    if (file === undefined || file === null) continue
    try {
      readFileSync(file)
    } catch (err) {
      problems.push(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`)
    }
  }
  return problems
}

/** The URL every component connects with: --database-ca folded in as sslrootcert (sslmode verify-full unless the URL says otherwise). */
export function databaseUrlOf(c: DatabaseTlsConfig): string | undefined {
  return c.databaseUrl ? withDatabaseCa(c.databaseUrl, c.databaseCa) : c.databaseUrl
}

/** `url` with the CA file folded in (unchanged without one). */
export function withDatabaseCa(url: string, ca: string | undefined): string {
  if (ca === undefined) return url
  const u = new URL(url)
  u.searchParams.set('sslrootcert', ca)
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'verify-full')
  return u.toString()
}

/** What node-postgres gets: libpq's meaning of sslmode (see above). */
export function pgConnectionString(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return url
  }
  const mode = u.searchParams.get('sslmode')
  if (mode === null || mode === 'no-verify' || u.searchParams.has('uselibpqcompat')) return url
  u.searchParams.set('uselibpqcompat', 'true')
  return u.toString()
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** A hint for a failed connection when TLS is the cause; undefined otherwise. */
export function databaseTlsHint(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return 'the server’s certificate does not name the host in --database-url: connect by a name it holds, or use sslmode=verify-ca'
  if (code && TLS_CODES.has(code))
    return 'the server’s certificate is not signed by a trusted CA: give that CA with --database-ca FILE (or sslrootcert=FILE in the URL), or use sslmode=require to encrypt without verifying'
  if (/does not support SSL/i.test(errorMessage(err)))
    return 'the server has TLS off: remove sslmode from --database-url, or turn ssl on in postgresql.conf'
  return undefined
}
