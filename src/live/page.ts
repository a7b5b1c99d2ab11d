/**
 * The live page: one farm's readings and alerts drawn as they commit, from the WebSocket feed, with
 * Chart.js served by the bench itself (/chart.umd.min.js; no CDN). `?farm=farm02` picks the farm,
 * `?device=farm02-collar-0007` the cow on the collar chart. The page resumes by cursor when its
 * connection drops, and exposes its state as window.__iotbenchLive (the browser test reads it).
 */
export function livePage(farms: readonly string[]): string {
  const options = farms.map((f) => `<a href="?farm=${encodeURIComponent(f)}">${f}</a>`).join(' ')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>iotbench live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:18px;margin:0 0 4px}
#status{font-family:ui-monospace,monospace;margin:4px 0 12px;color:#444}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px}
.card h2{font-size:14px;margin:0 0 6px}
.plot{position:relative;height:240px}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{text-align:left;padding:2px 6px;border-bottom:1px solid #eee}
.bad{color:#b00020}
</style></head><body>
<h1>iotbench live — <span id="farm"></span></h1>
<div>farms: ${options}</div>
<div id="status">connecting…</div>
<div class="grid">
<div class="card"><h2>Bulk tank milk temperature (°C), sensor time</h2><div class="plot"><canvas id="tank"></canvas></div></div>
<div class="card"><h2>Collar neck temperature (°C): <span id="cow"></span></h2><div class="plot"><canvas id="collar"></canvas></div></div>
<div class="card"><h2>Milk yield per milking (kg), by stall</h2><div class="plot"><canvas id="milk"></canvas></div></div>
<div class="card"><h2>Alerts raised, by rule</h2><div class="plot"><canvas id="alerts"></canvas></div>
<table><thead><tr><th>device</th><th>rule</th><th>event</th><th>seq</th><th>value</th></tr></thead><tbody id="alert-rows"></tbody></table></div>
</div>
<script src="/chart.umd.min.js"></script>
<script>
(() => {
  const params = new URLSearchParams(location.search)
  const farms = ${JSON.stringify(farms)}
  const farm = farms.includes(params.get('farm')) ? params.get('farm') : farms[0]
  const MAX_POINTS = 600
  const state = { farm, connected: false, ended: false, position: 0, readings: 0, alerts: 0, reconnects: 0, lastLatencyMs: null, collarDevice: params.get('device'), last: {}, updates: 0, error: null }
  document.getElementById('farm').textContent = farm
  const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16)
  const lineChart = (id) => new Chart(document.getElementById(id), {
    type: 'line',
    data: { datasets: [] },
    options: { animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false,
      elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
      scales: { x: { type: 'linear', ticks: { callback: (v) => hhmm(v), maxTicksLimit: 8 } } },
      plugins: { legend: { labels: { boxWidth: 12 } } } },
  })
  const charts = { tank: lineChart('tank'), collar: lineChart('collar'), milk: lineChart('milk'),
    alerts: new Chart(document.getElementById('alerts'), { type: 'bar', data: { labels: [], datasets: [{ label: 'raised', data: [] }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } } } }) }
  const series = (chart, label) => {
    let ds = chart.data.datasets.find((d) => d.label === label)
    if (!ds) { ds = { label, data: [] }; chart.data.datasets.push(ds) }
    return ds
  }
  const push = (chart, label, x, y) => {
    const ds = series(chart, label)
    ds.data.push({ x, y })
    if (ds.data.length > MAX_POINTS) ds.data.splice(0, ds.data.length - MAX_POINTS)
  }
  const alertRows = []
  function onReading(e) {
    state.readings++
    state.last[e.device] = { seq: e.seq, ts: e.ts, values: e.values }
    state.lastLatencyMs = Date.now() - e.sent
    if (e.kind === 'chiller') push(charts.tank, e.device, e.ts, e.values.milk_temp_c)
    else if (e.kind === 'milk') { if (e.values.yield_kg > 0) push(charts.milk, e.device, e.ts, e.values.yield_kg) }
    else if (e.kind === 'collar') {
      if (!state.collarDevice) state.collarDevice = e.device
      if (e.device === state.collarDevice) push(charts.collar, e.device, e.ts, e.values.neck_temp_c)
    }
  }
  function onAlert(e) {
    state.alerts++
    alertRows.unshift(e)
    alertRows.length = Math.min(alertRows.length, 10)
    if (e.event !== 'raise') return
    const c = charts.alerts.data
    let i = c.labels.indexOf(e.rule)
    if (i < 0) { c.labels.push(e.rule); c.datasets[0].data.push(0); i = c.labels.length - 1 }
    c.datasets[0].data[i]++
  }
  let dirty = false
  function render() {
    if (!dirty) return
    dirty = false
    for (const ch of Object.values(charts)) ch.update('none')
    state.updates++
    document.getElementById('cow').textContent = state.collarDevice || ''
    const tb = document.getElementById('alert-rows')
    tb.replaceChildren(...alertRows.map((a) => {
      const tr = document.createElement('tr')
      for (const v of [a.device, a.rule, a.event, a.seq, Math.round(a.value * 100) / 100]) { const td = document.createElement('td'); td.textContent = String(v); tr.append(td) }
      return tr
    }))
    status()
  }
  function status(extra) {
    const s = document.getElementById('status')
    s.className = state.error ? 'bad' : ''
    s.textContent = (state.error ? state.error + ' — ' : '') + (state.ended ? 'run finished' : state.connected ? 'live' : 'disconnected') +
      ' · position ' + state.position + ' · readings ' + state.readings + ' · alerts ' + state.alerts +
      (state.lastLatencyMs === null ? '' : ' · sensor→page ' + Math.round(state.lastLatencyMs) + ' ms') +
      (state.reconnects ? ' · reconnects ' + state.reconnects : '') + (extra ? ' · ' + extra : '')
  }
  setInterval(render, 250)
  function connect(resume) {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/feed')
    ws.onopen = () => {
      state.connected = true
      ws.send(JSON.stringify({ type: 'subscribe', farms: [farm], ...(resume ? { cursors: { [farm]: state.position } } : {}) }))
      status()
    }
    ws.onmessage = (m) => {
      const f = JSON.parse(m.data)
      if (f.type === 'events') {
        for (let i = 0; i < f.events.length; i++) {
          const e = f.events[i]
          if (e.type === 'reading') onReading(e); else onAlert(e)
        }
        state.position = f.pos + f.events.length - 1
        dirty = true
      } else if (f.type === 'end') { state.ended = true; dirty = true }
    }
    ws.onclose = (ev) => {
      state.connected = false
      if (state.ended || ev.code === 1001) return status('feed closed')
      if (ev.code === 4001) { state.error = 'missed events: the feed no longer holds them (' + ev.reason + ')'; state.reconnects++; return setTimeout(() => connect(false), 1000) }
      state.reconnects++
      status('reconnecting')
      setTimeout(() => connect(true), 1000)
    }
  }
  window.__iotbenchLive = { state, charts }
  connect(false)
})()
</script></body></html>
`
}
