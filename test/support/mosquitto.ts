import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/util/net.js'

/**
 * A Mosquitto of the test's own (never the shared one on 1884): a free loopback port, persistence on
 * in a temp folder (a restart keeps sessions and queued messages, as a production broker's would),
 * the same raised limits as infra/mosquitto/mosquitto-test.conf, and a shell command that restarts it
 * (SIGTERM, which saves the database, then start again after IOTBENCH_FAULT_SECONDS).
 */
export interface OwnMosquitto {
  readonly url: string
  readonly restartCommand: string
  stop(): Promise<void>
}

const accepting = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)))
    s.on('error', () => resolve(false))
  })

export const mosquittoBinary = (): string | undefined => {
  for (const p of [process.env['IOTBENCH_MOSQUITTO'], '/usr/sbin/mosquitto', '/usr/bin/mosquitto']) {
    if (!p) continue
    try {
      execFileSync(p, ['-h'], { stdio: 'ignore' })
    } catch (err) {
      // `mosquitto -h` exits 3 after printing its usage: it exists
      if ((err as { status?: number }).status === undefined) continue
    }
    return p
  }
  return undefined
}

/**
 * `defaultLimits`: leave Mosquitto's own per-client limits (max_queued_messages 1000, max_inflight_messages 20).
 * `extra`: more configuration lines (e.g. `sys_interval 1`).
 */
export async function startOwnMosquitto(
  bin: string,
  opts: { readonly defaultLimits?: boolean; readonly extra?: readonly string[] } = {},
): Promise<OwnMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'iotbench-mosquitto-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  const pidFile = join(dir, 'mosquitto.pid')
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      `pid_file ${pidFile}`,
      ...(process.getuid?.() === 0 ? ['user root'] : []), // the temp folder is the test's, not the mosquitto user's
      ...(opts.defaultLimits ? [] : ['max_queued_messages 2000000', 'max_queued_bytes 1073741824', 'max_inflight_messages 50000']),
      'set_tcp_nodelay true',
      ...(opts.extra ?? []),
      `log_dest file ${join(dir, 'mosquitto.log')}`,
      '',
    ].join('\n'),
  )
  const start = `${bin} -c ${conf} -d`
  // The pid is read once: Mosquitto removes its pid file as it exits.
  const stopCmd = `p="$(cat ${pidFile})"; kill -TERM "$p"; while kill -0 "$p" 2>/dev/null; do sleep 0.05; done`
  execFileSync('sh', ['-c', start])
  const deadline = Date.now() + 10_000
  while (!(await accepting(port))) {
    if (Date.now() > deadline)
      throw new Error(`own mosquitto did not start on ${port}: ${readFileSync(join(dir, 'mosquitto.log'), 'utf8')}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    restartCommand: `${stopCmd}; sleep "\${IOTBENCH_FAULT_SECONDS:-1}"; ${start}`,
    async stop() {
      try {
        execFileSync('sh', ['-c', stopCmd], { timeout: 10_000 })
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
