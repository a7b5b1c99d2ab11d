/**
 * Open-loop schedule: the fleet's readings are interleaved round-robin by device, so reading (device i,
 * seq k) is due at t0 + (k·N + i) / rate seconds, whatever happened to earlier publishes. Latency is
 * measured from this intended time, so a stalled publisher cannot hide its own delay (no coordinated
 * omission).
 */
export interface Schedule {
  readonly t0Ms: number
  readonly rate: number
  readonly devices: number
  readonly perDevice: number
}

export const readingsPerDevice = (rate: number, durationSeconds: number, devices: number): number =>
  Math.max(1, Math.floor((rate * durationSeconds) / devices))

export const intendedMs = (s: Schedule, device: number, seq: number): number =>
  s.t0Ms + ((seq * s.devices + device) * 1000) / s.rate
