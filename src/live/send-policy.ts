/**
 * The slow-client policy, as a pure decision: a frame goes out only while the client's send buffer
 * (bytes queued in the socket, not yet taken by the kernel) stays within its bound; otherwise the
 * client is disconnected (close code 4003, counted) and resumes from its cursor. Memory per client is
 * therefore at most `maxBytes` plus one frame, and no frame is ever dropped while the connection stays.
 */
export type SendDecision = 'send' | 'disconnect'

export function decideSend(bufferedBytes: number, frameBytes: number, maxBytes: number): SendDecision {
  // An empty buffer always takes one frame, so a frame larger than the bound cannot wedge a client.
  if (bufferedBytes === 0) return 'send'
  return bufferedBytes + frameBytes <= maxBytes ? 'send' : 'disconnect'
}

/** Counters of the policy, reported in P9's evidence and the run's result. */
export interface SendCounters {
  framesSent: number
  bytesSent: number
  slowDisconnects: number
  /** Highest send buffer seen on any client, bytes (≤ maxBytes + one frame). */
  maxBufferedBytes: number
}

export const newSendCounters = (): SendCounters => ({ framesSent: 0, bytesSent: 0, slowDisconnects: 0, maxBufferedBytes: 0 })
