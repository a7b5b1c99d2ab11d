import assert from 'node:assert/strict'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { FaultProxy } from '../../src/faults/proxy.js'

// Every mode of the fault-injecting proxy, with real loopback sockets: a server that records what it
// receives and can talk back, a client through the proxy. Each wait has a deadline.

interface Peer {
  readonly socket: Socket
  received: Buffer
  error: NodeJS.ErrnoException | undefined
  closed: boolean
}

const peer = (socket: Socket): Peer => {
  const p: Peer = { socket, received: Buffer.alloc(0), error: undefined, closed: false }
  socket.on('data', (c: Buffer) => (p.received = Buffer.concat([p.received, c])))
  socket.on('error', (e) => (p.error = e))
  socket.on('close', () => (p.closed = true))
  return p
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('fault proxy', () => {
  let server: Server
  const serverSide: Peer[] = []
  let proxy: FaultProxy

  before(async () => {
    server = createServer((s) => void serverSide.push(peer(s)))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    proxy = await FaultProxy.start({ targetHost: '127.0.0.1', targetPort: (server.address() as AddressInfo).port, name: 'test' })
  })
  after(async () => {
    await proxy.close()
    for (const p of serverSide) p.socket.destroy()
    await new Promise<void>((r) => server.close(() => r()))
  })

  /** A client through the proxy and its server-side peer, once both are connected. */
  async function pair(): Promise<{ client: Peer; srv: Peer }> {
    const known = serverSide.length
    const client = peer(connect({ host: '127.0.0.1', port: proxy.listenPort }))
    await new Promise<void>((r, j) => {
      client.socket.once('connect', () => r())
      client.socket.once('error', j)
    })
    await until('the server to accept', () => serverSide.length > known)
    return { client, srv: serverSide[serverSide.length - 1]! }
  }

  it('pass: bytes flow both ways unchanged', async () => {
    proxy.setMode({ kind: 'pass' })
    const { client, srv } = await pair()
    const up = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251))
    client.socket.write(up)
    await until('100 kB upstream', () => srv.received.length === up.length)
    assert.deepEqual(srv.received, up)
    srv.socket.write('pong')
    await until('the reply', () => client.received.toString() === 'pong')
    client.socket.destroy()
  })

  it('latency: each direction is delayed by the configured time, in order; switching back takes effect at once', async () => {
    const { client, srv } = await pair()
    proxy.setMode({ kind: 'latency', ms: 150 })
    const t0 = Date.now()
    client.socket.write('a')
    client.socket.write('b')
    await until('the delayed bytes', () => srv.received.length === 2)
    const oneWay = Date.now() - t0
    assert.equal(srv.received.toString(), 'ab')
    assert.ok(oneWay >= 145 && oneWay < 1000, `one-way delay ${oneWay} ms`)
    proxy.setMode({ kind: 'pass' })
    const t1 = Date.now()
    srv.socket.write('c')
    await until('the undelayed reply', () => client.received.toString() === 'c')
    assert.ok(Date.now() - t1 < 100, `after switching to pass the reply took ${Date.now() - t1} ms`)
    client.socket.destroy()
  })

  it('bandwidth: 96 kB through a 64 kB/s cap take about 1.5 s and arrive intact', async () => {
    const { client, srv } = await pair()
    proxy.setMode({ kind: 'bandwidth', bytesPerSecond: 64 * 1024 })
    const data = Buffer.alloc(96 * 1024, 7)
    const t0 = Date.now()
    client.socket.write(data)
    await sleep(500)
    const early = srv.received.length
    assert.ok(early > 0 && early < data.length * 0.6, `after 0.5 s ${early} bytes had passed`)
    await until('every byte', () => srv.received.length === data.length, 5000)
    const took = Date.now() - t0
    assert.ok(took >= 1300 && took < 3500, `took ${took} ms`)
    assert.deepEqual(srv.received, data)
    proxy.setMode({ kind: 'pass' })
    client.socket.destroy()
  })

  it('reset: open connections get a TCP reset, new ones are reset on accept, and pass heals the link', async () => {
    const { client, srv } = await pair()
    proxy.setMode({ kind: 'reset' })
    await until('the client to see the reset', () => client.closed)
    assert.equal(client.error?.code, 'ECONNRESET')
    await until('the server side to see the reset', () => srv.closed)
    assert.equal(srv.error?.code, 'ECONNRESET')
    const during = peer(connect({ host: '127.0.0.1', port: proxy.listenPort }))
    await until('a connection made during the reset to close', () => during.closed)
    assert.equal(during.received.length, 0)
    proxy.setMode({ kind: 'pass' })
    const healed = await pair()
    healed.client.socket.write('again')
    await until('bytes after the heal', () => healed.srv.received.toString() === 'again')
    healed.client.socket.destroy()
  })

  it('blackhole: accepts connections, forwards nothing either way, resets the broken streams when it ends', async () => {
    const { client, srv } = await pair()
    proxy.setMode({ kind: 'blackhole' })
    const droppedBefore = proxy.stats.dropped.up
    client.socket.write('lost upstream')
    srv.socket.write('lost downstream')
    const during = peer(connect({ host: '127.0.0.1', port: proxy.listenPort }))
    await new Promise<void>((r) => during.socket.once('connect', () => r()))
    during.socket.write('also lost')
    await sleep(300)
    assert.equal(srv.received.length, 0)
    assert.equal(client.received.length, 0)
    assert.ok(proxy.stats.dropped.up >= droppedBefore + 'lost upstream'.length + 'also lost'.length)
    assert.equal(client.closed, false, 'a black hole does not close the connection')
    proxy.setMode({ kind: 'pass' })
    await until('the broken streams to be reset', () => client.closed && during.closed)
    assert.equal(client.error?.code, 'ECONNRESET')
    const healed = await pair()
    healed.client.socket.write('x')
    await until('bytes after the heal', () => healed.srv.received.toString() === 'x')
    healed.client.socket.destroy()
  })

  it('half-open: one direction is dropped while the other flows', async () => {
    for (const drop of ['up', 'down'] as const) {
      const { client, srv } = await pair()
      proxy.setMode({ kind: 'half-open', drop })
      client.socket.write('to-server')
      srv.socket.write('to-client')
      const flowing = drop === 'up' ? client : srv
      await until(`the ${drop === 'up' ? 'down' : 'up'} direction to flow`, () => flowing.received.length > 0)
      await sleep(200)
      assert.equal((drop === 'up' ? srv : client).received.length, 0, `${drop} must be dropped`)
      assert.equal(flowing.received.toString(), drop === 'up' ? 'to-client' : 'to-server')
      proxy.setMode({ kind: 'pass' })
      await until('the half-open stream to be reset', () => client.closed)
    }
  })

  it('the upstream being down closes the accepted connection instead of hanging it', async () => {
    const dead = await FaultProxy.start({ targetHost: '127.0.0.1', targetPort: 1, name: 'dead' })
    try {
      const c = peer(connect({ host: '127.0.0.1', port: dead.listenPort }))
      await until('the client to be closed', () => c.closed)
    } finally {
      await dead.close()
    }
  })
})
