/** The part of a socket (net.Socket, any stream.Writable) the gate watches. */
export interface DrainSource {
  /** True once a write returned false, until 'drain' (Node ≥ 15.2.0). */
  readonly writableNeedDrain: boolean
  /** Bytes buffered in the stream, not yet handed to the kernel. */
  readonly writableLength: number
  once(event: 'drain', listener: () => void): unknown
}

/**
 * Back-pressure for one connection, O(1) whatever the rate: the publisher asks `open()` before each
 * message and, when it is closed, registers one `whenOpen` waiter; the gate holds at most one 'drain'
 * listener on its socket at a time.
 *
 * Closed when the socket is congested (a write returned false, `writableNeedDrain`, and at least
 * `maxBufferedBytes` wait in its buffer) or, at QoS 1,
 * when `window` messages are in flight (published, not yet PUBACKed). Why not leave this to MQTT.js:
 * its QoS 0 publish callback adds a 'drain' listener per publish once the socket is congested
 * (MqttClient#_writePacket: `this.stream.once('drain', cb)`), so an open-loop publisher past the socket's
 * rate piles up thousands of listeners (MaxListenersExceededWarning) and O(n²) work on each drain; at
 * QoS 1 nothing bounds its outgoing store.
 *
 * QoS 0 messages count as written (`written`) when the socket took them below its high-water mark, or,
 * if that write crossed it, at the next 'drain': what reached the socket, never what the library
 * was handed.
 */
export class SendGate {
  /** QoS 1 messages published and not yet acknowledged. */
  private inFlight = 0
  private waiter: (() => void) | undefined
  /** QoS 0 callbacks of writes that crossed the high-water mark: they run at 'drain'. */
  private unflushed: Array<() => void> = []
  private listening: DrainSource | undefined

  constructor(
    private readonly stream: () => DrainSource | undefined,
    /** Most QoS 1 messages in flight at once on this connection. */
    readonly window: number,
    /**
     * Bytes a congested socket may buffer before the gate closes. Not 0: mqtt-packet corks the socket
     * for a tick (writeToStream), so 16 KB of one tick's publishes already report congestion; closing
     * there made the rate a function of event-loop turns (~55 publishes a turn), which collapsed on a
     * saturated host.
     */
    readonly maxBufferedBytes = 1 << 20,
  ) {}

  /** Whether the connection takes another message now. */
  open(): boolean {
    return !this.congested() && this.inFlight < this.window
  }

  private congested(): boolean {
    const s = this.stream()
    return s !== undefined && s.writableNeedDrain && s.writableLength >= this.maxBufferedBytes
  }

  get pendingAcks(): number {
    return this.inFlight
  }

  /** Runs `resume` once, when the gate opens (the latest waiter replaces an earlier one: one publisher per gate). */
  whenOpen(resume: () => void): void {
    this.waiter = resume
    this.listen()
    this.wake()
  }

  /** A QoS 1 message was handed to the socket: it is in flight until `acked()`. */
  sent(): void {
    this.inFlight++
  }

  acked(): void {
    if (this.inFlight > 0) this.inFlight--
    this.wake()
  }

  /** A QoS 0 message was handed to the socket: `done` runs now if the socket took it, else at 'drain'. */
  written(done: () => void): void {
    if (!this.stream()?.writableNeedDrain) return done()
    this.unflushed.push(done)
    this.listen()
  }

  /** The connection is gone: nothing in flight there is coming back; unflushed QoS 0 messages never reached the broker. */
  reset(): void {
    this.inFlight = 0
    this.unflushed = []
    this.listening = undefined
    this.wake()
  }

  private listen(): void {
    const s = this.stream()
    if (!s?.writableNeedDrain || this.listening === s) return
    this.listening = s
    s.once('drain', () => {
      if (this.listening !== s) return
      this.listening = undefined
      const done = this.unflushed
      this.unflushed = []
      for (const d of done) d()
      this.wake()
    })
  }

  private wake(): void {
    if (!this.waiter || !this.open()) return
    const w = this.waiter
    this.waiter = undefined
    setImmediate(w) // never inside the socket's or the MQTT client's own handler
  }
}
