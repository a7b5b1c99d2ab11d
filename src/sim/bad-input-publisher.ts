import { setTimeout as sleep } from 'node:timers/promises'
import mqtt from 'mqtt'
import { errorMessage } from '../errors.js'
import type { BadMessage } from './bad-input.js'
import { mqttJsOptions, type MqttSecurity } from '../transport/mqtt-options.js'

/**
 * Publishes the run's malformed messages (QoS 1) spread evenly over the load. Resolves when all are
 * acknowledged by the broker; a failure is logged (P7 then names what is missing), never thrown. An
 * interrupt (`stop`) ends it before the next message; resolves with how many of `messages` (the first
 * ones) it started to publish: what P7 judges.
 */
export async function injectBadInput(
  url: string,
  security: MqttSecurity | undefined,
  clientId: string,
  messages: readonly BadMessage[],
  overMs: number,
  log: (line: string) => void,
  stop?: AbortSignal,
): Promise<number> {
  if (messages.length === 0) return 0
  let started = 0
  try {
    // Reconnects (a fault may restart the broker): MQTT.js resends what was not acknowledged. Bounded, so a
    // broker that never comes back cannot hold the run.
    const client = await mqtt.connectAsync(url, {
      ...mqttJsOptions(security),
      clientId,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 500,
    })
    let timer: NodeJS.Timeout | undefined
    try {
      const gap = overMs / (messages.length + 1)
      const all = (async () => {
        for (const m of messages) {
          await sleep(gap, undefined, stop && { signal: stop }).catch(() => undefined) // an abort ends the wait early
          if (stop?.aborted) break
          started++
          await client.publishAsync(m.topic, Buffer.from(m.payload, 'base64'), { qos: 1 })
        }
      })()
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not all acknowledged ${Math.round(overMs / 1000) + 60} s after the load started`)),
          overMs + 60_000,
        )
      })
      await Promise.race([all, deadline])
    } finally {
      clearTimeout(timer)
      await client.endAsync(true)
    }
  } catch (err) {
    log(`injecting bad input failed: ${errorMessage(err)}`)
  }
  return started
}
