// /events (Server-Sent Events) and /ws (raw WebSocket) of `duplex serve`, with real peers: the
// `eventsource` npm package (EventSource as browsers implement it), Node `ws`, the `centrifuge`
// SDK and the server API. Checks: publications arrive as events named after their channel with
// positions as ids; an EventSource whose stream is cut (TCP proxy) reconnects with
// Last-Event-ID and gets exactly the publications it missed, in order, on two channels at once;
// a resume beyond history gets a :gap event, then the tail, then live data; heartbeat comments
// come at the configured interval; a raw ws client's text frames (JSON or not) reach an SSE
// client, a Centrifugo client and another raw ws client; an API publication reaches all of
// them; bad requests get 4xx (SSE) or 44xx close codes (ws); CORS; a server stop ends streams.
//
//   node events_and_ws.mjs DUPLEX
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bound, check, fail, importPeer, requireExecutable, startListening, withTimeout, hs256Token, cuttableProxy } from './support.mjs';

const { EventSource } = await importPeer('eventsource');
const { WebSocket } = await importPeer('ws');
const { Centrifuge } = await importPeer('centrifuge');
const done = bound(150000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const SECRET = 'events-secret';
const API_KEY = 'events-api-key';
const dir = mkdtempSync(join(tmpdir(), 'duplex-events-'));
const configFile = join(dir, 'duplex.toml');
// ping_interval is also the SSE heartbeat interval.
writeFileSync(configFile, `
[client]
ping_interval = "1s"
pong_timeout = "500ms"
max_output_bytes = "256KiB"

[channel]
subscribe = "anonymous"
publish = "anonymous"
history_read = "anonymous"
history_size = 1000
history_ttl = "300s"

[[channel.namespace]]
name = "small"
subscribe = "anonymous"
publish = "anonymous"
history_size = 3
history_ttl = "300s"

[[channel.namespace]]
name = "members"

[[channel.namespace]]
name = "lossy"
subscribe = "anonymous"
history_size = 10
history_ttl = "300s"
slow_consumer = "drop"

[[channel.namespace]]
name = "strict"
subscribe = "anonymous"
slow_consumer = "disconnect"

[[channel.namespace]]
name = "readonly"
subscribe = "anonymous"
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
  const body = await res.json();
  if (res.status !== 200 || body.error) fail(`api ${method}: ${res.status} ${JSON.stringify(body)}`);
  return body.result;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(cond, what, ms = 8000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// Waits until `channel` has `n` subscribers on the node (subscriptions in flight count: they
// already receive what is published).
async function subscribers(channel, n) {
  await until(async () => {
    const r = await api('channels', {});
    return (r.channels[channel]?.num_clients ?? 0) >= n;
  }, `${n} subscribers of ${channel}`);
}

// An EventSource that records every event of the given types in arrival order.
function sse(url, types) {
  const es = new EventSource(url);
  const events = [];
  for (const t of types) {
    es.addEventListener(t, (e) => events.push({ type: t, data: e.data, id: e.lastEventId }));
  }
  let opens = 0;
  es.addEventListener('open', () => { opens += 1; });
  return { es, events, opens: () => opens, of: (t) => events.filter((e) => e.type === t) };
}

// A raw /ws client that records text frames and its close.
function rawWs(query) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?${query}`);
  const frames = [];
  let closed = null;
  const closedP = new Promise((resolve) => ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    resolve(closed);
  }));
  ws.on('message', (data, isBinary) => { if (!isBinary) frames.push(data.toString()); });
  ws.on('error', () => {});
  const opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  return { ws, frames, opened, closed: (ms = 5000) => withTimeout(closedP, ms, 'ws close'), isClosed: () => closed };
}

// GET with raw access to the status, headers and first bytes of the body (for 4xx and
// heartbeats, which EventSource hides).
function rawGet(path, headers = {}, readMs = 0) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      const finish = () => resolve({ status: res.statusCode, headers: res.headers, body });
      if (readMs > 0) setTimeout(() => { req.destroy(); finish(); }, readMs);
      else res.on('end', finish);
    });
    req.on('error', (e) => { if (readMs === 0) reject(e); });
    req.end();
  });
}

const proxy = cuttableProxy;

// ---- 1. publications arrive as events named after the channel, ids are positions ------------

{
  const c = sse(`${base}/events?channel=feed`, ['feed', ':subscribed']);
  await until(() => c.of(':subscribed').length === 1, ':subscribed on feed');
  const sub = JSON.parse(c.of(':subscribed')[0].data);
  check(sub.channel === 'feed' && sub.offset === 0 && typeof sub.epoch === 'string', `:subscribed ${JSON.stringify(sub)}`);
  check(c.of(':subscribed')[0].id === `0:${sub.epoch}`, `:subscribed id ${c.of(':subscribed')[0].id}`);
  for (let i = 1; i <= 3; i++) await api('publish', { channel: 'feed', data: { n: i, text: 'line1\nline2' } });
  await until(() => c.of('feed').length === 3, '3 feed events');
  c.of('feed').forEach((e, i) => {
    const d = JSON.parse(e.data);
    check(d.n === i + 1 && d.text === 'line1\nline2', `feed event ${i}: ${e.data}`);
    check(e.id === `${i + 1}:${sub.epoch}`, `feed event ${i} id ${e.id}`);
  });
  c.es.close();
  console.log('sse: events named after the channel, JSON data, ids <offset>:<epoch>');
}

// ---- 2. resume after the stream is cut: missed publications of two channels, in order --------

{
  const px = await proxy(server.port);
  const c = sse(`http://127.0.0.1:${px.port}/events?channel=r1&channel=r2`, ['r1', 'r2', ':subscribed', ':gap']);
  await until(() => c.of(':subscribed').length === 2, 'two :subscribed');
  await api('publish', { channel: 'r1', data: { n: 1 } });
  await api('publish', { channel: 'r2', data: { n: 1 } });
  await until(() => c.of('r1').length === 1 && c.of('r2').length === 1, 'first r1/r2 events');
  const idBefore = c.events[c.events.length - 1].id;
  check(/^1:\w+,1:\w+$/.test(idBefore), `two-channel id ${idBefore}`);

  px.cut();
  for (let i = 2; i <= 6; i++) await api('publish', { channel: 'r1', data: { n: i } });
  for (let i = 2; i <= 3; i++) await api('publish', { channel: 'r2', data: { n: i } });
  px.restore();
  await until(() => c.of('r1').length >= 6 && c.of('r2').length >= 3, 'recovered r1/r2 events', 15000);
  await api('publish', { channel: 'r1', data: { n: 7 } });  // live again after the replay
  await until(() => c.of('r1').length >= 7, 'live r1 event after resume');
  const r1 = c.of('r1').map((e) => JSON.parse(e.data).n);
  const r2 = c.of('r2').map((e) => JSON.parse(e.data).n);
  check(JSON.stringify(r1) === '[1,2,3,4,5,6,7]', `r1 after resume: ${r1}`);
  check(JSON.stringify(r2) === '[1,2,3]', `r2 after resume: ${r2}`);
  check(c.of(':gap').length === 0, `unexpected gap ${JSON.stringify(c.of(':gap'))}`);
  const resumed = c.of(':subscribed').slice(2).map((e) => JSON.parse(e.data));
  check(resumed.length === 2 && resumed.every((s) => s.recovered === true), `resumed :subscribed ${JSON.stringify(resumed)}`);
  check(c.opens() === 2, `EventSource opened ${c.opens()} times`);
  c.es.close();
  px.close();
  console.log('sse: Last-Event-ID resume of two channels, missed publications in order, no duplicates');
}

// ---- 3. resume beyond history: :gap, then what history still holds, then live -----------------

{
  const px = await proxy(server.port);
  const c = sse(`http://127.0.0.1:${px.port}/events?channel=small:x`, ['small:x', ':subscribed', ':gap']);
  await until(() => c.of(':subscribed').length === 1, ':subscribed small:x');
  await api('publish', { channel: 'small:x', data: { n: 1 } });
  await until(() => c.of('small:x').length === 1, 'first small:x event');
  px.cut();
  for (let i = 2; i <= 10; i++) await api('publish', { channel: 'small:x', data: { n: i } });
  px.restore();
  await until(() => c.of(':gap').length === 1 && c.of('small:x').length >= 4, 'gap and tail', 15000);
  await api('publish', { channel: 'small:x', data: { n: 11 } });
  await until(() => c.of('small:x').length >= 5, 'live small:x after gap');
  const gap = JSON.parse(c.of(':gap')[0].data);
  check(gap.channel === 'small:x' && gap.reason === 'history_exhausted', `gap ${JSON.stringify(gap)}`);
  const order = c.events.filter((e) => e.type !== ':subscribed').map((e) => (e.type === ':gap' ? 'gap' : JSON.parse(e.data).n));
  check(JSON.stringify(order) === '[1,"gap",8,9,10,11]', `events around the gap: ${JSON.stringify(order)}`);
  c.es.close();
  px.close();
  console.log('sse: resume beyond history -> :gap, tail 8..10, then live 11');
}

// ---- 4. heartbeat comments, proxy headers, CORS -----------------------------------------------

{
  const r = await rawGet('/events?channel=hb', { Origin: 'https://app.example' }, 3500);
  check(r.status === 200, `heartbeat stream status ${r.status}`);
  check(r.headers['content-type'].startsWith('text/event-stream'), `content-type ${r.headers['content-type']}`);
  check(r.headers['x-accel-buffering'] === 'no' && /no-cache/.test(r.headers['cache-control']), 'proxy headers');
  check(r.headers['access-control-allow-origin'] === 'https://app.example', `CORS ${r.headers['access-control-allow-origin']}`);
  const beats = r.body.split('\n').filter((l) => l === ':').length;
  check(beats >= 2, `heartbeats in 3.5 s with a 1 s interval: ${beats} (${JSON.stringify(r.body)})`);
  console.log(`sse: ${beats} heartbeat comments in 3.5 s, no-buffering headers, CORS origin echoed`);
}

// ---- 5. one publication, every protocol: raw ws -> SSE + Centrifugo + raw ws; API -> all -------

{
  const sseC = sse(`${base}/events?channel=room`, ['room', ':subscribed']);
  const cent = new Centrifuge(`ws://127.0.0.1:${server.port}/connection/websocket`, { websocket: WebSocket });
  const centGot = [];
  const sub = cent.newSubscription('room');
  sub.on('publication', (ctx) => centGot.push(ctx.data));
  sub.subscribe();
  cent.connect();
  const a = rawWs('channel=room');
  const b = rawWs('channel=room&channel=other');
  await a.opened; await b.opened;
  await until(() => sseC.of(':subscribed').length === 1, 'sse :subscribed room');
  await subscribers('room', 4);

  a.ws.send('{"msg":"hi"}');
  a.ws.send('plain "text"');
  await until(() => b.frames.length === 2, 'the raw publications on ws b');  // then the API's
  await api('publish', { channel: 'room', data: { from: 'api' } });
  const want = [{ msg: 'hi' }, 'plain "text"', { from: 'api' }];
  const same = (got) => JSON.stringify(got) === JSON.stringify(want);
  await until(() => sseC.of('room').length === 3 && centGot.length === 3 && a.frames.length === 3 && b.frames.length === 3,
    'three publications on every client');
  check(same(sseC.of('room').map((e) => JSON.parse(e.data))), `sse got ${JSON.stringify(sseC.of('room'))}`);
  check(same(centGot), `centrifuge got ${JSON.stringify(centGot)}`);
  check(same(b.frames.map((f) => JSON.parse(f))), `raw ws b got ${JSON.stringify(b.frames)}`);
  check(same(a.frames.map((f) => JSON.parse(f))), `raw ws a (publisher) got ${JSON.stringify(a.frames)}`);

  // A Centrifugo client publication reaches the raw clients and the SSE stream too.
  await sub.publish({ from: 'centrifuge' });
  await until(() => b.frames.length === 4 && sseC.of('room').length === 4, 'centrifuge publication on ws and sse');
  check(JSON.parse(b.frames[3]).from === 'centrifuge', `ws b frame ${b.frames[3]}`);

  // Publishing where the namespace forbids it closes with 1008.
  const ro = rawWs('channel=readonly:x');
  await ro.opened;
  ro.ws.send('{"x":1}');
  const roClose = await ro.closed();
  check(roClose.code === 1008, `publish to readonly: close ${JSON.stringify(roClose)}`);

  cent.disconnect();
  a.ws.close(); b.ws.close();
  await a.closed(); await b.closed();
  sseC.es.close();
  console.log('cross-protocol: raw ws -> sse + centrifuge + ws; api and centrifuge -> all; readonly publish -> 1008');
}

// ---- 6. bad requests ---------------------------------------------------------------------------

{
  const cases = [
    ['/events', 400, /no channel/],
    ['/events?channel=bad%20name', 400, /bad channel name/],
    ['/events?channel=a&channel=a', 400, /duplicate channel/],
    ['/events?channel=%zz', 400, /percent-encoding/],
    ['/events?channel=nope:x', 404, /unknown namespace/],
    ['/events?channel=members:x', 403, /permission denied/],
    ['/events?channel=a&token=garbage', 401, /invalid token/],
    [`/events?channel=a&token=${token({ sub: 'ann', exp: Math.floor(Date.now() / 1000) - 10 })}`, 401, /expired/],
  ];
  for (const [path, status, re] of cases) {
    const r = await rawGet(path);
    check(r.status === status && re.test(r.body), `${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  // A member's token opens the members namespace, by query or by Authorization header.
  const t = token({ sub: 'ann', exp: Math.floor(Date.now() / 1000) + 3600 });
  const byQuery = await rawGet(`/events?channel=members:x&token=${t}`, {}, 300);
  check(byQuery.status === 200, `member by query token: ${byQuery.status}`);
  const byHeader = await rawGet('/events?channel=members:x', { Authorization: `Bearer ${t}` }, 300);
  check(byHeader.status === 200 && /event: :subscribed/.test(byHeader.body), `member by header: ${byHeader.status} ${byHeader.body}`);

  const wsCases = [['', 4400], ['channel=bad%20name', 4400], ['channel=nope:x', 4404],
    ['channel=members:x', 4403], ['channel=a&token=garbage', 4401]];
  for (const [q, code] of wsCases) {
    const w = rawWs(q);
    const c = await w.closed();
    check(c.code === code && c.reason.length > 0, `/ws?${q}: close ${JSON.stringify(c)}`);
  }
  const bin = rawWs('channel=a');
  await bin.opened;
  bin.ws.send(Buffer.from([1, 2, 3]));
  const binClose = await bin.closed();
  check(binClose.code === 1003, `binary frame: close ${JSON.stringify(binClose)}`);
  console.log('bad requests: 400/401/403/404 with reasons on /events; 4400/4401/4403/4404, 1003 on /ws');
}

// ---- 7. slow consumers: drop -> :gap and go on; disconnect -> stream ends ---------------------

// A raw HTTP client that stops reading (socket paused) while publications pile up.
async function stalledStream(channel) {
  const sock = tcpConnect(server.port, '127.0.0.1');
  await new Promise((resolve) => sock.once('connect', resolve));
  let text = '';
  let closed = false;
  sock.setEncoding('utf8');
  sock.on('data', (d) => { text += d; });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => {});
  sock.write(`GET /events?channel=${channel} HTTP/1.1\r\nHost: t\r\n\r\n`);
  await until(() => text.includes('event: :subscribed'), `${channel} :subscribed`);
  sock.pause();
  return { sock, text: () => text, closed: () => closed };
}

const bigData = (i) => ({ i, pad: 'x'.repeat(16000) });
const TOTAL = 1200;  // ~19 MB: more than loopback socket buffers hold

{
  const s = await stalledStream('lossy:x');
  for (let i = 0; i < TOTAL; i++) await api('publish', { channel: 'lossy:x', data: bigData(i) });
  s.sock.resume();
  // Drained when nothing more arrives for a while.
  let last = -1;
  await until(async () => { const n = s.text().length; const still = n === last; last = n; await sleep(300); return still; },
    'lossy stream drained', 30000);
  const got = (s.text().match(/event: lossy:x\n/g) || []).length;
  check(got > 0 && got < TOTAL, `drop policy: ${got} of ${TOTAL} publications written`);
  await api('publish', { channel: 'lossy:x', data: { after: true } });
  await until(() => s.text().includes('"after":true'), 'publication after the drop');
  // Each time the channel resumed after drops it said so, before the next publication.
  const gaps = s.text().match(/event: :gap\ndata: [^\n]*\n\n(id: [^\n]*\n)?event: lossy:x\n/g) || [];
  check(gaps.length >= 1 && gaps.every((g) => g.includes('"reason":"slow_consumer"')),
    `no :gap (slow_consumer) before a publication: ${JSON.stringify(s.text().slice(-300))}`);
  check(!s.closed(), 'drop policy closed the stream');
  s.sock.destroy();
  console.log(`slow consumer (drop): ${got}/${TOTAL} written, then :gap slow_consumer and live again`);
}

{
  const s = await stalledStream('strict:x');
  for (let i = 0; i < TOTAL && !s.closed(); i++) await api('publish', { channel: 'strict:x', data: bigData(i) });
  s.sock.resume();
  await until(() => s.closed(), 'strict stream closed by the server', 15000);
  const got = (s.text().match(/event: strict:x\n/g) || []).length;
  check(got < TOTAL, `disconnect policy: ${got} of ${TOTAL} written before the close`);
  console.log(`slow consumer (disconnect): stream ended after ${got}/${TOTAL}`);
}

// ---- 8. a server stop ends the streams and the server exits 0 ---------------------------------

{
  const r = rawGet('/events?channel=last', {}, 0);
  await subscribers('last', 1);
  const code = server.stop('SIGTERM');
  const res = await withTimeout(r, 10000, 'sse stream end on stop');
  check(res.status === 200 && /:subscribed/.test(res.body), `stream before stop: ${JSON.stringify(res)}`);
  const exit = await code;
  check(exit === 0, `duplex exited with ${exit} after SIGTERM`);
  console.log('shutdown: open SSE stream ended, exit 0');
}

rmSync(dir, { recursive: true, force: true });
done();
