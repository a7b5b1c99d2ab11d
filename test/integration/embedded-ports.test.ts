/**
 * Item 3 of issue 20: two runs with their own --embedded-dir at once on the same preferred port each
 * get a port; a data folder held by a live run is refused with that run's pid and folder.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { runCli, SHORT_RUN, tempResultsDir, type CliResult } from '../support/cli.js'

const PORT = '54343'

test('two embedded runs at once: each its own port; a folder in use names the run that holds it', async () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'iotbench-pg-a-')), mkdtempSync(join(tmpdir(), 'iotbench-pg-b-'))]
  const results = tempResultsDir()
  const moved: string[] = []
  // Three runs on two shared cores: timing SLOs are relaxed, this test is about ports and folders.
  const relaxed = ['--slo-p99-ms', '60000', '--slo-rate-tolerance', '0']
  const common = [
    'run',
    '--profile',
    'ci',
    ...SHORT_RUN,
    ...relaxed,
    '--embedded-pg-port',
    PORT,
    '--live-clients',
    '2',
    '--results-dir',
    results,
  ]
  const keep = (r: CliResult): CliResult => {
    // As root the data of a private temp folder is kept elsewhere (see embedded-root.test.ts): removed afterwards.
    const m = /the data folder for \S+ is (\S+)/.exec(r.stderr)
    if (m) moved.push(m[1]!)
    return r
  }
  try {
    let readyA: () => void = () => undefined
    const aReady = new Promise<void>((r) => (readyA = r))
    const a = runCli(
      [...common, '--duration', '10', '--embedded-dir', join(dirs[0]!, 'pg')],
      {},
      240_000,
      (err) => void (/embedded PostgreSQL ready/.test(err) && readyA()),
    ).then(keep)
    await aReady
    const c = runCli([...common, '--embedded-dir', join(dirs[1]!, 'pg')]).then(keep)
    const b = await runCli([...common, '--embedded-dir', join(dirs[0]!, 'pg')], {}, 60_000)

    assert.equal(b.code, 5, `the second run on A's folder: exit ${b.code}\n${b.stderr}`)
    const pid = /in use by a live run \(iotbench pid (\d+)/.exec(b.stderr)?.[1]
    assert.ok(pid, b.stderr)
    assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /iotbench\.js\0run/, 'the pid named is the live run A')
    assert.match(b.stderr, new RegExp(`${join(dirs[0]!, 'pg')} (\\(kept in \\S+\\) )?is in use`), 'names the folder')
    assert.match(b.stderr, /what to do: .*--embedded-dir/)

    const [ra, rc] = await Promise.all([a, c])
    for (const [name, r] of [
      ['A', ra],
      ['C', rc],
    ] as const)
      assert.equal(r.code, 0, `run ${name}: exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    assert.match(ra.stderr, new RegExp(`ready on 127\\.0\\.0\\.1:${PORT} `), 'the first run got the preferred port')
    assert.match(
      rc.stderr,
      new RegExp(`port ${PORT} is taken \\(another run\\?\\): the embedded PostgreSQL listens on 127\\.0\\.0\\.1:\\d+`),
    )
    for (const r of [ra, b, rc]) assert.doesNotMatch(r.stdout + r.stderr, /undefined/)
  } finally {
    for (const d of [...dirs, results, ...moved]) rmSync(d, { recursive: true, force: true })
  }
})
