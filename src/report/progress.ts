/** Live progress: one rewritten status line on a terminal, plain periodic lines otherwise. */
export interface ProgressSnapshot {
  readonly elapsedS: number
  readonly offeredPerS: number
  /** Readings handed to the MQTT client. */
  readonly sent: number
  /** Readings that reached the broker: acknowledged (QoS 1) or written to the socket (QoS 0). */
  readonly acked: number
  readonly qos: number
  readonly ingested: number
  readonly deadLetters: number
  /** Live end-to-end p99 (ms) of the last second. */
  readonly p99Ms: number
  readonly phase: string
}

export interface ProgressOutput {
  update(s: ProgressSnapshot): void
  done(): void
}

const fmt = (n: number): string => n.toLocaleString('en-US')

export function progressLine(s: ProgressSnapshot, prev: ProgressSnapshot | undefined): string {
  const dt = prev ? s.elapsedS - prev.elapsedS : s.elapsedS
  const sendRate = dt > 0 ? Math.round((s.sent - (prev?.sent ?? 0)) / dt) : 0
  const ackRate = dt > 0 ? Math.round((s.acked - (prev?.acked ?? 0)) / dt) : 0
  const ingestRate = dt > 0 ? Math.round((s.ingested - (prev?.ingested ?? 0)) / dt) : 0
  return `[${s.elapsedS.toFixed(1).padStart(6)} s] ${s.phase.padEnd(8)} offered ${fmt(s.offeredPerS)}/s  sent ${fmt(s.sent)} (${fmt(sendRate)}/s)  ${s.qos > 0 ? 'acked' : 'written'} ${fmt(s.acked)} (achieved ${fmt(ackRate)}/s)  ingested ${fmt(s.ingested)} (${fmt(ingestRate)}/s)  dead ${fmt(s.deadLetters)}  p99 ${s.p99Ms.toFixed(1)} ms`
}

export function createProgress(mode: 'auto' | 'tty' | 'plain' | 'off', stream: NodeJS.WriteStream = process.stderr): ProgressOutput {
  const tty = mode === 'tty' || (mode === 'auto' && stream.isTTY === true)
  if (mode === 'off') return { update: () => undefined, done: () => undefined }
  let prev: ProgressSnapshot | undefined
  let lastPrinted = -Infinity
  return {
    update(s) {
      if (tty) {
        stream.write(`\r\x1b[2K${progressLine(s, prev)}`)
        prev = s
      } else if (s.elapsedS - lastPrinted >= 5) {
        stream.write(`${progressLine(s, prev)}\n`)
        prev = s
        lastPrinted = s.elapsedS
      }
    },
    done() {
      if (tty) stream.write('\n')
    },
  }
}
