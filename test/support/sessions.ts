import mqtt from 'mqtt'

/** Whether the broker holds a session for `clientId`; the probe's own session is removed again. */
export async function sessionPresent(url: string, clientId: string): Promise<boolean> {
  const probe = await mqtt.connectAsync(url, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 })
  // mqtt.js keeps the CONNACK on the client once connected.
  const present = (probe as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent === true
  await probe.endAsync()
  const wipe = await mqtt.connectAsync(url, { clientId, clean: true, protocolVersion: 4, reconnectPeriod: 0 })
  await wipe.endAsync()
  return present
}

/** The client ids of a run's persistent sessions (see src/run.ts), from its result.json. */
export function runClientIds(result: { runId: string; config: Record<string, unknown> }): string[] {
  const base = `iotbench-${result.runId}`
  return [
    ...Array.from({ length: result.config.ingestWorkers as number }, (_, w) => `${base}-ingest-${w}`),
    ...Array.from({ length: result.config.simWorkers as number }, (_, w) => `${base}-sim-${w}`),
  ]
}
