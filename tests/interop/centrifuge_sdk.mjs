// The real `centrifuge` SDK (npm, JSON protocol over the `ws` package) against `duplex serve`:
// connect with and without a token, expired and invalid tokens, subscribe/publish/unsubscribe,
// presence with join/leave, history, server-side subscriptions from the token, publications
// from the server API, and recovery after the client's transport is cut (500 publications
// missed and then recovered in order with recovered=true; with history exhausted: not
// recovered). Raw `ws` clients check the protocol's error and disconnect codes for bad input,
// and that a misbehaving client does not affect the others.
//
//   node centrifuge_sdk.mjs DUPLEX
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bound, check, fail, importPeer, requireExecutable, startListening, withTimeout, hs256Token, cuttableProxy } from './support.mjs';

const { Centrifuge } = await importPeer('centrifuge');
const { WebSocket } = await importPeer('ws');
const done = bound(150000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const SECRET = 'interop-secret';
const API_KEY = 'interop-api-key';
const dir = mkdtempSync(join(tmpdir(), 'duplex-centrifuge-'));
const configFile = join(dir, 'duplex.toml');
writeFileSync(configFile, `
[auth]
allow_anonymous = true

[client]
ping_interval = "2s"
pong_timeout = "1s"

[channel]
subscribe = "anonymous"
publish = "anonymous"
presence_read = "anonymous"
history_read = "anonymous"
history_size = 1000
history_ttl = "300s"
presence = true
join_leave = true

[[channel.namespace]]
name = "small"
subscribe = "anonymous"
publish = "anonymous"
history_read = "anonymous"
history_size = 10
history_ttl = "300s"

[[channel.namespace]]
name = "private"
subscribe = "token"
`);

const server = await startListening([duplex, 'serve', '--config', configFile, '--port', '0',
  '--host', '127.0.0.1', '--threads', '2', '--token-secret', SECRET, '--api-key', API_KEY]);
const wsUrl = `ws://127.0.0.1:${server.port}/connection/websocket`;
const apiBase = `http://127.0.0.1:${server.port}/api`;

// ---- helpers ----------------------------------------------------------------------------------

const token = (claims) => hs256Token(claims, SECRET);
const now = () => Math.floor(Date.now() / 1000);

async function api(method, params, key = API_KEY) {
  const res = await fetch(`${apiBase}/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': key },
    body: JSON.stringify(params),
  });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

function client(url, opts = {}) {
  return new Centrifuge(url, { websocket: WebSocket, minReconnectDelay: 100, maxReconnectDelay: 500, timeout: 5000, ...opts });
}

// Resolves with the args of the first `event` emitted by `emitter`.
function once(emitter, event, ms = 8000) {
  return withTimeout(new Promise((resolve) => emitter.once(event, resolve)), ms, `event ${event}`);
}

async function connected(c) {
  const p = once(c, 'connected');
  c.connect();
  return p;
}

async function subscribed(c, channel, opts = {}) {
  const sub = c.newSubscription(channel, opts);
  const p = once(sub, 'subscribed');
  sub.subscribe();
  await p;
  return sub;
}

// Raw protocol client: sends frames, collects replies and the close code.
function raw() {
  const ws = new WebSocket(wsUrl);
  const replies = [];
  const waiters = [];
  let closed = null;
  const closedP = new Promise((resolve) => ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    resolve(closed);
  }));
  ws.on('message', (data) => {
    for (const line of data.toString().split('\n')) {
      if (!line) continue;
      replies.push(JSON.parse(line));
    }
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  return {
    ws, replies, opened, closedP,
    send: (s) => ws.send(s),
    async reply(id, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = replies.find((x) => x.id === id);
        if (r) return r;
        if (Date.now() > deadline || closed) fail(`raw client: no reply with id ${id} (closed: ${JSON.stringify(closed)})`);
        await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 50); });
      }
    },
    closed: (ms = 5000) => withTimeout(closedP, ms, 'raw client close'),
  };
}

const proxy = cuttableProxy;

// ---- 1. connect with and without a token; bad tokens ----------------------------------------

{
  const anon = client(wsUrl);
  const ctx = await connected(anon);
  check(typeof ctx.client === 'string' && ctx.client.length === 36, `anonymous connect ctx ${JSON.stringify(ctx)}`);
  anon.disconnect();

  const alice = client(wsUrl, { token: token({ sub: 'alice', exp: now() + 3600 }) });
  await connected(alice);
  alice.disconnect();

  // Invalid signature: the server disconnects with 3500 "invalid token" (terminal).
  const forged = client(wsUrl, { token: token({ sub: 'mallory' }).slice(0, -4) + 'AAAA' });
  const disc = once(forged, 'disconnected');
  forged.connect();
  const d = await disc;
  check(d.code === 3500, `forged token: disconnected ${JSON.stringify(d)}, expected code 3500`);

  // Expired: error 109; the SDK asks getToken for a fresh one and connects with it.
  let asked = 0;
  const expired = client(wsUrl, {
    token: token({ sub: 'bob', exp: now() - 10 }),
    getToken: async () => { asked++; return token({ sub: 'bob', exp: now() + 3600 }); },
  });
  await connected(expired);
  check(asked === 1, `expired token: getToken called ${asked} times, expected 1`);
  expired.disconnect();

  // The raw codes.
  const r1 = raw(); await r1.opened;
  r1.send(JSON.stringify({ id: 1, connect: { token: token({ sub: 'x', exp: now() - 5 }) } }));
  const e = await r1.reply(1);
  check(e.error && e.error.code === 109, `expired token reply ${JSON.stringify(e)}`);
  r1.ws.close();
  const r2 = raw(); await r2.opened;
  r2.send(JSON.stringify({ id: 1, connect: { token: 'not.a.jwt' } }));
  const c2 = await r2.closed();
  check(c2.code === 3500 && c2.reason === 'invalid token', `invalid token close ${JSON.stringify(c2)}`);
  console.log('connect: anonymous, token, forged (3500), expired (109 + getToken) ok');
}

// ---- 2. subscribe / publish / unsubscribe; presence and join/leave; history ---------------

{
  const a = client(wsUrl, { token: token({ sub: 'alice' }) });
  const b = client(wsUrl, { token: token({ sub: 'bob' }) });
  await connected(a);
  await connected(b);
  const subA = await subscribed(a, 'room');
  const joins = [];
  subA.on('join', (ctx) => joins.push(ctx.info.user));
  const leaves = [];
  subA.on('leave', (ctx) => leaves.push(ctx.info.user));
  const got = [];
  subA.on('publication', (ctx) => got.push(ctx.data));
  const subB = await subscribed(b, 'room');
  await subB.publish({ text: 'hi from bob' });
  const deadline = Date.now() + 5000;
  while ((got.length < 1 || joins.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  check(got.length === 1 && got[0].text === 'hi from bob', `alice got ${JSON.stringify(got)}`);
  check(joins.includes('bob'), `alice saw joins ${JSON.stringify(joins)}`);

  const presence = await subA.presence();
  const users = Object.values(presence.clients).map((c) => c.user).sort();
  check(JSON.stringify(users) === '["alice","bob"]', `presence users ${JSON.stringify(users)}`);
  const stats = await subA.presenceStats();
  check(stats.numClients === 2 && stats.numUsers === 2, `presence stats ${JSON.stringify(stats)}`);

  const hist = await subA.history({ limit: 10 });
  check(hist.publications.length >= 1 && hist.publications.at(-1).data.text === 'hi from bob',
    `history ${JSON.stringify(hist)}`);
  check(typeof hist.epoch === 'string' && hist.epoch.length > 0 && hist.offset >= 1, `history position ${JSON.stringify(hist)}`);

  const unsub = once(subB, 'unsubscribed');
  subB.unsubscribe();
  await unsub;
  const deadline2 = Date.now() + 5000;
  while (!leaves.includes('bob') && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 20));
  check(leaves.includes('bob'), `alice saw leaves ${JSON.stringify(leaves)}`);

  // Publication through the server API reaches the SDK, with its offset and epoch in the reply.
  const res = await api('publish', { channel: 'room', data: { from: 'api' } });
  check(res.status === 200 && res.body.result && res.body.result.offset >= 2 && res.body.result.epoch,
    `api publish ${JSON.stringify(res)}`);
  const deadline3 = Date.now() + 5000;
  while (!got.some((d) => d.from === 'api') && Date.now() < deadline3) await new Promise((r) => setTimeout(r, 20));
  check(got.some((d) => d.from === 'api'), `api publication not received: ${JSON.stringify(got)}`);
  const wrongKey = await api('publish', { channel: 'room', data: {} }, 'wrong');
  check(wrongKey.status === 401, `api with a wrong key answered ${wrongKey.status}`);

  // A private channel needs a subscription token: a permanent error, so the SDK reports the
  // subscription unsubscribed with the error's code.
  const denied = a.newSubscription('private:x');
  const gone = once(denied, 'unsubscribed');
  denied.subscribe();
  const uctx = await gone;
  check(uctx.code === 103, `private channel without token: ${JSON.stringify(uctx)}`);
  a.removeSubscription(denied);
  a.disconnect();
  b.disconnect();
  console.log('subscribe/publish/unsubscribe, presence, join/leave, history, API publish ok');
}

// ---- 3. server-side subscriptions from the token's channels claim --------------------------

{
  const c = client(wsUrl, { token: token({ sub: 'carol', channels: ['news'] }) });
  const serverSub = once(c, 'subscribed');
  await connected(c);
  const s = await serverSub;
  check(s.channel === 'news', `server-side subscribed ${JSON.stringify(s)}`);
  const pub = once(c, 'publication');
  await api('publish', { channel: 'news', data: { n: 1 } });
  const p = await pub;
  check(p.channel === 'news' && p.data.n === 1, `server-side publication ${JSON.stringify(p)}`);
  c.disconnect();
  console.log('server-side subscription from token ok');
}

// ---- 4. recovery after a cut transport -------------------------------------------------------

async function cutAndPublish(channel, count) {
  const px = await proxy(server.port);
  const c = client(`ws://127.0.0.1:${px.port}/connection/websocket`);
  await connected(c);
  const sub = await subscribed(c, channel);
  const got = [];
  sub.on('publication', (ctx) => got.push(ctx.data.seq));
  await api('publish', { channel, data: { seq: 0 } });
  const t0 = Date.now();
  while (got.length < 1 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  check(got.length === 1, `${channel}: first publication not received`);
  const disconnected = once(c, 'connecting');
  px.cut();
  await disconnected;
  for (let i = 1; i <= count; ++i) {
    const r = await api('publish', { channel, data: { seq: i } });
    check(r.status === 200, `publish ${i}: ${JSON.stringify(r)}`);
  }
  const resub = once(sub, 'subscribed', 15000);
  px.restore();
  const ctx = await resub;
  const t1 = Date.now();
  while (got.length < count + 1 && Date.now() - t1 < 10000) await new Promise((r) => setTimeout(r, 20));
  c.disconnect();
  px.close();
  return { ctx, got };
}

{
  const { ctx, got } = await cutAndPublish('recover', 500);
  check(ctx.wasRecovering === true && ctx.recovered === true, `recovery ctx ${JSON.stringify(ctx)}`);
  check(got.length === 501, `recovered ${got.length - 1} of 500 publications`);
  for (let i = 0; i < got.length; ++i) if (got[i] !== i) fail(`publication ${i} out of order: got seq ${got[i]}`);
  console.log('recovery: 500 missed publications recovered in order, recovered=true');

  const small = await cutAndPublish('small:recover', 50);
  check(small.ctx.wasRecovering === true && small.ctx.recovered === false,
    `exhausted history: ctx ${JSON.stringify(small.ctx)}`);
  console.log('recovery with exhausted history: recovered=false');
}

// ---- 5. bad input: the protocol's codes, and nobody else is affected ------------------------

{
  const witness = client(wsUrl);
  await connected(witness);
  const wsub = await subscribed(witness, 'witness');
  const seen = [];
  wsub.on('publication', (ctx) => seen.push(ctx.data));

  const cases = [
    ['malformed JSON', '{"id":1,"connect":{}', 3501],
    ['unknown command', '{"id":1,"frobnicate":{}}', 3501],
    ['command before connect', '{"id":1,"subscribe":{"channel":"a"}}', 3501],
    ['wrong type', '{"id":"one","connect":{}}', 3501],
    ['oversized command', `{"id":1,"connect":{"data":"${'x'.repeat(70000)}"}}`, 1009],
  ];
  for (const [what, frame, code] of cases) {
    const r = raw(); await r.opened;
    r.send(frame);
    const c = await r.closed();
    check(c.code === code, `${what}: closed ${JSON.stringify(c)}, expected ${code}`);
  }
  // After connect: a bad field gets an error reply and the connection stays.
  const r = raw(); await r.opened;
  r.send('{"id":1,"connect":{}}');
  await r.reply(1);
  r.send('{"id":2,"publish":{"channel":"witness"}}');
  const e = await r.reply(2);
  check(e.error && e.error.code === 107, `publish without data: ${JSON.stringify(e)}`);
  r.send('{"id":3,"rpc":{"method":"m"}}');
  const e3 = await r.reply(3);
  check(e3.error && e3.error.code === 104, `rpc without a handler: ${JSON.stringify(e3)}`);
  r.ws.close();

  await api('publish', { channel: 'witness', data: { ok: true } });
  const t0 = Date.now();
  while (seen.length < 1 && Date.now() - t0 < 5000) await new Promise((r2) => setTimeout(r2, 20));
  check(seen.length === 1 && seen[0].ok === true, `witness after bad clients got ${JSON.stringify(seen)}`);
  witness.disconnect();
  console.log('bad input: 3501/1009 closes, 107/104 errors, witness unaffected');
}

// ---- /metrics reflects what happened --------------------------------------------------------

{
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  const text = await res.text();
  check(res.status === 200, `/metrics answered ${res.status}`);
  const value = (series) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? NaN : Number(line.slice(series.length + 1));
  };
  check(value('duplex_recoveries_total{result="complete"}') >= 1, 'metrics: no complete recovery counted');
  check(value('duplex_recoveries_total{result="incomplete"}') >= 1, 'metrics: no incomplete recovery counted');
  check(value('duplex_publications_total') === 556,  // 2 room + 1 news + 501 + 51 recovery + 1 witness
    `metrics: publications ${value('duplex_publications_total')}`);
  check(value('duplex_bad_requests_total') >= 4, `metrics: bad requests ${value('duplex_bad_requests_total')}`);
  check(value('duplex_publish_to_write_seconds_count') >= 1, 'metrics: no latency observation');
  check(Number.isFinite(value('duplex_connections')), 'metrics: no duplex_connections');
  console.log('metrics: recoveries, publications, bad requests, latency histogram counted');
}

// ---- shutdown: clients are told to reconnect elsewhere (3001) and the server exits 0 ---------

{
  const r = raw(); await r.opened;
  r.send('{"id":1,"connect":{}}');
  await r.reply(1);
  const closing = r.closed(10000);
  const code = server.stop('SIGTERM');
  const c = await closing;
  check(c.code === 3001 && c.reason === 'shutdown', `shutdown close ${JSON.stringify(c)}`);
  const exit = await code;
  check(exit === 0, `duplex exited with ${exit} after SIGTERM`);
  console.log('shutdown: 3001 to clients, exit 0');
}
rmSync(dir, { recursive: true, force: true });
done();
