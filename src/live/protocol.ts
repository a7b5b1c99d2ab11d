import type { AlertEvent } from '../alerts/engine.js'
import type { FieldValue, Kind } from '../kinds.js'

/**
 * The live feed's wire protocol (WebSocket, text frames of JSON; docs/live-feed.md).
 *
 *   client → server, once after connecting:
 *     {"type":"subscribe","farms":["farm01","farm02"],"cursors":{"farm01":1234}}
 *   A cursor is the last position the client received for that farm; the server sends every event
 *   after it, exactly once, then the live stream. No cursor: live from the farm's current head.
 *   server → client:
 *     {"type":"subscribed","farms":{"farm01":{"head":1300,"oldest":1}}}
 *     {"type":"events","farm":"farm01","pos":1235,"events":[…]}     event i has position pos + i
 *     {"type":"end","heads":{"farm01":5012}}                         the run committed its last batch
 *   Each farm's positions start at 1 and increase by one per event (a reading or an alert row), in
 *   commit order. The server closes a connection with one of CLOSE's codes and a reason.
 */
export interface SubscribeMessage {
  readonly type: 'subscribe'
  readonly farms: readonly string[]
  readonly cursors?: Readonly<Record<string, number>>
}

export interface LiveReadingEvent {
  readonly type: 'reading'
  readonly device: string
  readonly kind: Kind
  readonly seq: number
  /** Sensor time, epoch ms. */
  readonly ts: number
  /** Intended send time, epoch ms (latency is measured from it). */
  readonly sent: number
  readonly values: Readonly<Record<string, FieldValue>>
}

/** A committed alert row (raise or clear), as the feed carries it: the alert engine's event without its internals. */
export type CommittedAlert = Pick<AlertEvent, 'device' | 'kind' | 'rule' | 'event' | 'seq' | 'ts' | 'sent' | 'value'>

export interface LiveAlertEvent extends CommittedAlert {
  readonly type: 'alert'
}

export type LiveEvent = LiveReadingEvent | LiveAlertEvent

export type ServerFrame =
  | { readonly type: 'subscribed'; readonly farms: Readonly<Record<string, { head: number; oldest: number }>> }
  | { readonly type: 'events'; readonly farm: string; readonly pos: number; readonly events: readonly LiveEvent[] }
  | { readonly type: 'end'; readonly heads: Readonly<Record<string, number>> }

/** Close codes (4000–4999 are the application's own, RFC 6455 §7.4.2). */
export const CLOSE = {
  /** The subscribe message was missing, not JSON, or named an unknown farm. */
  BadSubscribe: 4000,
  /** A cursor is older than the farm's replay buffer: the events after it are gone; never skipped silently. */
  CursorTooOld: 4001,
  /** A cursor is past the farm's head (a feed from another run, or a restarted server). */
  CursorAhead: 4002,
  /** The client's send buffer passed its bound: resume from your cursor. */
  SlowClient: 4003,
  /** The run is over and the server is closing (1001 Going Away). */
  GoingAway: 1001,
} as const

/** The farm of a device id (`farm01-collar-0001` → `farm01`). */
export const farmOfDevice = (device: string): string => device.slice(0, device.indexOf('-'))
