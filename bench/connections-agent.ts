/**
 * A child process of `npm run bench:connections`: holds `count` device connections (src/sim/connections.ts)
 * to the brokers given, then publishes QoS 1 readings across them at a fixed rate and reports. A
 * process may hold only RLIMIT_NOFILE sockets, so the bench spreads the fleet over several of these.
 * Messages (one JSON line each on stdout): {connected, ms, rssBytes}, then {published, acked, seconds}.
 */
import { DeviceConnections } from '../src/sim/connections.js'

const [urlsArg, countArg, offsetArg, sourcesArg, rateArg, secondsArg] = process.argv.slice(2)
const urls = urlsArg.split(',')
const count = Number(countArg)
const offset = Number(offsetArg)
const say = (m: object): void => void process.stdout.write(`${JSON.stringify(m)}\n`)

async function main(): Promise<void> {
  // Device i of the fleet connects to broker i mod brokers, from source address by i (ports per address).
  const groups = urls.map((url, b) => {
    const ids: string[] = []
    for (let i = offset; i < offset + count; i++) if (i % urls.length === b) ids.push(`bench-dev-${i}`)
    return new DeviceConnections({
      url,
      clientIds: ids,
      sourceAddresses: Number(sourcesArg),
      concurrency: 100,
      connectTimeoutMs: 60_000,
      onError: () => undefined,
    })
  })
  const start = Date.now()
  const outcomes = await Promise.all(groups.map((g) => g.connectAll(true)))
  const held = groups.reduce((n, g) => n + g.open, 0)
  global.gc?.()
  const failed = outcomes.reduce((n, o) => n + o.failed, 0)
  say({
    connected: held,
    failed,
    firstError: outcomes.find((o) => o.firstError)?.firstError,
    ms: Date.now() - start,
    rssBytes: process.memoryUsage().rss,
  })
  // Publish at `rate`/s for `seconds`, round robin over the connections, in 10-ms ticks (open loop).
  const rate = Number(rateArg)
  const seconds = Number(secondsArg)
  let published = 0
  let acked = 0
  const payload = Buffer.from(
    JSON.stringify({
      device: 'bench',
      kind: 'collar',
      seq: 0,
      ts: 0,
      sent: 0,
      values: { activity: 12.5, rumination: 0.4, eating: 0.2, neckTemp: 38.6, battery: 93.1, rssi: -71 },
    }),
  )
  const t0 = Date.now()
  let cursor = 0
  while (Date.now() - t0 < seconds * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate)
    while (published < due) {
      const g = groups[cursor % groups.length]
      const j = Math.floor(cursor / groups.length) % g.size
      cursor++
      if (g.publish(j, `bench/${offset + cursor}/telemetry`, payload, 1, () => void acked++)) published++
      else published++ // offline device: counted as offered, never acked
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  const sendEnd = Date.now()
  while (acked < published && Date.now() - sendEnd < 10_000) await new Promise((r) => setTimeout(r, 20))
  say({
    published,
    acked,
    seconds: (Date.now() - t0) / 1000,
    sendSeconds: (sendEnd - t0) / 1000,
    stillOpen: groups.reduce((n, g) => n + g.open, 0),
    rssBytes: process.memoryUsage().rss,
  })
  await Promise.all(groups.map((g) => g.end()))
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    say({ error: err.message })
    process.exit(1)
  },
)
