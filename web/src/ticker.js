// Live ticker demo: simulated prices that `duplex serve --demo` publishes into ticker.prices,
// read with the browser's own EventSource from the plain SSE endpoint /events (no SDK). Each
// publication is {"seq","time","prices":{SYMBOL: price}}; its SSE event is named after the
// channel and its id is the stream position, which EventSource sends back as Last-Event-ID
// when it reconnects, so the server replays what was missed. The page checks that on its own:
// `seq` must grow by exactly one (gaps and duplicates are counted and shown), and the server's
// ":gap" events (history could not cover a reconnect) are counted as gaps too.
//
// URL parameters: channel (default ticker.prices).
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const channel = params.get('channel') || 'ticker.prices';
const WINDOW = 240;  // points on the chart
const colors = ['#3056d3', '#11823b', '#b3261e', '#b26b00', '#7b3fb3', '#00838f', '#555'];

const stats = { seq: 0, received: 0, gaps: 0, dups: 0, opens: 0, lastId: '', seqs: [] };
window.duplexTicker = stats;  // for the tests
const series = new Map();     // symbol -> [price...]
let first = new Map();        // symbol -> first price seen (for the change column)

function setStatus(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls || ''}`;
}

function renderStats() {
  $('seq').textContent = stats.seq ? String(stats.seq) : '–';
  $('received').textContent = String(stats.received);
  $('gaps').textContent = String(stats.gaps);
  $('dups').textContent = String(stats.dups);
  $('reconnects').textContent = String(Math.max(0, stats.opens - 1));
  $('last-id').textContent = stats.lastId || '–';
  $('gaps').className = stats.gaps ? 'down' : '';
}

function onTick(ev) {
  let d;
  try {
    d = JSON.parse(ev.data);
  } catch {
    return;
  }
  if (!d || !Number.isInteger(d.seq) || !d.prices) return;
  stats.lastId = ev.lastEventId;
  if (stats.seq && d.seq === 1) {
    first = new Map();  // the server restarted: a new series
  } else if (stats.seq && d.seq <= stats.seq) {
    stats.dups += 1;
    renderStats();
    return;
  } else if (stats.seq && d.seq > stats.seq + 1) {
    stats.gaps += d.seq - stats.seq - 1;
  }
  stats.seq = d.seq;
  stats.received += 1;
  stats.seqs.push(d.seq);
  if (stats.seqs.length > 5000) stats.seqs.splice(0, 1000);
  for (const [sym, price] of Object.entries(d.prices)) {
    if (typeof price !== 'number') continue;
    if (!series.has(sym)) series.set(sym, []);
    const s = series.get(sym);
    s.push(price);
    if (s.length > WINDOW) s.shift();
    if (!first.has(sym)) first.set(sym, price);
  }
  renderStats();
  renderTable();
  scheduleDraw();
}

function renderTable() {
  const body = $('prices');
  body.replaceChildren();
  [...series.keys()].forEach((sym, i) => {
    const s = series.get(sym);
    const price = s[s.length - 1];
    const change = (price / first.get(sym) - 1) * 100;
    const tr = document.createElement('tr');
    const name = document.createElement('td');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = colors[i % colors.length];
    name.append(sw, sym);
    const p = document.createElement('td');
    p.textContent = price.toFixed(2);
    const c = document.createElement('td');
    c.textContent = `${change >= 0 ? '+' : ''}${change.toFixed(2)}%`;
    c.className = change >= 0 ? 'up' : 'down';
    tr.append(name, p, c);
    body.append(tr);
  });
}

// The chart: every symbol as % change from the left edge of the window, one shared scale.
let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    draw();
  });
}

function draw() {
  const canvas = $('chart');
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 1000;
  const h = canvas.clientHeight || 320;
  if (canvas.width !== Math.round(w * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  const pad = { l: 48, r: 10, t: 10, b: 20 };
  let lo = Infinity;
  let hi = -Infinity;
  const rel = [];
  for (const s of series.values()) {
    const r = s.map((v) => (v / s[0] - 1) * 100);
    for (const v of r) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    rel.push(r);
  }
  if (!rel.length) return;
  if (hi - lo < 0.5) {
    const mid = (hi + lo) / 2;
    lo = mid - 0.25;
    hi = mid + 0.25;
  }
  const x = (i) => pad.l + (i / (WINDOW - 1)) * (w - pad.l - pad.r);
  const y = (v) => pad.t + (1 - (v - lo) / (hi - lo)) * (h - pad.t - pad.b);
  g.strokeStyle = '#dde';
  g.fillStyle = '#667';
  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  for (let k = 0; k <= 4; ++k) {
    const v = lo + ((hi - lo) * k) / 4;
    g.beginPath();
    g.moveTo(pad.l, y(v));
    g.lineTo(w - pad.r, y(v));
    g.stroke();
    g.fillText(`${v >= 0 ? '+' : ''}${v.toFixed(2)}%`, 4, y(v) + 4);
  }
  rel.forEach((r, i) => {
    g.strokeStyle = colors[i % colors.length];
    g.lineWidth = 2;
    g.beginPath();
    const off = WINDOW - r.length;
    r.forEach((v, j) => (j ? g.lineTo(x(off + j), y(v)) : g.moveTo(x(off + j), y(v))));
    g.stroke();
  });
}

const es = new EventSource(`/events?channel=${encodeURIComponent(channel)}`);
es.addEventListener('open', () => {
  stats.opens += 1;
  setStatus(`streaming ${channel} over EventSource${stats.opens > 1 ? ' (resumed)' : ''}`, 'ok');
  renderStats();
});
es.addEventListener('error', () => {
  setStatus(es.readyState === EventSource.CLOSED ? 'stream closed' : 'reconnecting…', 'bad');
});
es.addEventListener(channel, onTick);
es.addEventListener(':gap', (ev) => {
  stats.gaps += 1;  // the server says publications were lost; seq shows how many when they resume
  $('hint').textContent = `server reported a gap: ${ev.data}`;
  renderStats();
});
es.addEventListener(':error', (ev) => setStatus(`stream error: ${ev.data}`, 'bad'));
setTimeout(() => {
  if (!stats.received) {
    $('hint').textContent = 'No prices yet: is the server running with --demo (scripts/serve.sh --demo)?';
  }
}, 3000);
renderStats();
