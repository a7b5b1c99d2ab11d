import type { OptionValues, RunConfig } from '../config/options.js'
import { scaleSchedule, scheduleChecks, type FaultSpec } from './schedule.js'

/** The run's fault schedule after --fault-time-scale (empty without faults). */
export const faultScheduleOf = (c: Pick<RunConfig, 'faults' | 'faultTimeScale'>): FaultSpec[] =>
  scaleSchedule(c.faults ?? [], c.faultTimeScale)

/** Config problems of the fault schedule (resolveConfig's cross checks). */
export function faultChecks(c: OptionValues): string[] {
  return scheduleChecks(faultScheduleOf(c), {
    durationSeconds: c.durationSeconds,
    ingestWorkers: c.ingestWorkers,
    embeddedBroker: c.mqttUrl === undefined,
    embeddedDatabase: c.databaseUrl === undefined,
    brokerRestartCommand: c.brokerRestartCommand,
    dbRestartCommand: c.dbRestartCommand,
  })
}
