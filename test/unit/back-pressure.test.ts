import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { SendGate } from '../../src/sim/back-pressure.js'

/** A real loopback socket whose peer does not read until told to: writes congest it for real. */
async function congestible(): Promise<{ client: Socket; peer: Socket; server: Server }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  const accepted = once(server, 'connection') as Promise<[Socket]>
  const client = connect({ host: '127.0.0.1', port })
  await once(client, 'connect')
  const [peer] = await accepted
  peer.pause()
  return { client, peer, server }
}

const chunk = Buffer.alloc(250, 1)
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('SendGate: back-pressure costs one drain listener per connection', () => {
  let c: Awaited<ReturnType<typeof congestible>>
  before(async () => (c = await congestible()))
  after(() => {
    c.client.destroy()
    c.peer.destroy()
    c.server.close()
  })

  test('thousands of publishes on a congested socket: one drain listener, each write counted once it reached the socket', async () => {
    const gate = new SendGate(() => c.client, 1000, 0)
    const baseline = c.client.listenerCount('drain')
    let written = 0
    let resumed = 0
    let handed = 0
    // An open-loop publisher that ignores the gate (as the old code did), then one that waits on it.
    while (!c.client.writableNeedDrain) {
      c.client.write(chunk)
      gate.written(() => written++)
      handed++
    }
    assert.equal(gate.open(), false, 'a congested socket closes the gate')
    for (let i = 0; i < 5000; i++) {
      c.client.write(chunk)
      gate.written(() => written++)
      gate.whenOpen(() => resumed++)
      handed++
    }
    assert.equal(c.client.listenerCount('drain') - baseline, 1, 'one drain listener, however many publishes waited')
    const beforeDrain = written
    assert.ok(beforeDrain < handed, `writes past the high-water mark are not counted as written yet (${beforeDrain} of ${handed})`)
    c.peer.resume()
    await once(c.client, 'drain')
    await tick()
    assert.equal(written, handed, 'every write counted once the socket drained')
    assert.equal(resumed, 1, 'the waiting publisher resumed once')
    assert.equal(gate.open(), true)
    assert.equal(c.client.listenerCount('drain') - baseline, 0, 'no listener left behind')
  })

  test('a tick of writes that only crossed the high-water mark leaves the gate open (up to maxBufferedBytes)', async () => {
    const gate = new SendGate(() => c.client, 1000, 1 << 20)
    c.client.cork() // as mqtt-packet's writeToStream does for a tick
    while (!c.client.writableNeedDrain) c.client.write(chunk)
    assert.equal(gate.open(), true, `${c.client.writableLength} bytes buffered`)
    while (c.client.writableLength < 1 << 20) c.client.write(chunk)
    assert.equal(gate.open(), false)
    c.client.uncork()
    await once(c.client, 'drain')
  })

  test('QoS 1: the window bounds publishes in flight; an acknowledgement reopens the gate', async () => {
    const gate = new SendGate(() => c.client, 3)
    let resumed = 0
    for (let i = 0; i < 3; i++) gate.sent()
    assert.equal(gate.open(), false)
    gate.whenOpen(() => resumed++)
    gate.whenOpen(() => resumed++) // a later waiter replaces the earlier one
    await tick()
    assert.equal(resumed, 0)
    gate.acked()
    await tick()
    assert.deepEqual([resumed, gate.open(), gate.pendingAcks], [1, true, 2])
  })

  test('a lost connection: nothing in flight comes back, unflushed writes are dropped, the publisher resumes', async () => {
    let socket: Socket | undefined = c.client
    const gate = new SendGate(() => socket, 2)
    gate.sent()
    gate.sent()
    let resumed = 0
    gate.whenOpen(() => resumed++)
    socket = undefined
    gate.reset()
    await tick()
    assert.deepEqual([resumed, gate.pendingAcks, gate.open()], [1, 0, true])
  })
})
