// The Centrifugo protocol's other transports against `duplex serve`, with real clients:
// - the `centrifuge` SDK forced onto HTTP-streaming and then SSE (bidirectional emulation: the
//   stream plus POST /emulation; `eventsource` npm as the SDK's EventSource): subscribe,
//   publish, receive, presence, history, pongs through /emulation, a server API publication,
//   and one client on each transport seeing the other's publication;
// - unidirectional SSE (`eventsource`), HTTP-streaming (fetch) and WebSocket (`ws`): the
//   connect push with the token's server-side subscription, publications as bare Push
//   objects, pings `{}` without a pong being required;
// - duplex_connections_by_transport in /metrics;
// - bad input: malformed connect in the query/body (400), unknown session on /emulation (404),
//   a bad first command (disconnect push 3501), a bad uni_websocket connect (3501);
// - stop: open streams get the disconnect push 3001 "shutdown" and the server exits fast.
//
//   node centrifuge_fallbacks.mjs DUPLEX
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bound, check, fail, importPeer, requireExecutable, startListening, withTimeout, hs256Token } from './support.mjs';

const { Centrifuge } = await importPeer('centrifuge');
const { WebSocket } = await importPeer('ws');
const { EventSource } = await importPeer('eventsource');
const done = bound(110000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const SECRET = 'fallback-secret';
const API_KEY = 'fallback-api-key';
const dir = mkdtempSync(join(tmpdir(), 'duplex-fallbacks-'));
const configFile = join(dir, 'duplex.toml');
writeFileSync(configFile, `
[auth]
allow_anonymous = true

[client]
allowed_origins = ["https://app.example"]
ping_interval = "2s"
pong_timeout = "1s"

[channel]
subscribe = "anonymous"
publish = "anonymous"
presence_read = "anonymous"
history_read = "anonymous"
history_size = 100
history_ttl = "300s"
presence = true
join_leave = true
`);

const server = await startListening([duplex, 'serve', '--config', configFile, '--port', '0',
  '--host', '127.0.0.1', '--threads', '2', '--token-secret', SECRET, '--api-key', API_KEY]);
const base = `http://127.0.0.1:${server.port}`;

// ---- helpers ----------------------------------------------------------------------------------

const token = (claims) => hs256Token(claims, SECRET);

async function api(method, params) {
  const res = await fetch(`${base}/api/${method}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Key': API_KEY },
    body: JSON.stringify(params),
  });
  return { status: res.status, body: await res.json() };
}

function once(emitter, event, ms = 8000) {
  return withTimeout(new Promise((resolve) => emitter.once(event, resolve)), ms, `event ${event}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, what, ms = 5000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function sdkClient(transport) {
  const endpoint = `${base}/connection/${transport}`;
  return new Centrifuge([{ transport, endpoint }], {
    emulationEndpoint: `${base}/emulation`,
    eventsource: EventSource,
    minReconnectDelay: 100, maxReconnectDelay: 500, timeout: 5000,
  });
}

async function metrics() {
  const text = await (await fetch(`${base}/metrics`)).text();
  return (series) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? NaN : Number(line.slice(series.length + 1));
  };
}

// A line-delimited JSON stream (uni_http_stream): collects messages until it ends.
function lineStream(res) {
  const messages = [];
  let ended = false;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const pump = (async () => {
    try {
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        buf += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() !== '') messages.push(JSON.parse(line));
        }
      }
    } catch { /* aborted */ }
    ended = true;
  })();
  return { messages, ended: () => ended, pump, cancel: () => reader.cancel().catch(() => {}) };
}

// ---- 1. the SDK over HTTP-streaming and over SSE ----------------------------------------------

const sdk = {};
for (const transport of ['http_stream', 'sse']) {
  const c = sdkClient(transport);
  const ctxP = once(c, 'connected');
  c.connect();
  const ctx = await ctxP;
  check(ctx.transport === transport, `${transport}: connected over ${ctx.transport}`);
  const sub = c.newSubscription('room');
  const got = [];
  sub.on('publication', (p) => got.push(p.data));
  const subscribed = once(sub, 'subscribed');
  sub.subscribe();
  const sctx = await subscribed;
  check(sctx.recoverable === true && typeof sctx.streamPosition?.epoch === 'string',
    `${transport}: subscribe ctx ${JSON.stringify(sctx)}`);
  await sub.publish({ from: transport });
  await until(() => got.some((d) => d.from === transport), `${transport}: own publication`);
  const presence = await sub.presence();
  check(Object.keys(presence.clients).includes(ctx.client), `${transport}: presence ${JSON.stringify(presence)}`);
  const hist = await sub.history({ limit: 10 });
  check(hist.publications.some((p) => p.data.from === transport), `${transport}: history ${JSON.stringify(hist)}`);
  const r = await api('publish', { channel: 'room', data: { api: transport } });
  check(r.status === 200, `api publish: ${JSON.stringify(r)}`);
  await until(() => got.some((d) => d.api === transport), `${transport}: server API publication`);
  sdk[transport] = { c, sub, got, client: ctx.client };
  console.log(`${transport}: connect, subscribe, publish, presence, history, API publication`);
}

// Across transports: the SSE client's publication reaches the HTTP-streaming client.
await sdk.sse.sub.publish({ cross: 1 });
await until(() => sdk.http_stream.got.some((d) => d.cross === 1), 'http_stream client: publication from the sse client');
// Pings every 2 s must be answered within 1 s (pong through /emulation) or the server
// disconnects with 3012: staying connected for 3.5 s proves the pongs arrive.
let dropped = null;
for (const t of ['http_stream', 'sse']) sdk[t].c.on('disconnected', (d) => { dropped = dropped || d; });
for (const t of ['http_stream', 'sse']) sdk[t].c.on('connecting', (d) => { dropped = dropped || d; });
await sleep(3500);
check(dropped === null, `emulation client dropped while pinged: ${JSON.stringify(dropped)}`);
check(sdk.http_stream.c.state === 'connected' && sdk.sse.c.state === 'connected', 'emulation clients still connected');
console.log('cross-transport delivery; pongs through /emulation keep both connected');

// ---- 2. unidirectional transports -------------------------------------------------------------

const uniToken = (user) => token({ sub: user, channels: ['news'] });

// uni_sse with the eventsource package.
const uniSse = { messages: [] };
{
  const url = new URL(`${base}/connection/uni_sse`);
  url.searchParams.append('cf_connect', JSON.stringify({ token: uniToken('u-sse') }));
  const es = new EventSource(url.toString());
  es.onmessage = (e) => uniSse.messages.push(JSON.parse(e.data));
  uniSse.es = es;
}
// uni_http_stream with fetch.
const uniHttpController = new AbortController();
const uniHttpRes = await fetch(`${base}/connection/uni_http_stream`, {
  method: 'POST', body: JSON.stringify({ token: uniToken('u-http') }), signal: uniHttpController.signal,
});
check(uniHttpRes.status === 200, `uni_http_stream status ${uniHttpRes.status}`);
const uniHttp = lineStream(uniHttpRes);
// uni_websocket with ws.
const uniWs = { messages: [] };
{
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/uni_websocket`);
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  ws.on('message', (data) => uniWs.messages.push(JSON.parse(data.toString())));
  uniWs.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.send(JSON.stringify({ token: uniToken('u-ws') }));
  uniWs.ws = ws;
}
const unis = { uni_sse: uniSse.messages, uni_http_stream: uniHttp.messages, uni_websocket: uniWs.messages };
for (const [name, msgs] of Object.entries(unis)) {
  await until(() => msgs.length > 0, `${name}: connect push`);
  const first = msgs[0];
  check(first.connect && typeof first.connect.client === 'string' && first.connect.subs && 'news' in first.connect.subs,
    `${name}: first message ${JSON.stringify(first)}`);
  check(!first.connect.pong, `${name}: connect push asks for pongs ${JSON.stringify(first)}`);
}
const m = await metrics();
for (const t of ['http_stream', 'sse', 'uni_sse', 'uni_http_stream', 'uni_websocket']) {
  check(m(`duplex_connections_by_transport{transport="${t}"}`) >= 1,
    `metrics: duplex_connections_by_transport{transport="${t}"} = ${m(`duplex_connections_by_transport{transport="${t}"}`)}`);
}
check(m('duplex_connections_by_transport{transport="websocket"}') === 0, 'metrics: websocket connections counted');
for (let i = 1; i <= 3; i++) {
  const r = await api('publish', { channel: 'news', data: { n: i } });
  check(r.status === 200, `api publish news: ${JSON.stringify(r)}`);
}
for (const [name, msgs] of Object.entries(unis)) {
  await until(() => msgs.filter((x) => x.pub).length >= 3, `${name}: 3 publications`);
  const pubs = msgs.filter((x) => x.pub);
  check(pubs.every((x) => x.channel === 'news') && pubs.map((x) => x.pub.data.n).join() === '1,2,3',
    `${name}: publications ${JSON.stringify(pubs)}`);
  check(!msgs.some((x) => x.push), `${name}: a wrapped push reached a unidirectional client`);
}
// Pings: {} every 2 s, no pong possible (pong_timeout is 1 s), and still connected 3 s later.
await sleep(3000);
for (const [name, msgs] of Object.entries(unis)) {
  check(msgs.some((x) => Object.keys(x).length === 0), `${name}: no ping {} received`);
  check(!msgs.some((x) => x.disconnect), `${name}: disconnected ${JSON.stringify(msgs.find((x) => x.disconnect))}`);
}
console.log('uni_sse, uni_http_stream, uni_websocket: connect push, publications, pings; metrics by transport');

// ---- 2b. CORS: browsers on another origin (centrifuge-js POSTs JSON, so it asks first) ---------

{
  const ask = (path, origin, method) => fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method,
      'Access-Control-Request-Headers': 'content-type' },
  });
  for (const [path, method] of [['/emulation', 'POST'], ['/connection/http_stream', 'POST'],
    ['/connection/uni_http_stream', 'POST'], ['/connection/sse', 'GET'], ['/events', 'GET']]) {
    const r = await ask(path, 'https://app.example', method);
    check(r.status === 204, `preflight ${path}: ${r.status}`);
    check(r.headers.get('access-control-allow-origin') === 'https://app.example',
      `preflight ${path}: allow-origin ${r.headers.get('access-control-allow-origin')}`);
    check((r.headers.get('access-control-allow-methods') || '').includes(method),
      `preflight ${path}: allow-methods ${r.headers.get('access-control-allow-methods')}`);
    check(r.headers.get('access-control-allow-headers') === 'content-type',
      `preflight ${path}: allow-headers ${r.headers.get('access-control-allow-headers')}`);
    const refused = await ask(path, 'https://evil.example', method);
    check(refused.status === 403 && !refused.headers.get('access-control-allow-origin'),
      `preflight ${path} from a refused origin: ${refused.status}`);
  }
  // The requests themselves: an allowed origin's stream carries the fields; others are refused.
  const ac = new AbortController();
  const ok = await fetch(`${base}/connection/http_stream`, {
    method: 'POST', signal: ac.signal, body: JSON.stringify({ id: 1, connect: {} }) + '\n',
    headers: { Origin: 'https://app.example', 'Content-Type': 'application/json' },
  });
  check(ok.status === 200 && ok.headers.get('access-control-allow-origin') === 'https://app.example',
    `http_stream from an allowed origin: ${ok.status} ${ok.headers.get('access-control-allow-origin')}`);
  ac.abort();
  await ok.body?.cancel().catch(() => {});
  for (const path of ['/connection/http_stream', '/emulation']) {
    const r = await fetch(`${base}${path}`, {
      method: 'POST', body: '{}', headers: { Origin: 'https://evil.example', 'Content-Type': 'application/json' },
    });
    check(r.status === 403, `${path} from a refused origin: ${r.status}`);
  }
  const em = await fetch(`${base}/emulation`, {
    method: 'POST', body: JSON.stringify({ session: 'nope.0', data: '{}' }),
    headers: { Origin: 'https://app.example', 'Content-Type': 'application/json' },
  });
  check(em.status === 404 && em.headers.get('access-control-allow-origin') === 'https://app.example',
    `emulation to an unknown session from an allowed origin: ${em.status} ${em.headers.get('access-control-allow-origin')}`);
  console.log('cors: preflights for the five browser paths, allowed origin echoed, refused origin 403');
}

// ---- 3. bad input -----------------------------------------------------------------------------

{
  const post = (path, body, headers = { 'Content-Type': 'application/json' }) =>
    fetch(`${base}${path}`, { method: 'POST', body, headers });
  let r = await post('/connection/http_stream', 'not json');
  check(r.status === 400, `http_stream with a malformed connect: ${r.status}`);
  r = await fetch(`${base}/connection/sse`);
  check(r.status === 400, `sse without cf_connect: ${r.status}`);
  r = await fetch(`${base}/connection/sse?cf_connect=${encodeURIComponent('{"id":1,')}`);
  check(r.status === 400, `sse with a malformed cf_connect: ${r.status}`);
  r = await fetch(`${base}/connection/uni_sse?cf_connect=${encodeURIComponent('[1]')}`);
  check(r.status === 400, `uni_sse with a non-object cf_connect: ${r.status}`);
  r = await fetch(`${base}/connection/uni_sse?cf_connect=%7B%zz`);
  check(r.status === 400, `uni_sse with a bad escape: ${r.status}`);
  r = await post('/connection/uni_http_stream', '{"token":');
  check(r.status === 400, `uni_http_stream with a malformed connect: ${r.status}`);
  r = await post('/connection/uni_http_stream', 'x'.repeat(70000));
  check(r.status === 413, `uni_http_stream with a huge connect: ${r.status}`);
  r = await post('/emulation', JSON.stringify({ session: 'feedbeef.0', data: '{"id":2,"ping":{}}' }));
  check(r.status === 404, `emulation for an unknown session: ${r.status}`);
  r = await post('/emulation', JSON.stringify({ session: 'nope', data: '{}' }));
  check(r.status === 404, `emulation for a session id without a shard: ${r.status}`);
  r = await post('/emulation', '{"session":');
  check(r.status === 400, `emulation with a malformed body: ${r.status}`);
  r = await post('/emulation', JSON.stringify({ session: 's.0', data: { id: 1 } }));
  check(r.status === 400, `emulation with data not a string: ${r.status}`);
  // Well-formed JSON, but not a connect first: the stream carries the disconnect push 3501.
  r = await post('/connection/http_stream', '{"id":1,"publish":{"channel":"a","data":{}}}');
  check(r.status === 200, `http_stream with a command before connect: ${r.status}`);
  const text = await r.text();
  const lines = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  check(lines.length === 1 && lines[0].push?.disconnect?.code === 3501,
    `http_stream with a command before connect got ${JSON.stringify(lines)}`);
  // uni_websocket: a first message that is not a ConnectRequest object.
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/connection/uni_websocket`);
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  const msgs = [];
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.send('[1,2]');
  const code = await withTimeout(closed, 5000, 'uni_websocket close');
  check(code === 3501 && msgs[0]?.disconnect?.code === 3501,
    `uni_websocket with a bad connect: close ${code}, messages ${JSON.stringify(msgs)}`);
  // Other clients are unaffected.
  await api('publish', { channel: 'news', data: { n: 4 } });
  await until(() => uniHttp.messages.some((x) => x.pub?.data.n === 4), 'uni_http_stream after bad input');
  console.log('bad input: 400/413 for malformed connects, 404 unknown session, 3501 pushes');
}

// ---- 4. stop: every stream gets 3001 "shutdown", the server exits quickly ----------------------

{
  const disconnects = {};
  for (const t of ['http_stream', 'sse']) {
    sdk[t].c.removeAllListeners('connecting');
    sdk[t].c.removeAllListeners('disconnected');
    disconnects[t] = once(sdk[t].c, 'connecting', 10000);
  }
  const t0 = Date.now();
  const exitP = server.stop('SIGTERM');
  for (const t of ['http_stream', 'sse']) {
    const d = await disconnects[t];
    check(d.code === 3001 && d.reason === 'shutdown', `${t}: on stop ${JSON.stringify(d)}`);
  }
  await withTimeout(uniHttp.pump, 5000, 'uni_http_stream end');
  const last = uniHttp.messages[uniHttp.messages.length - 1];
  check(last.disconnect?.code === 3001 && last.disconnect.reason === 'shutdown', `uni_http_stream last message ${JSON.stringify(last)}`);
  await until(() => uniSse.messages.some((x) => x.disconnect?.code === 3001), 'uni_sse disconnect push');
  const wsClose = await withTimeout(uniWs.closed, 5000, 'uni_websocket close');
  check(wsClose.code === 3001 && uniWs.messages.some((x) => x.disconnect?.code === 3001),
    `uni_websocket on stop: ${JSON.stringify(wsClose)}`);
  for (const t of ['http_stream', 'sse']) sdk[t].c.disconnect();
  uniSse.es.close();
  const exit = await exitP;
  const took = Date.now() - t0;
  check(exit === 0, `duplex exited with ${exit}`);
  check(took < 5000, `stop took ${took} ms with streams open`);
  console.log(`stop: 3001 on every transport, exit 0 in ${took} ms`);
}
rmSync(dir, { recursive: true, force: true });
done();
