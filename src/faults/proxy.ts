import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net'
import { epochClock } from '../util/clock.js'

/**
 * What a link does to the bytes crossing it. The kernel here has no netem qdisc (DESIGN.md), so
 * network faults come from this userspace TCP proxy between two parties, switchable at runtime.
 * - pass: forward as fast as the sockets allow.
 * - latency: every chunk is held `ms` before it is forwarded, in order (one-way delay, each direction).
 * - bandwidth: each direction of the link is capped at `bytesPerSecond` (a shared token bucket).
 * - reset: every open connection is reset (TCP RST) when the mode starts; new ones are reset on accept.
 * - blackhole: connections are accepted, nothing is forwarded either way (the bytes are discarded, as a
 *   partition discards packets). A byte stream with a hole cannot resume, so when the mode ends every
 *   connection that lost bytes is reset, as TCP's retransmission timeout would eventually do.
 * - half-open: one direction is dropped (`up`: client → server, `down`: server → client), the other
 *   flows; connections that lost bytes are reset when the mode ends.
 */
export type LinkMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'latency'; readonly ms: number }
  | { readonly kind: 'bandwidth'; readonly bytesPerSecond: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'half-open'; readonly drop: 'up' | 'down' }

export type Direction = 'up' | 'down'

export interface ProxyStats {
  accepted: number
  /** Connections reset by the proxy (reset mode, or a stream that lost bytes). */
  resets: number
  forwarded: Record<Direction, number>
  dropped: Record<Direction, number>
  open: number
}

/** Bytes queued per direction of a connection before its source is paused (back-pressure, bounded memory). */
const HIGH_WATER = 1 << 20
/** With a bandwidth cap, chunks are sliced so the rate is smooth rather than one lump per chunk. */
const SLICE = 4096

class Pipe {
  private readonly queue: Array<{ at: number; chunk: Buffer }> = []
  private head = 0
  private queued = 0
  private timer: NodeJS.Timeout | undefined
  private writeBlocked = false
  private endPending = false

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    readonly dir: Direction,
    private readonly conn: Connection,
  ) {
    src.on('data', (chunk: Buffer) => this.push(chunk))
    src.on('end', () => {
      this.endPending = true
      this.maybeEnd()
    })
    dst.on('drain', () => {
      this.writeBlocked = false
      this.updateFlow()
    })
  }

  private push(chunk: Buffer): void {
    const proxy = this.conn.proxy
    const mode = proxy.mode
    const now = proxy.now()
    if (mode.kind === 'blackhole' || mode.kind === 'reset' || (mode.kind === 'half-open' && mode.drop === this.dir)) {
      proxy.stats.dropped[this.dir] += chunk.length
      this.conn.lostBytes = true
      return
    }
    if (mode.kind === 'bandwidth') {
      for (let off = 0; off < chunk.length; off += SLICE) {
        const part = chunk.subarray(off, Math.min(chunk.length, off + SLICE))
        proxy.linkFree[this.dir] = Math.max(now, proxy.linkFree[this.dir]) + (part.length * 1000) / mode.bytesPerSecond
        this.enqueue(proxy.linkFree[this.dir], part)
      }
    } else {
      const at = mode.kind === 'latency' ? now + mode.ms : now
      if (this.head === this.queue.length && at <= now && !this.writeBlocked) return this.write(chunk)
      this.enqueue(at, chunk)
    }
    this.schedule()
    this.updateFlow()
  }

  private enqueue(at: number, chunk: Buffer): void {
    this.queue.push({ at, chunk })
    this.queued += chunk.length
  }

  private write(chunk: Buffer): void {
    if (this.dst.destroyed) return
    this.conn.proxy.stats.forwarded[this.dir] += chunk.length
    if (!this.dst.write(chunk)) this.writeBlocked = true
    this.updateFlow()
  }

  private schedule(): void {
    if (this.timer || this.head === this.queue.length) return
    const wait = Math.max(0, this.queue[this.head].at - this.conn.proxy.now())
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.release()
    }, wait)
  }

  private release(): void {
    const now = this.conn.proxy.now()
    while (this.head < this.queue.length && this.queue[this.head].at <= now) {
      const { chunk } = this.queue[this.head]
      this.queue[this.head++] = undefined as never
      this.queued -= chunk.length
      this.write(chunk)
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
    }
    this.schedule()
    this.updateFlow()
    this.maybeEnd()
  }

  private updateFlow(): void {
    if (this.src.destroyed) return
    if (this.writeBlocked || this.queued > HIGH_WATER) this.src.pause()
    else this.src.resume()
  }

  private maybeEnd(): void {
    if (this.endPending && this.head === this.queue.length && !this.dst.destroyed) this.dst.end()
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
    this.head = 0
    this.queued = 0
  }
}

class Connection {
  lostBytes = false
  private readonly pipes: Pipe[] = []
  private closed = false

  constructor(
    readonly proxy: FaultProxy,
    readonly client: Socket,
    readonly server: Socket,
  ) {
    client.setNoDelay(true)
    server.setNoDelay(true)
    this.pipes.push(new Pipe(client, server, 'up', this), new Pipe(server, client, 'down', this))
    const onError = (err: NodeJS.ErrnoException, other: Socket): void => {
      // A reset on one side is passed on as a reset; anything else closes the other side.
      if (err.code === 'ECONNRESET' && !other.destroyed) other.resetAndDestroy()
      else other.destroy()
    }
    client.on('error', (err) => onError(err, server))
    server.on('error', (err) => onError(err, client))
    client.on('close', () => this.close())
    server.on('close', () => this.close())
  }

  /** TCP RST on both sides. */
  reset(): void {
    this.proxy.stats.resets++
    if (!this.client.destroyed) this.client.resetAndDestroy()
    if (!this.server.destroyed) this.server.resetAndDestroy()
    this.close()
  }

  private close(): void {
    if (this.closed) {
      return
    }
    if (!this.client.destroyed && !this.server.destroyed) return // the other side may still be flushing
    this.closed = true
    if (!this.client.destroyed) this.client.destroy()
    if (!this.server.destroyed) this.server.destroy()
    for (const p of this.pipes) p.dispose()
    this.proxy.forget(this)
  }
}

export interface ProxyOptions {
  readonly targetHost: string
  readonly targetPort: number
  readonly listenHost?: string
  readonly listenPort?: number
  /** Name in logs and results, e.g. "sim-broker". */
  readonly name?: string
  readonly now?: () => number
}

/** A loopback TCP proxy whose behaviour (LinkMode) can be switched while connections are open. */
export class FaultProxy {
  mode: LinkMode = { kind: 'pass' }
  readonly stats: ProxyStats = { accepted: 0, resets: 0, forwarded: { up: 0, down: 0 }, dropped: { up: 0, down: 0 }, open: 0 }
  /** Bandwidth mode: when each direction of the link is free again (epoch ms). */
  readonly linkFree: Record<Direction, number> = { up: 0, down: 0 }
  readonly now: () => number
  readonly name: string
  private readonly connections = new Set<Connection>()
  private readonly server: Server
  private port = 0

  private constructor(private readonly opts: ProxyOptions) {
    this.now = opts.now ?? epochClock
    this.name = opts.name ?? `proxy-${opts.targetPort}`
    this.server = createServer({ noDelay: true }, (client) => this.accept(client))
  }

  static async start(opts: ProxyOptions): Promise<FaultProxy> {
    const p = new FaultProxy(opts)
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject)
      p.server.listen(opts.listenPort ?? 0, opts.listenHost ?? '127.0.0.1', () => resolve())
    })
    p.port = (p.server.address() as AddressInfo).port
    return p
  }

  get listenPort(): number {
    return this.port
  }

  get host(): string {
    return this.opts.listenHost ?? '127.0.0.1'
  }

  /** The same URL with host and port pointing at this proxy (credentials, path and query kept). */
  rewrite(url: string): string {
    const u = new URL(url)
    u.hostname = this.host
    u.port = String(this.port)
    return u.toString()
  }

  /** Switches the behaviour of the link; applies to open connections from the next byte on. */
  setMode(mode: LinkMode): void {
    const before = this.mode
    this.mode = mode
    if (mode.kind === 'reset') {
      for (const c of [...this.connections]) c.reset()
    }
    if ((before.kind === 'blackhole' || before.kind === 'half-open') && mode.kind !== before.kind) {
      for (const c of [...this.connections]) if (c.lostBytes) c.reset()
    }
    if (mode.kind === 'bandwidth') this.linkFree.up = this.linkFree.down = this.now()
  }

  /** Resets every open connection now (whatever the mode). */
  resetAll(): void {
    for (const c of [...this.connections]) c.reset()
  }

  private accept(client: Socket): void {
    this.stats.accepted++
    if (this.mode.kind === 'reset') {
      this.stats.resets++
      client.on('error', () => undefined)
      client.resetAndDestroy()
      return
    }
    client.pause()
    const server = netConnect({ host: this.opts.targetHost, port: this.opts.targetPort })
    const conn = new Connection(this, client, server)
    this.connections.add(conn)
    this.stats.open = this.connections.size
    server.once('connect', () => client.resume())
  }

  forget(c: Connection): void {
    this.connections.delete(c)
    this.stats.open = this.connections.size
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const c of [...this.connections]) {
      c.client.destroy()
      c.server.destroy()
    }
    await closed
  }
}

/** Parses "host:port" out of a URL, with the scheme's default port. */
export function targetOf(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url)
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || defaultPort) }
}
