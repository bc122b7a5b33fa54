// Socket.IO clients in `duplex serve` (server/sio_bridge.h), with real peers: socket.io-client
// subscribes, publishes and receives on the same channels as the Centrifugo SDK, the raw
// WebSocket endpoint and the server API; JWT auth through the auth payload; permissions;
// recovery from a position; bad requests.
//
//   node socketio_serve.mjs DUPLEX
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bound, check, importPeer, requireExecutable, startListening, withTimeout, hs256Token } from './support.mjs';

const { io } = await importPeer('socket.io-client');
const { Centrifuge } = await importPeer('centrifuge');
const { WebSocket } = await importPeer('ws');
const done = bound(60000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const SECRET = 'sio-secret';
const API_KEY = 'sio-api-key';
const dir = mkdtempSync(join(tmpdir(), 'duplex-sio-'));
const configFile = join(dir, 'duplex.toml');
writeFileSync(configFile, `
[channel]
subscribe = "anonymous"
publish = "anonymous"
history_size = 100
history_ttl = "300s"

[[channel.namespace]]
name = "private"
subscribe = "authenticated"
publish = "authenticated"
`);

const server = await startListening([duplex, 'serve', '--config', configFile, '--port', '0',
  '--host', '127.0.0.1', '--threads', '2', '--token-secret', SECRET, '--api-key', API_KEY]);
const base = `http://127.0.0.1:${server.port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) check(false, `timed out waiting for ${what}`);
    await sleep(10);
  }
}
async function api(method, params) {
  const r = await fetch(`${base}/api/${method}`, {
    method: 'POST', headers: { 'X-API-Key': API_KEY }, body: JSON.stringify(params),
  });
  return { status: r.status, body: await r.json() };
}
function client(opts = {}) {
  const s = io(base, { reconnection: false, ...opts });
  s.pubs = [];
  s.on('publication', (p) => s.pubs.push(p));
  return s;
}
const connected = (s) => withTimeout(new Promise((resolve, reject) => {
  s.once('connect', resolve);
  s.once('connect_error', reject);
}), 5000, 'socket.io connect');

// ---- 1. subscribe, receive from the API, publish to other protocols ---------------------------

const a = client();
const b = client({ transports: ['polling'] });
await Promise.all([connected(a), connected(b)]);
const sa = await a.timeout(3000).emitWithAck('subscribe', 'news');
check(sa.channel === 'news' && typeof sa.epoch === 'string' && sa.offset === 0, `subscribe ack ${JSON.stringify(sa)}`);
const sb = await b.timeout(3000).emitWithAck('subscribe', 'news');
check(sb.channel === 'news', `polling subscribe ack ${JSON.stringify(sb)}`);

const cent = new Centrifuge(`ws://127.0.0.1:${server.port}/connection/websocket`, { websocket: WebSocket });
const centGot = [];
const csub = cent.newSubscription('news');
csub.on('publication', (ctx) => centGot.push(ctx.data));
// Listened for before anything else is awaited: it may come before the raw socket opens.
const csubscribed = withTimeout(new Promise((r) => csub.once('subscribed', r)), 5000, 'centrifuge subscribed');
csub.subscribe();
cent.connect();
const raw = new WebSocket(`ws://127.0.0.1:${server.port}/ws?channel=news`);
const rawGot = [];
raw.on('message', (m) => rawGot.push(JSON.parse(m.toString())));
await withTimeout(new Promise((r) => raw.once('open', r)), 5000, 'raw ws open');
await csubscribed;

const r1 = await api('publish', { channel: 'news', data: { from: 'api', n: 1 } });
check(r1.status === 200, `api publish ${JSON.stringify(r1)}`);
const p1 = await a.timeout(3000).emitWithAck('publish', 'news', { from: 'sio', n: 2 });
check(p1.channel === 'news' && p1.offset === 2, `publish ack ${JSON.stringify(p1)}`);
await until(() => a.pubs.length >= 2 && b.pubs.length >= 2 && centGot.length >= 2 && rawGot.length >= 2, 'publications everywhere');
for (const [name, got] of [['websocket', a.pubs], ['polling', b.pubs]]) {
  check(JSON.stringify(got) === JSON.stringify([
    { channel: 'news', data: { from: 'api', n: 1 }, offset: 1 },
    { channel: 'news', data: { from: 'sio', n: 2 }, offset: 2 },
  ]), `${name} publications ${JSON.stringify(got)}`);
}
check(JSON.stringify(centGot) === JSON.stringify([{ from: 'api', n: 1 }, { from: 'sio', n: 2 }]), `centrifuge got ${JSON.stringify(centGot)}`);
check(JSON.stringify(rawGot) === JSON.stringify([{ from: 'api', n: 1 }, { from: 'sio', n: 2 }]), `raw ws got ${JSON.stringify(rawGot)}`);
// The other way: a Centrifugo client's publication reaches Socket.IO clients.
await csub.publish({ from: 'centrifuge', n: 3 });
await until(() => a.pubs.length >= 3, 'centrifuge publication on socket.io');
check(a.pubs[2].data.from === 'centrifuge' && a.pubs[2].offset === 3, `third ${JSON.stringify(a.pubs[2])}`);
console.log('socket.io <-> api, centrifuge, raw ws: same channel, offsets 1..3, websocket and polling');

// ---- 2. unsubscribe, errors ------------------------------------------------------------------

let r = await a.timeout(3000).emitWithAck('subscribe', 'news');
check(r.error === 'already_subscribed', `double subscribe ${JSON.stringify(r)}`);
r = await a.timeout(3000).emitWithAck('subscribe', 'private:room');
check(r.error === 'permission_denied', `anonymous on private ${JSON.stringify(r)}`);
r = await a.timeout(3000).emitWithAck('subscribe', 'nope:x');
check(r.error === 'unknown_namespace', `unknown namespace ${JSON.stringify(r)}`);
r = await a.timeout(3000).emitWithAck('subscribe', 42);
check(r.error === 'bad_request', `non-string channel ${JSON.stringify(r)}`);
r = await a.timeout(3000).emitWithAck('publish', 'news', Buffer.from([1, 2]));
check(r.error === 'bad_request', `binary publish ${JSON.stringify(r)}`);
r = await b.timeout(3000).emitWithAck('unsubscribe', 'news');
check(r.channel === 'news', `unsubscribe ${JSON.stringify(r)}`);
r = await b.timeout(3000).emitWithAck('unsubscribe', 'news');
check(r.error === 'not_subscribed', `second unsubscribe ${JSON.stringify(r)}`);
await api('publish', { channel: 'news', data: { n: 4 } });
await until(() => a.pubs.length >= 4, 'fourth publication');
await sleep(200);
check(b.pubs.length === 3, `unsubscribed client got ${b.pubs.length} publications`);
console.log('errors: already_subscribed, permission_denied, unknown_namespace, bad_request; unsubscribe stops delivery');

// ---- 3. JWT auth -----------------------------------------------------------------------------

const exp = Math.floor(Date.now() / 1000) + 3600;
const bad = client({ auth: { token: 'not-a-jwt' } });
const badErr = await withTimeout(new Promise((r) => bad.once('connect_error', r)), 5000, 'bad token refused');
check(badErr.message === 'invalid token', `bad token: ${badErr.message}`);
bad.close();
const expired = client({ auth: { token: hs256Token({ sub: 'u1', exp: Math.floor(Date.now() / 1000) - 10 }, SECRET) } });
const expErr = await withTimeout(new Promise((r) => expired.once('connect_error', r)), 5000, 'expired token refused');
check(expErr.message === 'token expired', `expired token: ${expErr.message}`);
expired.close();
const auth = client({ auth: { token: hs256Token({ sub: 'alice', exp }, SECRET) } });
await connected(auth);
r = await auth.timeout(3000).emitWithAck('subscribe', 'private:room');
check(r.channel === 'private:room', `authenticated subscribe ${JSON.stringify(r)}`);
r = await auth.timeout(3000).emitWithAck('publish', 'private:room', 'hi');
check(r.channel === 'private:room', `authenticated publish ${JSON.stringify(r)}`);
await until(() => auth.pubs.length >= 1, 'private publication');
check(auth.pubs[0].data === 'hi', `private publication ${JSON.stringify(auth.pubs[0])}`);
console.log('auth: invalid and expired tokens refused at connect; a token grants the authenticated namespace');

// ---- 4. recovery from a position (history) ---------------------------------------------------

{
  const c = client();
  await connected(c);
  const first = await c.timeout(3000).emitWithAck('subscribe', 'feed');
  for (let i = 1; i <= 5; i++) await api('publish', { channel: 'feed', data: { i } });
  await until(() => c.pubs.length === 5, 'feed publications');
  const last = c.pubs[2];  // pretend we saw only the first three
  c.close();
  for (let i = 6; i <= 7; i++) await api('publish', { channel: 'feed', data: { i } });
  const d = client();
  await connected(d);
  const rec = await d.timeout(3000).emitWithAck('subscribe', { channel: 'feed', offset: last.offset, epoch: first.epoch });
  check(rec.recovered === true && rec.offset === 7, `recovery ack ${JSON.stringify(rec)}`);
  await until(() => d.pubs.length === 4, 'recovered publications');
  check(d.pubs.map((p) => p.data.i).join() === '4,5,6,7', `recovered ${JSON.stringify(d.pubs)}`);
  await api('publish', { channel: 'feed', data: { i: 8 } });
  await until(() => d.pubs.length === 5, 'live after recovery');
  const bogus = await d.timeout(3000).emitWithAck('subscribe', { channel: 'feed2', offset: 3, epoch: 'nope' });
  check(bogus.recovered === false, `recovery with a wrong epoch ${JSON.stringify(bogus)}`);
  d.close();
  console.log('recovery: subscribe {channel, offset, epoch} replays 4..7 then live 8; wrong epoch -> recovered false');
}

// ---- 5. metrics, a malformed packet, stop -----------------------------------------------------

{
  let text = '';
  const metric = (name) => Number((new RegExp(`^${name} (\\S+)$`, 'm').exec(text) || [])[1]);
  // Closed clients' sessions end when their close reaches the server: wait for it.
  for (let i = 0; i < 100; i++) {
    text = await (await fetch(`${base}/metrics`)).text();
    if (metric('duplex_socketio_sockets') === 3 && metric('duplex_socketio_connections') === 3) break;
    await sleep(30);
  }
  // A refused client's Engine.IO session may outlive its close() until connectTimeout (45 s)
  // when the close raced the handshake: connections may exceed the sockets then.
  check(metric('duplex_socketio_sockets') === 3 && metric('duplex_socketio_connections') >= 3,
    `socket.io gauges: sockets ${metric('duplex_socketio_sockets')}, connections ${metric('duplex_socketio_connections')}`);
  check(metric('duplex_socketio_upgrades_total') >= 2, `upgrades ${metric('duplex_socketio_upgrades_total')}`);
  // A malformed Socket.IO packet closes that connection and is counted.
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  await withTimeout(new Promise((r) => ws.once('message', r)), 5000, 'engine.io open');
  ws.send('42["unterminated');
  await withTimeout(new Promise((r) => ws.once('close', r)), 5000, 'malformed packet closes');
  const after = await (await fetch(`${base}/metrics`)).text();
  check(/^duplex_socketio_bad_packets_total 1$/m.test(after), 'bad packet counted');
  console.log('metrics: socket.io connections, sockets, upgrades; a malformed packet closes and is counted');
}

a.close(); b.close(); auth.close(); cent.disconnect(); raw.close();
const code = await server.stop();
check(code === 0, `duplex exit code ${code}`);
console.log('stop: exit 0');
done();
