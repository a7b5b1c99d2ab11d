import mqtt from 'mqtt'
import { FaultProxy } from '/work/wt-8a/dist/src/faults/proxy.js'
process.on('uncaughtException', (e) => { console.log('UNCAUGHT', e.stack); process.exit(1) })
const p = await FaultProxy.start({ targetHost: '127.0.0.1', targetPort: 1884 })
const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${p.listenPort}`, { clientId: 'wt8a-repro', clean: false, reconnectPeriod: 0, protocolVersion: 4 })
c.on('error', (e) => console.log('client error', e.message))
c.on('close', () => { console.log('close'); setTimeout(() => c.reconnect(), 100) })
c.on('connect', () => console.log('connect'))
let i = 0
const t = setInterval(() => c.publish('wt8a/x', String(i++), { qos: 1 }), 10)
await new Promise(r => setTimeout(r, 500))
p.setMode({ kind: 'blackhole' })
await new Promise(r => setTimeout(r, 1000))
p.setMode({ kind: 'pass' })
await new Promise(r => setTimeout(r, 1500))
clearInterval(t)
console.log('stats', JSON.stringify(p.stats))
await c.endAsync(true); await p.close()
