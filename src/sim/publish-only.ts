import { resolveConfig } from '../config/resolve.js'
import { fleetOf, fleetSize } from '../fleet.js'
import { runRates } from '../report/result.js'
import { initHistograms, summarizeEncoded, type LatencySummary } from '../util/histogram.js'
import { splitRange } from '../util/shares.js'
import { runSimulators } from './pool.js'
import { dueSeconds, readingsPerDevice } from './schedule.js'
import { simulationOf } from './setup.js'

/** One step of the simulators alone: a fixed offered rate into a broker, nobody subscribed, no database. */
export interface PublishStep {
  readonly url: string
  readonly qos: 0 | 1
  readonly rate: number
  readonly seconds: number
  readonly threads: number
  /** Seconds past the planned end that publishing and acknowledgements may take. */
  readonly drainTimeoutSeconds: number
  /** The profile whose fleet and sensors are generated (default `max`). */
  readonly profile?: string
  readonly publishWindow?: number
  readonly clientId: string
  readonly topicPrefix: string
}

export interface PublishStepResult {
  readonly offered: number
  /** Handed to the MQTT client. */
  readonly published: number
  /** Acknowledged by the broker (QoS 1) or written to the socket (QoS 0). */
  readonly acked: number
  /** Readings that reached the broker per second, first publish to last acknowledgement. */
  readonly heldPerS: number
  /** Readings handed to the MQTT client per second. */
  readonly publishedPerS: number
  readonly plannedSeconds: number
  /** Wall seconds from the schedule's start until every simulator thread returned. */
  readonly wallSeconds: number
  readonly scheduleLag: LatencySummary
  readonly unfinished: readonly string[]
}

/** Runs the simulators of a `run` (same generator, encoding, connections and back-pressure) for one step. */
export async function publishStep(s: PublishStep, log: (line: string) => void = () => undefined): Promise<PublishStepResult> {
  await initHistograms()
  const cfg = resolveConfig({
    profile: s.profile ?? 'max',
    env: {},
    flags: {
      rate: s.rate,
      durationSeconds: s.seconds,
      qos: s.qos,
      simWorkers: s.threads,
      drainTimeoutSeconds: s.drainTimeoutSeconds,
      ...(s.publishWindow && { publishWindow: s.publishWindow }),
    },
  })
  const fleet = fleetOf(cfg)
  const devices = fleetSize(fleet)
  const perDevice = readingsPerDevice(cfg.rate, cfg.durationSeconds, devices)
  const sim = simulationOf(cfg.slices.sim, Date.now() - 86_400_000, fleet, devices)
  const schedule = { t0Ms: 0, rate: cfg.rate, devices, perDevice, spikes: [] }
  const tasks = splitRange(devices, Math.min(cfg.simWorkers, devices)).map(([from, to], worker) => ({
    worker,
    mqttUrl: s.url,
    clientId: `${s.clientId}-${worker}`,
    topicPrefix: s.topicPrefix,
    qos: s.qos,
    ctx: sim.ctx,
    schedule,
    devices: [from, to] as const,
    drainTimeoutMs: cfg.drainTimeoutSeconds * 1000,
    publishWindow: cfg.publishWindow,
    deviceQueue: cfg.deviceQueue,
    deviceQueuePolicy: cfg.deviceQueuePolicy,
  }))
  let t0 = 0
  const sims = await runSimulators(
    tasks,
    () => undefined,
    log,
    undefined,
    () => (t0 = Date.now() + 50),
  )
  const wallSeconds = (Date.now() - t0) / 1000
  const published = sims.reduce((n, r) => n + r.published, 0)
  const acked = sims.reduce((n, r) => n + r.acked, 0)
  const rates = runRates(
    cfg.rate,
    s.qos,
    { published, acked },
    Math.min(...sims.map((r) => r.firstSendMs)),
    Math.max(...sims.map((r) => r.lastSendMs)),
    Math.max(...sims.map((r) => r.lastAckMs)),
  )
  return {
    offered: devices * perDevice,
    published,
    acked,
    heldPerS: rates.achievedPerS,
    publishedPerS: rates.publishedPerS,
    plannedSeconds: dueSeconds(cfg.rate, devices * perDevice),
    wallSeconds: Math.round(wallSeconds * 100) / 100,
    scheduleLag: summarizeEncoded(sims.map((r) => r.scheduleLag)),
    unfinished: sims.flatMap((r) => (r.unfinished ? [`simulator ${r.worker}: ${r.unfinished}`] : [])),
  }
}
