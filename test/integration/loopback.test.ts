import assert from 'node:assert/strict'
import { createServer, connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import { describe, test } from 'node:test'
import { DEFAULTS } from '../../src/config/options.js'
import { openBroker } from '../../src/infra.js'
import { RunMetrics } from '../../src/metrics/run-metrics.js'
import { unavailable } from '../support/services.js'

/** Resolves to 'open' or the error code of a TCP connect to host:port. */
const reach = (host: string, port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = connect({ host, port, timeout: 3000 })
    s.once('connect', () => {
      s.destroy()
      resolve('open')
    })
    s.once('timeout', () => {
      s.destroy()
      resolve('timeout')
    })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })

/** An address of this machine that is not loopback (the one a neighbour on the network would use). */
const outsideAddress = (): string | undefined =>
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a && !a.internal && a.family === 'IPv4')?.address

const portOf = (url: string): number => Number(new URL(url).port)

// What the bench opens by default is reachable from this machine only: the embedded broker (no
// authentication) and /metrics bind to 127.0.0.1, never to every interface.
describe('the embedded broker and /metrics bind to loopback by default', () => {
  const outside = outsideAddress()

  test('control: a socket bound to every interface is reachable on the outside address', async (t) => {
    if (!outside) return unavailable(t, 'A non-loopback IPv4 address', 'this machine has none to test from')
    const server = createServer((s) => s.destroy())
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', () => r()))
    try {
      assert.equal(
        await reach(outside, (server.address() as { port: number }).port),
        'open',
        'so a refusal below is the bind address, not the network',
      )
    } finally {
      server.close()
    }
  })

  test('the embedded broker answers on 127.0.0.1 only', async () => {
    const broker = await openBroker({ mqttUrl: undefined }, () => undefined)
    try {
      const port = portOf(broker.url)
      assert.equal(new URL(broker.url).hostname, '127.0.0.1')
      assert.equal(await reach('127.0.0.1', port), 'open')
      if (outside) assert.equal(await reach(outside, port), 'ECONNREFUSED', `the broker must not listen on ${outside}`)
    } finally {
      await broker.stop()
    }
  })

  test('/metrics with the default --metrics-host answers on 127.0.0.1 only', async () => {
    const metrics = new RunMetrics()
    try {
      const url = await metrics.serve(DEFAULTS.metricsHost, 0)
      const port = portOf(url)
      assert.equal(DEFAULTS.metricsHost, '127.0.0.1')
      assert.equal(await reach('127.0.0.1', port), 'open')
      if (outside) assert.equal(await reach(outside, port), 'ECONNREFUSED', `/metrics must not listen on ${outside}`)
    } finally {
      await metrics.close()
    }
  })
})
