import { chartLibrary } from './chart-library.js'
import { ratesOf } from './markdown.js'
import { achievedLine, serverText, verdictLabel, type RunResult } from './result.js'
import { hostLine } from '../metrics/host.js'
import { propertyStatus } from '../verify/status.js'

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)
/** JSON safe inside <script>: no "</script", no HTML comment openers, no line separators. */
const jsonForScript = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')

/** What the page's script plots; computed here so the page itself stays small and dumb. */
export function plotData(r: RunResult): Record<string, unknown> {
  const points = r.timeline?.points ?? []
  const withLatency = points.filter((p) => p.latencyCount > 0)
  const load = points.filter((p) => p.phase === 'load')
  return {
    throughput: (['offered', 'sent', 'acked', 'ingested'] as const).map((f) => ({
      label: `${f}/s`,
      data: ratesOf(points, f).map((x) => ({ x: x.t, y: x.perS })),
    })),
    latencyOverTime: (['p50Ms', 'p90Ms', 'p99Ms', 'maxMs'] as const).map((f) => ({
      label: f.replace('Ms', ''),
      data: withLatency.map((p) => ({ x: p.t, y: p[f] })),
    })),
    distribution: (['endToEnd', 'brokerHop'] as const).map((k) => ({
      label: k === 'endToEnd' ? 'end to end' : 'broker hop',
      // x: "nines" of the percentile, -log10(1 - p): 1 = p90, 2 = p99, 3 = p99.9; the maximum is drawn at 6.
      data: (r.latencyDistribution?.[k] ?? []).map((d) => ({
        x: d.percentile >= 100 ? 6 : Math.min(6, -Math.log10(1 - d.percentile / 100)),
        y: d.ms,
        p: d.percentile,
      })),
    })),
    kinds: Object.entries(r.countsByKind ?? {}).map(([kind, k]) => ({
      kind,
      published: k.published,
      acked: k.acked,
      ingested: k.ingested,
      missing: Math.max(0, k.published - k.ingested),
      deadLetters: k.deadLetters,
    })),
    events: (r.timeline?.events ?? []).map((e) => ({ t: e.t, type: e.type, name: e.name, count: e.count, seconds: e.seconds ?? 0 })),
    // Fault windows, shaded on the throughput and latency plots.
    faults: (r.faults?.schedule ?? []).map((f) => ({ label: f.label, from: f.startS, to: f.endS })),
    loadWindow: load.length
      ? [Math.max(0, load[0].t - 1), load[load.length - 1].t]
      : points.length
        ? [0, points[points.length - 1].t]
        : [0, r.rates.loadSeconds],
  }
}

const PAGE_SCRIPT = `
'use strict';
(function () {
  var data = JSON.parse(document.getElementById('plot-data').textContent);
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  var state = { charts: [], drawn: 0, empty: [] };
  window.__iotbench = state;
  Chart.defaults.animation = false;
  Chart.defaults.responsive = false;
  Chart.defaults.font.size = 12;
  var faultWindows = { id: 'faultWindows', beforeDatasetsDraw: function (chart) {
    if (chart.canvas.id !== 'throughput' && chart.canvas.id !== 'latency-time') return;
    var x = chart.scales.x, a = chart.chartArea, g = chart.ctx;
    data.faults.forEach(function (f) {
      if (f.to < x.min || f.from > x.max) return;
      var l = Math.max(a.left, x.getPixelForValue(f.from)), r = Math.min(a.right, Math.max(l + 2, x.getPixelForValue(f.to)));
      g.save(); g.fillStyle = 'rgba(214, 39, 40, 0.12)'; g.fillRect(l, a.top, r - l, a.bottom - a.top);
      g.fillStyle = '#a11'; g.font = '11px sans-serif'; g.fillText(f.label, l + 2, a.top + 11); g.restore();
    });
  } };
  Chart.register(faultWindows);
  function lines(sets) {
    return sets.map(function (s, i) { return { label: s.label, data: s.data, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], pointRadius: 0, borderWidth: 2, tension: 0 }; });
  }
  function draw(id, config, hasData) {
    var canvas = document.getElementById(id);
    if (!hasData) { state.empty.push(id); canvas.insertAdjacentHTML('afterend', '<p class="nodata">No data for this plot in this result.</p>'); }
    state.charts.push(new Chart(canvas, config));
    state.drawn++;
  }
  function axis(title, extra) { var a = { title: { display: true, text: title } }; for (var k in extra) a[k] = extra[k]; return a; }
  var any = function (sets) { return sets.some(function (s) { return s.data.length > 0; }); };

  draw('throughput', { type: 'line', data: { datasets: lines(data.throughput) },
    options: { parsing: false, scales: { x: axis('seconds since load start', { type: 'linear' }), y: axis('readings / s', { beginAtZero: true }) } } }, any(data.throughput));

  draw('latency-time', { type: 'line', data: { datasets: lines(data.latencyOverTime) },
    options: { parsing: false, scales: { x: axis('seconds since load start', { type: 'linear' }), y: axis('end-to-end latency (ms)', { beginAtZero: true }) } } }, any(data.latencyOverTime));

  var nines = { 0: 'p0', 1: 'p90', 2: 'p99', 3: 'p99.9', 4: 'p99.99', 5: 'p99.999', 6: 'max' };
  draw('latency-distribution', { type: 'line', data: { datasets: lines(data.distribution).map(function (d) { d.pointRadius = 3; return d; }) },
    options: { parsing: false, scales: {
      x: axis('percentile', { type: 'linear', min: 0, max: 6, ticks: { stepSize: 1, callback: function (v) { return nines[v] || ''; } } }),
      y: axis('latency (ms)', { type: 'logarithmic' }) },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ' p' + c.raw.p + ': ' + c.raw.y + ' ms'; } } } } } }, any(data.distribution));

  var kinds = data.kinds.map(function (k) { return k.kind; });
  var bars = ['published', 'acked', 'ingested', 'missing', 'deadLetters'].map(function (f, i) {
    return { label: f === 'missing' ? 'missing (published − ingested)' : f === 'deadLetters' ? 'dead letters' : f, data: data.kinds.map(function (k) { return k[f]; }), backgroundColor: palette[i] };
  });
  draw('loss', { type: 'bar', data: { labels: kinds, datasets: bars },
    options: { scales: { x: axis('sensor kind', {}), y: axis('readings', { beginAtZero: true }) } } }, kinds.length > 0);

  var rows = ['load', 'spike', 'outage', 'fault', 'alert', 'dead-letter', 'db-retry'];
  var sets = [{ label: 'load phase', data: [{ x: data.loadWindow[0], y: 'load' }, { x: data.loadWindow[1], y: 'load' }], showLine: true, borderColor: '#999', backgroundColor: '#999', borderWidth: 6, pointRadius: 0 }];
  data.events.forEach(function (e) {
    if (e.seconds > 0) sets.push({ label: e.type + ': ' + e.name, data: [{ x: e.t, y: e.type, n: e.count, what: e.name }, { x: e.t + e.seconds, y: e.type, n: e.count, what: e.name }], showLine: true, borderColor: palette[rows.indexOf(e.type) % palette.length], borderWidth: 6, pointRadius: 0 });
  });
  rows.slice(4).forEach(function (type, i) {
    var pts = data.events.filter(function (e) { return e.type === type; }).map(function (e) { return { x: e.t, y: type, n: e.count, what: e.name }; });
    if (pts.length) sets.push({ label: type, data: pts, backgroundColor: palette[(i + 3) % palette.length], pointRadius: 5 });
  });
  draw('events', { type: 'scatter', data: { datasets: sets },
    options: { scales: { x: axis('seconds since load start', { type: 'linear', min: 0 }), y: { type: 'category', labels: rows, offset: true } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { return c.raw.y + (c.raw.what ? ': ' + c.raw.what + ' × ' + c.raw.n : '') + ' at ' + c.raw.x + ' s'; } } } } } }, true);
})();
`

/** bench-results/<run>/report.html: one file, no network: the data, the chart library and the page inline. */
export function renderHtml(r: RunResult): string {
  const lib = chartLibrary()
  const e = r.latency.endToEnd
  const props = r.properties
    .map(
      (p) =>
        `<tr class="${{ ok: 'ok', FAIL: 'fail', 'N/A': 'na' }[propertyStatus(p)]}"><td>${propertyStatus(p)}</td><td>${esc(p.id)}</td><td>${esc(p.name)}</td><td>${esc(p.summary)}</td></tr>`,
    )
    .join('\n')
  const plot = (id: string, title: string, note: string): string =>
    `<section><h2>${esc(title)}</h2><p class="note">${esc(note)}</p><canvas id="${id}" width="960" height="320" role="img" aria-label="${esc(title)}"></canvas></section>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>iotbench ${esc(r.runId)} — ${verdictLabel(r.verdict)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #222; }
h1 .pass { color: #1a7f37; } h1 .fail { color: #cf222e; } h1 .interrupted { color: #9a6700; }
table { border-collapse: collapse; margin: 8px 0 16px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
tr.fail td { background: #ffebe9; } tr.na td { color: #666; } .note, .nodata { color: #666; margin: 2px 0 6px; } section { margin-bottom: 28px; }
</style>
</head>
<body>
<h1>iotbench ${esc(r.runId)} — <span class="${r.verdict}">${verdictLabel(r.verdict)}</span></h1>
${
  r.interrupted
    ? `<p><strong>Interrupted.</strong> ${esc(r.interrupted)}.</p>
`
    : ''
}${
    r.timingOnSaturatedHost
      ? `<p><strong>Timing only, on a saturated host.</strong> ${esc(r.timingOnSaturatedHost)}.</p>
`
      : ''
  }${
    r.host
      ? `<p>Host: ${esc(hostLine(r.host, r.latency.scheduleLag.p99Ms))}.</p>
`
      : ''
  }<p>Profile <code>${esc(r.profile)}</code>, seed ${r.seed}, ${esc(r.startedAt)} → ${esc(r.finishedAt)}.<br>
Broker ${esc(r.environment.broker)}; database ${esc(r.environment.database)} [${esc(r.environment.storage)}; ${esc(serverText(r.environment))}].<br>
${r.counts.devices} devices × ${r.counts.perDevice} readings: offered ${r.counts.offered}, published ${r.counts.published}, acked ${r.counts.acked}, ingested ${r.counts.ingested}, dead letters ${r.counts.deadLetters}.
${esc(achievedLine(r.rates))}. End to end: p50 ${e.p50Ms} ms, p99 ${e.p99Ms} ms, max ${e.maxMs} ms.</p>
<table><thead><tr><th></th><th>id</th><th>property</th><th>summary</th></tr></thead><tbody>
${props}
</tbody></table>
${plot('throughput', 'Throughput over time', 'Readings per second at each hop: offered by the schedule, sent by the sensors, acknowledged by the broker, committed by the ingest.')}
${plot('latency-time', 'Latency percentiles over time', 'End to end (intended send → commit) of the readings committed in each second; per-second HdrHistograms of every ingest thread, merged.')}
${plot('latency-distribution', 'Latency distribution', 'Percentile spectrum of the whole run (merged HdrHistograms); the x axis counts nines.')}
${plot('loss', 'Loss per kind', 'Per sensor kind: published, acknowledged, ingested; missing = published − ingested (unacknowledged at QoS 0/1 or lost); dead letters.')}
${plot('events', 'Alerts and faults', 'Load phase, load spikes, fleet outages and injected faults (windows; faults are also shaded on the throughput and latency plots), alerts raised, dead letters and database retries, per second.')}
<p class="note">Charts: Chart.js ${esc(lib.version)} (MIT), inlined. Data: result.json.</p>
<script id="plot-data" type="application/json">${jsonForScript(plotData(r))}</script>
<script>${lib.source}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`
}
