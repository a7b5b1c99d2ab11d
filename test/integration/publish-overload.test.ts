import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import mqtt from 'mqtt'
import type { PublishStepResult } from '../../src/sim/publish-only.js'
import { mosquittoBinary, startOwnMosquitto } from '../support/mosquitto.js'
import { unavailable } from '../support/services.js'

const CHILD = fileURLToPath(new URL('../support/publish-step.js', import.meta.url))
const SECONDS = 2
const DRAIN_S = 3

/** The step in a child process: its result, its stderr, and how long it took (killed past `limitMs`). */
function runStep(url: string, qos: 0 | 1, limitMs: number): Promise<{ result: PublishStepResult; stderr: string; ms: number }> {
  const step = {
    url,
    qos,
    rate: 1_000_000,
    seconds: SECONDS,
    threads: 1,
    drainTimeoutSeconds: DRAIN_S,
    clientId: `overload-${qos}-${process.pid}`,
    topicPrefix: `overload${qos}/`,
  }
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const child = spawn(process.execPath, [CHILD, JSON.stringify(step)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const kill = setTimeout(() => child.kill('SIGKILL'), limitMs)
    child.on('exit', (code) => {
      clearTimeout(kill)
      if (code !== 0) return reject(new Error(`the step did not end by itself within ${limitMs} ms (exit ${code})\n${err}`))
      resolve({ result: JSON.parse(out) as PublishStepResult, stderr: err, ms: Date.now() - t0 })
    })
  })
}

/** Mosquitto's own count of PUBLISH packets received from clients ($SYS, refreshed every second here). */
async function brokerReceived(url: string, atLeastAfterMs: number): Promise<number> {
  const c = await mqtt.connectAsync(url, { clientId: `sys-${process.pid}-${Date.now()}`, reconnectPeriod: 0 })
  try {
    await new Promise((r) => setTimeout(r, atLeastAfterMs))
    const got = new Promise<number>((resolve) => c.on('message', (_t, p) => resolve(Number(p.toString()))))
    await c.subscribeAsync('$SYS/broker/publish/messages/received')
    return await got
  } finally {
    await c.endAsync(true)
  }
}

describe('the simulators past saturation (own Mosquitto, nobody subscribed)', () => {
  for (const qos of [0, 1] as const) {
    test(`QoS ${qos}, offered 1,000,000/s for ${SECONDS} s: ends by the deadline, holds a rate the broker received, one drain listener`, async (t) => {
      const bin = mosquittoBinary()
      if (!bin) return unavailable(t, 'Mosquitto', 'mosquitto is not installed (apt-get install mosquitto)')
      const broker = await startOwnMosquitto(bin, { extra: ['sys_interval 1'] })
      try {
        // Planned load + drain timeout, plus the child's start-up, connecting and thread start (generous on a busy host).
        const { result: r, stderr, ms } = await runStep(broker.url, qos, (SECONDS + DRAIN_S + 30) * 1000)
        assert.doesNotMatch(stderr, /MaxListenersExceededWarning/)
        assert.ok(r.wallSeconds <= SECONDS + DRAIN_S + 1.5, `the schedule ended by its deadline (${r.wallSeconds} s, whole child ${ms} ms)`)
        assert.ok(r.published < r.offered, `far past what the machine does: ${r.published} of ${r.offered} published`)
        assert.ok(
          r.unfinished.length > 0 && /not yet handed to the broker/.test(r.unfinished[0]!),
          `the verdict names what did not finish: ${r.unfinished.join('; ')}`,
        )
        assert.ok(r.acked > 0 && r.heldPerS > 0, `a held rate: ${r.heldPerS}/s`)
        assert.ok(r.acked <= r.published)
        // What "held" counts reached the broker: Mosquitto received at least every reading counted as acknowledged
        // (QoS 1: it sent the PUBACK) or written to the socket (QoS 0: in the kernel, delivered on loopback).
        const received = await brokerReceived(broker.url, 2500)
        assert.ok(received >= r.acked, `broker received ${received} ≥ counted ${r.acked}`)
        assert.ok(received <= r.published, `broker received ${received} ≤ handed to the client ${r.published}`)
      } finally {
        await broker.stop()
      }
    })
  }
})
