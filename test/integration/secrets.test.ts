import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { runCli, runIdFrom, tempResultsDir } from '../support/cli.js'
import { requireService, uniqueName } from '../support/services.js'
import { makePki, startTlsMosquitto } from '../support/tls.js'

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

// A password given in --database-url must never reach a log line, result.json, a report or JUnit.
describe('secrets stay out of every output', () => {
  test('the database password appears in no output of run, verify and runs list', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const role = uniqueName('secret_role')
    const secret = `S3cr3t-${uniqueName('pw')}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${secret}'`)
      await admin.query(`GRANT CREATE ON DATABASE ${new URL(url).pathname.slice(1)} TO ${role}`)
      const u = new URL(url)
      u.username = role
      u.password = secret
      const withSecret = u.toString()
      const results = tempResultsDir()
      const schema = uniqueName('sec')
      const run = await runCli([
        'run',
        '--duration',
        '2',
        '--rate',
        '800',
        '--progress',
        'plain',
        '--database-url',
        withSecret,
        '--db-schema',
        schema,
        '--results-dir',
        results,
      ])
      assert.ok(run.code === 0 || run.code === 3, `run finished with a verdict: ${run.code}\n${run.stderr}`)
      const id = runIdFrom(run.stdout)
      const verify = await runCli(['verify', id, '--database-url', withSecret, '--db-schema', schema, '--results-dir', results])
      const list = await runCli(['runs', 'list', '--database-url', withSecret, '--db-schema', schema])
      // and a failing connection, whose error message quotes the URL
      const refused = await runCli(['run', '--duration', '1', '--database-url', withSecret.replace(`:${u.port || 5432}/`, ':9/')])
      const outputs = [run, verify, list, refused].flatMap((r) => [r.stdout, r.stderr])
      const files = filesUnder(results)
      assert.ok(
        files.some((f) => f.endsWith('result.json')),
        'result.json was written',
      )
      for (const f of files) outputs.push(readFileSync(f, 'latin1'))
      const stored = await admin.query(`SELECT config::text AS c FROM "${schema}".runs`)
      outputs.push(...stored.rows.map((r: { c: string }) => r.c))
      for (const text of outputs) assert.ok(!text.includes(secret), `the secret leaked into: ${text.slice(0, 300)}`)
      assert.ok(
        outputs.some((text) => text.includes('***')),
        'the redaction is visible',
      )
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`)
    } finally {
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined)
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)
      await admin.end()
    }
  })

  // MQTT password (flag), database password (URL) over TLS to both, client certificate and key files:
  // none of the secrets, nor the private key's text, may reach stdout, stderr, result.json,
  // report.md/html, junit.xml or the runs table.
  test('MQTT and database passwords and TLS keys appear in no output of a TLS run', async (t) => {
    const url = await requireService(t, 'database')
    if (!url) return
    const pki = makePki()
    const mqttSecret = `Mq77-${uniqueName('pw')}`
    const broker = await startTlsMosquitto(pki, 'bench', mqttSecret)
    const role = uniqueName('secret_role')
    const dbSecret = `Db5-${uniqueName('pw')}`
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${dbSecret}'`)
      await admin.query(`GRANT CREATE ON DATABASE ${new URL(url).pathname.slice(1)} TO ${role}`)
      const u = new URL(url)
      u.username = role
      u.password = dbSecret
      u.searchParams.set('sslmode', 'require')
      const dbUrl = u.toString()
      const results = tempResultsDir()
      const schema = uniqueName('sec_tls')
      const tls = [
        '--mqtt-url',
        broker.url,
        '--mqtt-username',
        'bench',
        '--mqtt-password',
        mqttSecret,
        '--mqtt-ca',
        pki.caCert,
        '--mqtt-cert',
        pki.clientCert,
        '--mqtt-key',
        pki.clientKey,
      ]
      const run = await runCli([
        'run',
        '--duration',
        '2',
        '--rate',
        '800',
        '--bad-input',
        '5',
        '--progress',
        'plain',
        ...tls,
        '--topic-prefix',
        `${schema}/`,
        '--database-url',
        dbUrl,
        '--db-schema',
        schema,
        '--results-dir',
        results,
      ])
      assert.ok(run.code === 0 || run.code === 3, `run finished with a verdict: ${run.code}\n${run.stderr}`)
      const id = runIdFrom(run.stdout)
      const verify = await runCli(['verify', id, '--database-url', dbUrl, '--db-schema', schema, '--results-dir', results])
      const list = await runCli(['runs', 'list', '--database-url', dbUrl, '--db-schema', schema])
      // failures quote what they were given: a wrong MQTT password, and an unreachable database
      const refusedMqtt = await runCli(['run', '--duration', '1', ...tls.slice(0, 4), '--mqtt-password', `${mqttSecret}x`, ...tls.slice(6)])
      const refusedDb = await runCli(['run', '--duration', '1', ...tls, '--database-url', dbUrl.replace(`:${u.port || 5432}/`, ':9/')])
      const outputs = [run, verify, list, refusedMqtt, refusedDb].flatMap((r) => [r.stdout, r.stderr])
      const files = filesUnder(results)
      for (const name of ['result.json', 'report.md', 'report.html', 'junit.xml'])
        assert.ok(
          files.some((f) => f.endsWith(name)),
          `${name} was written`,
        )
      for (const f of files) outputs.push(readFileSync(f, 'latin1'))
      const stored = await admin.query(
        `SELECT config::text || coalesce(evidence::text, '') || coalesce(verdict::text, '') AS c FROM "${schema}".runs`,
      )
      outputs.push(...stored.rows.map((r: { c: string }) => r.c))
      const keyBody = readFileSync(pki.clientKey, 'utf8').split('\n')[1]!
      for (const text of outputs) {
        for (const secret of [mqttSecret, dbSecret, keyBody])
          assert.ok(!text.includes(secret), `a secret leaked into: ${text.slice(0, 300)}`)
      }
      assert.ok(
        outputs.some((text) => text.includes('"mqttPassword": "***"')),
        'the MQTT password is visibly redacted in result.json',
      )
      assert.ok(
        outputs.some((text) => text.includes(pki.clientKey)),
        'the key’s path (not a secret) is recorded',
      )
      assert.match(refusedMqtt.stderr, /refused the credentials/)
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`)
    } finally {
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined)
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)
      await admin.end()
      await broker.stop()
      pki.remove()
    }
  })
})
