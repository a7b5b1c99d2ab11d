import type pg from 'pg'
import type { FaultsSlice, SimThreadSlice } from '../config/slices.js'
import { connect } from '../db/connect.js'
import type { FleetShape } from '../fleet.js'
import type { Service } from '../infra.js'
import type { IngestCounters } from '../ingest/messages.js'
import type { IngestPool } from '../ingest/pool.js'
import type { RunTimeline } from '../report/timeline.js'
import type { SimResult } from '../sim/messages.js'
import type { Schedule } from '../sim/schedule.js'
import type { Clock } from '../util/clock.js'
import type { PropertyResult } from '../verify/types.js'
import { attributeLoss, recoveryTimes, type FaultReport } from './analysis.js'
import { runFaultSchedule, type FaultRun } from './injector.js'
import { FaultProxy, targetOf } from './proxy.js'
import type { FaultSpec, Link } from './schedule.js'

/** How the simulated devices behaved (result.json `devices`). */
export interface DeviceReport {
  readonly queue: number
  readonly queuePolicy: string
  /** Readings the device queues dropped by their overflow policy. */
  readonly queueDropped: number
  /** Broker reconnections, all simulator connections together. */
  readonly reconnects: number
}

/**
 * The run's fault machinery, from the run's point of view: with a fault schedule, a proxy on each of the
 * three links (so the whole run, baseline included, goes through the same path), the URLs each party
 * uses, the schedule runner, and after the run the analysis that goes into result.json. Without a
 * schedule it is inert: the URLs are the services' own.
 */
export class RunFaults {
  readonly schedule: readonly FaultSpec[]
  private run: FaultRun | undefined
  private freshAdmin: pg.Client | undefined

  private constructor(
    private readonly cfg: FaultsSlice,
    readonly proxies: Partial<Record<Link, FaultProxy>>,
    private readonly brokerUrl: string,
    private readonly databaseUrl: string,
  ) {
    this.schedule = cfg.schedule
  }

  static async open(cfg: FaultsSlice, broker: Service, database: Service, log: (line: string) => void): Promise<RunFaults> {
    const proxies: Partial<Record<Link, FaultProxy>> = {}
    if (cfg.schedule.length > 0) {
      const b = targetOf(broker.url, 1883)
      const d = targetOf(database.url, 5432)
      proxies['sim-broker'] = await FaultProxy.start({ targetHost: b.host, targetPort: b.port, name: 'sim-broker' })
      proxies['broker-ingest'] = await FaultProxy.start({ targetHost: b.host, targetPort: b.port, name: 'broker-ingest' })
      proxies['ingest-db'] = await FaultProxy.start({ targetHost: d.host, targetPort: d.port, name: 'ingest-db' })
      log(
        `fault proxies on 127.0.0.1: ${Object.values(proxies)
          .map((p) => `${p.name} :${p.listenPort}`)
          .join(', ')}`,
      )
    }
    return new RunFaults(cfg, proxies, broker.url, database.url)
  }

  get active(): boolean {
    return this.schedule.length > 0
  }

  get simBrokerUrl(): string {
    return this.proxies['sim-broker']?.rewrite(this.brokerUrl) ?? this.brokerUrl
  }
  get ingestBrokerUrl(): string {
    return this.proxies['broker-ingest']?.rewrite(this.brokerUrl) ?? this.brokerUrl
  }
  get ingestDatabaseUrl(): string {
    return this.proxies['ingest-db']?.rewrite(this.databaseUrl) ?? this.databaseUrl
  }

  /** Starts the schedule: fault times are seconds after `t0Ms`; records are in seconds since `originMs`. */
  start(
    t0Ms: number,
    originMs: number,
    broker: Service,
    database: Service,
    ingest: IngestPool,
    log: (line: string) => void,
    clock: Clock,
  ): void {
    if (!this.active) return
    this.run = runFaultSchedule(
      this.schedule,
      t0Ms,
      originMs,
      {
        proxies: this.proxies,
        broker,
        database,
        ingest,
        brokerRestartCommand: this.cfg.brokerRestartCommand,
        dbRestartCommand: this.cfg.dbRestartCommand,
      },
      log,
      clock,
    )
  }

  /**
   * Whether the ingest has everything it will get. In a fault run a redelivered reading is received
   * twice, so "received ≥ published" could end the drain early: at QoS 1 wait until every published
   * reading is committed (duplicates are skipped before they count).
   */
  drained(t: IngestCounters, published: number): boolean {
    return this.active && this.cfg.qos > 0 ? t.committedRows >= published : t.received >= published
  }

  /** The load is over: wait for faults still in progress (up to `timeoutMs`), then heal everything. */
  async settle(timeoutMs: number): Promise<void> {
    if (!this.run) return
    await Promise.race([this.run.done, new Promise((r) => setTimeout(r, timeoutMs).unref())])
    this.run.abort()
  }

  /** The main thread's database client, reconnected if a database restart broke it. */
  async healthyAdmin(admin: pg.Client, schema: string): Promise<pg.Client> {
    try {
      await admin.query('SELECT 1')
      return admin
    } catch {
      this.freshAdmin = await connect(this.databaseUrl, schema, 'iotbench-main')
      return this.freshAdmin
    }
  }

  /** Loss per fault window and recovery per fault (undefined without faults). */
  async analyse(
    admin: pg.Client,
    dbRunId: number,
    schedule: Schedule,
    manifest: { fleet: FleetShape; perDevice: number; unacked: SimResult['unacked'] },
    sims: readonly SimResult[],
    timeline: RunTimeline,
    originMs: number,
  ): Promise<FaultReport | undefined> {
    if (!this.run) return undefined
    const records = [...this.run.records].sort((a, b) => a.startS - b.startS)
    const overflow = sims.flatMap((s) => s.overflow ?? [])
    const loss = await attributeLoss(
      admin,
      { dbRunId, fleet: manifest.fleet, perDevice: manifest.perDevice, schedule, unacked: manifest.unacked, overflow, originMs },
      records,
    )
    return { schedule: records, loss, recovery: recoveryTimes(timeline.points, records, this.cfg.sloP99Ms) }
  }

  async close(): Promise<void> {
    this.run?.abort()
    await this.freshAdmin?.end().catch(() => undefined)
    await Promise.all(Object.values(this.proxies).map((p) => p.close()))
  }
}

export function deviceReport(cfg: SimThreadSlice, sims: readonly SimResult[]): DeviceReport {
  return {
    queue: cfg.deviceQueue,
    queuePolicy: cfg.deviceQueuePolicy,
    queueDropped: sims.reduce((n, s) => n + (s.queueDropped ?? 0), 0),
    reconnects: sims.reduce((n, s) => n + (s.reconnects ?? 0), 0),
  }
}

/** The timeline with each fault as a window event (the report draws it), and P1's evidence with the loss per fault window. */
export function withFaults(
  timeline: RunTimeline,
  properties: readonly PropertyResult[],
  report: FaultReport | undefined,
): { timeline: RunTimeline; properties: PropertyResult[] } {
  if (!report) return { timeline, properties: [...properties] }
  const events = [
    ...timeline.events,
    ...report.schedule.map((f) => ({
      t: f.startS,
      type: 'fault' as const,
      name: f.label,
      count: 1,
      seconds: Math.max(0.001, f.endS - f.startS),
    })),
  ].sort((a, b) => a.t - b.t)
  const lossByFault = [...report.loss.windows, report.loss.outside].map(({ label, lost, neverAcknowledged, queueOverflow }) => ({
    fault: label,
    lost,
    neverAcknowledged,
    queueOverflow,
  }))
  return {
    timeline: { ...timeline, events },
    properties: properties.map((p) => (p.id === 'P1' ? { ...p, evidence: { ...p.evidence, lostByFault: lossByFault } } : p)),
  }
}
