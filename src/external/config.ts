import type { OptionValues } from '../config/options.js'
import { sinkMapProblems } from './sink-map.js'

/** Rules of --ingest external that involve other options. */
export function externalIngestChecks(c: OptionValues): string[] {
  const problems: string[] = []
  if (c.ingest !== 'external') {
    if (c.ingestCommand !== undefined) problems.push('ingest-command needs --ingest external')
    if (c.sinkMap !== undefined) problems.push('sink-map needs --ingest external')
    return problems
  }
  if (c.transport !== 'mqtt') problems.push('--ingest external needs --transport mqtt: the external ingest subscribes to the broker itself')
  if (c.livePort !== undefined)
    problems.push('--ingest external has no live feed: the live feed is fed by iotbench’s own ingest (leave out --live-port)')
  if (c.faults !== undefined && c.faults.length > 0)
    problems.push('--ingest external cannot take --faults: they act on iotbench’s own ingest and its connections')
  if (c.shard !== undefined) problems.push('--ingest external cannot be sharded yet (--shard)')
  if (c.sinkMap !== undefined) problems.push(...sinkMapProblems(c.sinkMap))
  return problems
}
