import { parentPort, workerData } from 'node:worker_threads'
import { errorMessage } from '../../errors.js'
import { KafkaBridge, type BridgeOptions, type BridgeStats } from './bridge.js'
import { nameThread } from '../../metrics/cpu.js'

nameThread('bridge')

/** Typed messages between a run and its bridge thread. */
export type BridgeThreadData = Omit<BridgeOptions, 'log'>
export type ToBridge = { readonly kind: 'stop' }
export type FromBridge =
  | { readonly kind: 'ready' }
  | { readonly kind: 'stats'; readonly stats: BridgeStats; readonly pending: number }
  | { readonly kind: 'stopped'; readonly stats: BridgeStats }
  | { readonly kind: 'log'; readonly line: string }
  | { readonly kind: 'fatal'; readonly message: string }

if (parentPort) {
  const port = parentPort
  const post = (m: FromBridge): void => port.postMessage(m)
  const bridge = new KafkaBridge({ ...(workerData as BridgeThreadData), log: (line) => post({ kind: 'log', line }) })
  const timer = setInterval(() => post({ kind: 'stats', stats: { ...bridge.stats }, pending: bridge.pendingCount }), 250)
  port.on('message', (m: ToBridge) => {
    if (m.kind !== 'stop') return
    clearInterval(timer)
    bridge.stop().then(
      (stats) => {
        post({ kind: 'stopped', stats })
        port.close()
      },
      (err: unknown) => post({ kind: 'fatal', message: errorMessage(err) }),
    )
  })
  try {
    await bridge.start()
    post({ kind: 'ready' })
  } catch (err) {
    clearInterval(timer)
    post({ kind: 'fatal', message: `the bridge could not start: ${errorMessage(err)}` })
    port.close()
  }
}
