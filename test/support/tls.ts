import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/util/net.js'

/**
 * Throwaway certificates made with openssl at test time (nothing committed, nothing reused): a CA,
 * a server certificate for 127.0.0.1/localhost signed by it, a client certificate signed by it, and
 * a second, unrelated CA (to be untrusted).
 */
export interface Pki {
  readonly dir: string
  readonly caCert: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
  readonly otherCaCert: string
  remove(): void
}

const openssl = (args: readonly string[], cwd: string): void => void execFileSync('openssl', args, { cwd, stdio: 'pipe' })

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'iotbench-pki-'))
  // Servers started as root drop privileges (Mosquitto to `mosquitto`, PostgreSQL to `postgres`): they must read these.
  chmodSync(dir, 0o755)
  const ca = (name: string): void =>
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    )
  const leaf = (name: string, cn: string, ext: string): void => {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir)
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    )
  }
  ca('ca')
  ca('other-ca')
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  leaf('client', 'iotbench-client', 'extendedKeyUsage=clientAuth\n')
  for (const f of ['ca.crt', 'other-ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key']) chmodSync(join(dir, f), 0o644)
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    otherCaCert: join(dir, 'other-ca.crt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

async function waitForPort(port: number, child: ChildProcess, deadlineMs: number, log: () => string): Promise<void> {
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${log()}`)
    const open = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (open) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`mosquitto did not listen on ${port} within ${deadlineMs} ms:\n${log()}`)
}

export interface TlsBroker {
  readonly url: string
  readonly username: string
  readonly password: string
  stop(): Promise<void>
}

/**
 * Our own Mosquitto (never the shared one) with one listener on 127.0.0.1 that requires TLS, a client
 * certificate signed by the test CA and a user name and password from a password file. Limits are
 * raised as in infra/mosquitto/mosquitto-test.conf (the defaults drop QoS 1 messages silently).
 */
export async function startTlsMosquitto(pki: Pki, username: string, password: string): Promise<TlsBroker> {
  const port = await freePort()
  const passwordFile = join(pki.dir, 'passwd')
  writeFileSync(passwordFile, '')
  execFileSync('mosquitto_passwd', ['-b', passwordFile, username, password], { stdio: 'pipe' })
  chmodSync(passwordFile, 0o644)
  const conf = join(pki.dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `cafile ${pki.caCert}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      'require_certificate true',
      'use_identity_as_username false',
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      'persistence false',
      'max_queued_messages 2000000',
      'max_queued_bytes 1073741824',
      'max_inflight_messages 50000',
      'set_tcp_nodelay true',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      'log_type notice',
      '',
    ].join('\n'),
  )
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
  try {
    await waitForPort(port, child, 10_000, () => output)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    url: `mqtts://127.0.0.1:${port}`,
    username,
    password,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}
