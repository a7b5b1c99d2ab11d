import { randomBytes } from 'node:crypto'
import type { RunConfig } from '../config/options.js'
import { redactUrl } from '../util/redact.js'
import type { RunFaults } from '../faults/run-faults.js'
import type { BrokerService, Service } from '../infra.js'
import type { Interrupt } from '../interrupt.js'
import type { LiveRun } from '../live/run-live.js'
import type { RunMetrics } from '../metrics/run-metrics.js'
import type { Clock } from '../util/clock.js'
import type { CpuMeter } from '../metrics/cpu.js'

/** What every phase of a run shares: the resolved config, the services it runs against, its metrics and clock. */
export interface RunContext {
  readonly cfg: RunConfig
  readonly runId: string
  readonly log: (line: string) => void
  readonly metrics: RunMetrics
  readonly database: Service
  readonly broker: BrokerService
  readonly faults: RunFaults
  readonly live: LiveRun | undefined
  readonly interrupt: Interrupt | undefined
  readonly clock: Clock
  /** CPU per component (src/metrics/cpu.ts), reported in result.json. */
  readonly cpu?: CpuMeter
}

export function newRunId(profile: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${profile}-${randomBytes(2).toString('hex')}`
}

/** The config as stored in result.json and the runs table: secrets redacted. */
export function publicConfig(c: RunConfig): Record<string, unknown> {
  const { slices: _slices, ...options } = c
  return {
    ...options,
    mqttUrl: c.mqttUrl && redactUrl(c.mqttUrl),
    mqttPassword: c.mqttPassword && '***',
    databaseUrl: c.databaseUrl && redactUrl(c.databaseUrl),
  }
}
