import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { CpuMeter, THREAD_NAMES } from '../../src/metrics/cpu.js'
import { listeningPid, ownPortsTo, parseTaskStat, parseTcpTable, socketInode, type ProcReader } from '../../src/metrics/proc.js'

/** A /proc stat line as the kernel writes it: pid (comm) state ppid … utime(14) stime(15) … */
const stat = (pid: number, comm: string, utime: number, stime: number): string =>
  `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194368 90 0 0 0 ${utime} ${stime} 0 0 20 0 12 0 56230 1234 56 18446744073709551615\n`

describe('/proc parsing', () => {
  test('a stat line: the name and utime + stime', () => {
    assert.deepEqual(parseTaskStat(stat(11597, 'iotb-sim', 14, 3)), { pid: 11597, comm: 'iotb-sim', ticks: 17 })
    // Real line from Linux 6.x, a Node worker thread.
    assert.deepEqual(parseTaskStat('11597 (iotb-sim) S 11583 11583 9064 0 -1 4194368 2516 0 0 0 14 0 0 0 20 0 12 0 56240 1222'), {
      pid: 11597,
      comm: 'iotb-sim',
      ticks: 14,
    })
  })

  test('a name with spaces and parentheses does not shift the fields', () => {
    assert.deepEqual(parseTaskStat(stat(7, 'a) b (c', 250, 50)), { pid: 7, comm: 'a) b (c', ticks: 300 })
  })

  test('a truncated or garbled line is undefined, not a number', () => {
    assert.equal(parseTaskStat(''), undefined)
    assert.equal(parseTaskStat('7 (x) S 1 2 3'), undefined)
    assert.equal(parseTaskStat('7 x S 1 2 3 4 5 6 7 8 9 10 11 12'), undefined)
  })

  test('/proc/net/tcp: ports in hex, state and inode', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:0763 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 24398 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:C350 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 99123 1 0000000000000000 20 4 30 10 -1',
      '',
    ].join('\n')
    assert.deepEqual(parseTcpTable(table), [
      { localPort: 1891, remotePort: 0, state: '0A', inode: 24398 },
      { localPort: 50000, remotePort: 5432, state: '01', inode: 99123 },
    ])
    const v6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 100 0 0 10 0',
    ].join('\n')
    assert.deepEqual(parseTcpTable(v6), [{ localPort: 8080, remotePort: 0, state: '0A', inode: 555 }])
  })

  test('fd links: sockets only', () => {
    assert.equal(socketInode('socket:[24398]'), 24398)
    assert.equal(socketInode('pipe:[24398]'), undefined)
    assert.equal(socketInode('/dev/null'), undefined)
    assert.equal(socketInode(undefined), undefined)
  })
})

/** A fake /proc: files, directories and links from plain objects, changed between samples by the test. */
function fakeProc(files: Record<string, string>, dirs: Record<string, string[]>, links: Record<string, string>): ProcReader {
  return { read: (p) => files[p], list: (d) => dirs[d] ?? [], link: (p) => links[p] }
}

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
const tcpRow = (local: number, remote: number, st: string, inode: number): string =>
  `   0: 0100007F:${local.toString(16).toUpperCase().padStart(4, '0')} 0100007F:${remote.toString(16).toUpperCase().padStart(4, '0')} ${st} 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1`

describe('sockets → processes', () => {
  const proc = fakeProc(
    {
      '/proc/net/tcp': [
        TCP_HEADER,
        tcpRow(1883, 0, '0A', 10),
        tcpRow(40001, 5432, '01', 20),
        tcpRow(40002, 5432, '01', 30),
        tcpRow(40003, 5432, '06', 40),
      ].join('\n'),
    },
    { '/proc': ['1', '42', 'self', 'net'], '/proc/1/fd': ['0'], '/proc/42/fd': ['0', '5'], '/proc/self/fd': ['3', '4', '5'] },
    {
      '/proc/1/fd/0': '/dev/null',
      '/proc/42/fd/0': 'pipe:[10]',
      '/proc/42/fd/5': 'socket:[10]',
      '/proc/self/fd/3': 'socket:[20]',
      '/proc/self/fd/4': 'socket:[40]',
      '/proc/self/fd/5': 'socket:[99]',
    },
  )
  test('the process listening on a port: the one holding the listening socket', () => {
    assert.equal(listeningPid(proc, 1883), 42)
    assert.equal(listeningPid(proc, 1884), undefined)
  })
  test("this process's established connections to a port: not another process's, not a closing one", () => {
    assert.deepEqual(ownPortsTo(proc, 5432), [40001])
  })
})

describe('CpuMeter', () => {
  const HZ = 100
  // Threads of this process: the main thread (100), a simulator (101), an ingest thread (102); later an oracle thread (103).
  const files: Record<string, string> = {}
  const dirs: Record<string, string[]> = { '/proc/self/task': ['100', '101', '102'] }
  const set = (ticks: {
    self: number
    main: number
    sim: number
    ingest: number
    oracle?: number
    broker: number
    backend?: number
  }): void => {
    files['/proc/self/stat'] = stat(100, 'node', ticks.self, 0)
    files['/proc/self/task/100/stat'] = stat(100, 'node', ticks.main, 0)
    files['/proc/self/task/101/stat'] = stat(101, THREAD_NAMES.simulators, ticks.sim, 0)
    files['/proc/self/task/102/stat'] = stat(102, THREAD_NAMES.ingest, ticks.ingest, 0)
    if (ticks.oracle !== undefined) files['/proc/self/task/103/stat'] = stat(103, THREAD_NAMES.oracle, ticks.oracle, 0)
    files['/proc/7/stat'] = stat(7, 'mosquitto', ticks.broker, 0)
    if (ticks.backend !== undefined) files['/proc/9/stat'] = stat(9, 'postgres', ticks.backend, 0)
  }

  test('each component counts its CPU during the run; helpers are the rest of the process', async () => {
    let now = 1_000_000
    set({ self: 1000, main: 500, sim: 300, ingest: 200, broker: 5000 })
    const meter = new CpuMeter(fakeProc(files, dirs, {}), HZ, () => now).start(3_600_000)
    meter.watchProcess('broker', 7) // from now: its 5000 ticks before the run are not the run's
    const ports: number[] = []
    meter.watchDatabase(
      () => ports,
      async (p) => (p.includes(40001) ? [9] : []),
    )
    meter.stop()
    // The run: the simulator uses 4 s, the ingest 2 s, an oracle thread is born and uses 1 s, the broker 6 s,
    // a backend of the run's connection 3 s from its start; the process's total grows by 4 + 2 + 1 + 0.5 (the main
    // thread) + 0.25 (GC helpers, an exited thread's last slice).
    now += 10_000
    dirs['/proc/self/task'] = ['100', '101', '102', '103']
    ports.push(40001)
    set({ self: 1000 + 775, main: 550, sim: 700, ingest: 400, oracle: 100, broker: 5600, backend: 300 })
    await meter.settle()
    const r = meter.report(200_000)
    const s = Object.fromEntries(Object.entries(r.components).map(([k, f]) => [k, f.seconds]))
    assert.deepEqual(s, { simulators: 4, broker: 6, ingest: 2, database: 3, oracle: 1, live: 0, bridge: 0, main: 0.5, helpers: 0.25 })
    assert.equal(r.components.simulators.per100kReadings, 2)
    assert.equal(r.components.broker.coreShare, 0.6)
    assert.equal(r.totalSeconds, 16.75)
  })

  test("the load's window: the CPU between the 'load' and 'drained' marks, over its own wall time", async () => {
    let now = 2_000_000
    dirs['/proc/self/task'] = ['100', '101', '102']
    set({ self: 1000, main: 500, sim: 300, ingest: 200, broker: 5000 })
    const meter = new CpuMeter(fakeProc(files, dirs, {}), HZ, () => now).start(3_600_000)
    meter.watchProcess('broker', 7)
    meter.stop()
    now += 2_000 // setup: main 1 s
    set({ self: 1100, main: 600, sim: 300, ingest: 200, broker: 5000 })
    meter.mark('load')
    now += 5_000 // load and drain: simulators 4 s, ingest 3 s, broker 4.5 s, main 0.5 s
    set({ self: 1100 + 750, main: 650, sim: 700, ingest: 500, broker: 5450 })
    meter.mark('drained')
    now += 3_000 // verification: main 2 s
    set({ self: 2050, main: 850, sim: 700, ingest: 500, broker: 5450 })
    await meter.settle()
    const r = meter.report(100_000)
    const secs = (w: { components: Record<string, { seconds: number | null }> }): Record<string, number | null> =>
      Object.fromEntries(Object.entries(w.components).map(([k, f]) => [k, f.seconds]))
    assert.deepEqual(secs(r), { simulators: 4, broker: 4.5, ingest: 3, database: 0, oracle: 0, live: 0, bridge: 0, main: 3.5, helpers: 0 })
    assert.ok(r.load)
    assert.equal(r.load.wallSeconds, 5)
    assert.deepEqual(secs(r.load), {
      simulators: 4,
      broker: 4.5,
      ingest: 3,
      database: 0,
      oracle: 0,
      live: 0,
      bridge: 0,
      main: 0.5,
      helpers: 0,
    })
    assert.equal(r.load.components.broker.coreShare, 0.9)
    assert.equal(r.load.components.simulators.per100kReadings, 4)
  })

  test('a broker restarted mid-run (a new process on its port) counts on from its start', async () => {
    const tcp = (inode: number): string => [TCP_HEADER, tcpRow(1883, 0, '0A', inode)].join('\n')
    const f: Record<string, string> = {
      '/proc/self/stat': stat(100, 'node', 10, 0),
      '/proc/net/tcp': tcp(10),
      '/proc/7/stat': stat(7, 'mosquitto', 5000, 0),
    }
    const d: Record<string, string[]> = { '/proc/self/task': ['100'], '/proc': ['7', '100'], '/proc/7/fd': ['5'] }
    const l: Record<string, string> = { '/proc/7/fd/5': 'socket:[10]' }
    const meter = new CpuMeter(fakeProc(f, d, l), HZ).start(3_600_000)
    meter.stop()
    assert.equal(meter.watchListener('broker', 1883), true)
    f['/proc/7/stat'] = stat(7, 'mosquitto', 5200, 0) // 2 s, then SIGTERM
    meter.sample()
    delete f['/proc/7/stat']
    d['/proc'] = ['100']
    meter.sample() // down: nobody listens yet
    Object.assign(f, { '/proc/net/tcp': tcp(20), '/proc/8/stat': stat(8, 'mosquitto', 50, 0) })
    Object.assign(d, { '/proc': ['8', '100'], '/proc/8/fd': ['4'] })
    l['/proc/8/fd/4'] = 'socket:[20]'
    meter.sample() // back: pid 8 from its start
    f['/proc/8/stat'] = stat(8, 'mosquitto', 150, 0)
    await meter.settle()
    assert.equal(meter.report(1000).components.broker.seconds, 2 + 1.5)
    const none = new CpuMeter(fakeProc(f, d, l), HZ).start(3_600_000)
    none.stop()
    assert.equal(none.watchListener('broker', 1884), false, 'nobody listens on 1884')
  })

  test('what cannot be seen is null with its reason, never a guess', async () => {
    const meter = new CpuMeter(fakeProc(files, dirs, {}), HZ).start(3_600_000)
    meter.notMeasured('broker', 'not measured: the broker is not on this host')
    meter.stop()
    await meter.settle()
    const r = meter.report(1000)
    assert.equal(r.components.broker.seconds, null)
    assert.equal(r.components.broker.per100kReadings, null)
    assert.match(r.components.broker.note ?? '', /not on this host/)
  })

  test('no /proc: every component not measured', async () => {
    const meter = new CpuMeter(fakeProc({}, {}, {}), HZ).start(3_600_000)
    await meter.settle()
    const r = meter.report(1000)
    for (const f of Object.values(r.components)) assert.equal(f.seconds, null)
  })
})
