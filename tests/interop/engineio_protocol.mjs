// Engine.IO v4 conformance of src/sio/engine.{h,cc}: every expectation of the official test
// suite (socketio/socket.io docs/engine.io-protocol/v4-test-suite/test-suite.js), checked with
// Node's fetch and the `ws` package against sio_protocol_fixture (a bare Engine.IO echo server
// at /engine.io/, pingInterval 300, pingTimeout 200, maxPayload 1000000), once with one loop
// thread and once with two:
// - handshake over polling and WebSocket (open packet keys and values, upgrades), bad EIO,
//   transport or method -> 400 (WebSocket: refused, never opened);
// - echo over polling (one packet, several, text + base64 binary), a malformed payload -> 400
//   and the session gone, duplicate polls (the held one gets "1"), a cancelled poll;
// - echo over WebSocket (text, binary), a malformed frame closes it;
// - heartbeat: three ping/pong rounds and the ping timeout, over both transports;
// - close packet from the client over both transports;
// - upgrade: 2probe/3probe, the held or next poll gets noop "6", "5", then data over the
//   WebSocket (including what was queued during the probe); polls and a second WebSocket for
//   the session are refused afterwards.
// Beyond the suite, what engine.h promises: polling sessions whose requests each arrive on a
// new TCP connection (so, with two threads, on either loop thread) and upgrade there; a POST
// over maxPayload -> 413 and the session ends, one of exactly maxPayload is served; a WebSocket
// message over it closes; CORS preflight and Access-Control-Allow-Origin on polling replies; a
// server stop answers held polls and open WebSockets with a close packet, and exits 0.
// Where the suite races two requests (5 ms apart) the waits here are a little longer, and
// pings that are not the subject of a check are answered and skipped.
//
//   node engineio_protocol.mjs SIO_PROTOCOL_FIXTURE
import { request as httpRequest } from 'node:http';
import { bound, check, fail, importPeer, requireExecutable, startListening, withTimeout } from './support.mjs';
import { checkOpenPacket as checkOpen, httpWith, wsQueue } from './engineio_support.mjs';

const { WebSocket } = await importPeer('ws');
const done = bound(60000);
const fixture = requireExecutable(process.argv[2], 'sio_protocol_fixture');

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1000000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let base = '';    // http://127.0.0.1:PORT of the fixture being tested
let wsBase = '';  // ws://127.0.0.1:PORT
const poll = (sid, extra = '') => `/engine.io/?EIO=4&transport=polling&sid=${sid}${extra}`;

// ---- helpers ----------------------------------------------------------------------------------

// fetch (Node's keep-alive pool), bounded; resolves with {status, headers, text}.
const http = httpWith(() => base);

// One request on a new TCP connection (no agent, no keep-alive): with several loop threads
// the kernel spreads such connections over them. Headers come back as a plain object.
function fresh(path, { method = 'GET', body, headers = {}, ms = 3000 } = {}) {
  const h = { ...headers };
  if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
  return withTimeout(new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method, agent: false, headers: h }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  }), ms, `${method} ${path} (new connection)`);
}

// The Engine.IO error body {"code":N,"message":...} of a 400.
function errorCode(r) {
  try {
    return JSON.parse(r.text).code;
  } catch {
    return `not JSON: ${JSON.stringify(r.text)}`;
  }
}

function expectRefused(r, code, what) {
  check(r.status === 400, `${what}: status ${r.status} (expected 400), body ${JSON.stringify(r.text)}`);
  if (code !== undefined) check(errorCode(r) === code, `${what}: error code ${errorCode(r)} (expected ${code})`);
}

const SETTINGS = { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, maxPayload: MAX_PAYLOAD };
const checkOpenPacket = (text, upgrades, what) => checkOpen(text, upgrades, what, SETTINGS);

// A polling handshake (over the pool, or over a new connection); returns the sid.
async function openPolling(viaFresh = false) {
  const path = '/engine.io/?EIO=4&transport=polling';
  const r = viaFresh ? await fresh(path) : await http(path);
  check(r.status === 200, `handshake: status ${r.status} ${JSON.stringify(r.text)}`);
  return checkOpenPacket(r.text, ['websocket'], 'polling handshake').sid;
}

// A WebSocket at /engine.io/?<query> whose messages queue up until taken with next().
// Text arrives as strings, binary as Buffers.
const wsConnect = (query) => wsQueue(`${wsBase}/engine.io/?${query}`);

// A WebSocket-only session: open and its open packet checked.
async function openWebSocket() {
  const s = wsConnect('EIO=4&transport=websocket');
  await s.open();
  const v = checkOpenPacket(await s.next(), [], 'websocket handshake');
  return { s, sid: v.sid };
}

// Polling session `sid` upgraded to a WebSocket: probe, noop on the poll, "5". Returns the
// socket. `heldPoll` is a poll already in flight that must be answered with "6".
async function upgrade(sid, { heldPoll, viaFresh = false } = {}) {
  const s = wsConnect(`EIO=4&transport=websocket&sid=${sid}`);
  await s.open();
  s.send('2probe');
  const probe = await s.next();
  check(probe === '3probe', `upgrade of ${sid}: probe answer ${JSON.stringify(probe)}`);
  const r = heldPoll ? await heldPoll : viaFresh ? await fresh(poll(sid)) : await http(poll(sid));
  check(r.status === 200 && r.text === '6', `upgrade of ${sid}: poll during the probe got ${r.status} ${JSON.stringify(r.text)}`);
  s.send('5');
  return s;
}

// Sends a text message and expects it back (pings skipped): proves every frame sent before it
// was processed.
async function wsEcho(s, text, what) {
  s.send(`4${text}`);
  const m = await s.data();
  check(m === `4${text}`, `${what}: echo ${JSON.stringify(m)} (expected "4${text}")`);
}

// ---- the official suite's expectations --------------------------------------------------------

async function handshakes() {
  // Polling.
  const r = await http('/engine.io/?EIO=4&transport=polling');
  check(r.status === 200, `polling handshake status ${r.status}`);
  check((r.headers.get('content-type') || '').startsWith('text/plain'), `handshake content-type ${r.headers.get('content-type')}`);
  checkOpenPacket(r.text, ['websocket'], 'polling handshake');

  expectRefused(await http('/engine.io/?transport=polling'), 5, 'no EIO');
  expectRefused(await http('/engine.io/?EIO=abc&transport=polling'), 5, 'EIO=abc');
  expectRefused(await http('/engine.io/?EIO=3&transport=polling'), 5, 'EIO=3');
  expectRefused(await http('/engine.io/?EIO=4'), 0, 'no transport');
  expectRefused(await http('/engine.io/?EIO=4&transport=abc'), 0, 'transport=abc');
  expectRefused(await http('/engine.io/?EIO=4&transport=polling', { method: 'POST' }), 2, 'POST handshake');
  expectRefused(await http('/engine.io/?EIO=4&transport=polling', { method: 'PUT' }), 2, 'PUT handshake');
  expectRefused(await http(poll('nope')), 1, 'GET with an unknown sid');
  expectRefused(await http(poll('ABCDEFGHIJKLMNOPQRSTAA')), 1, 'GET with a well-formed unknown sid');
  expectRefused(await http(poll('ABCDEFGHIJKLMNOPQRSTAA'), { method: 'POST', body: '4x' }), 1, 'POST with an unknown sid');

  // WebSocket.
  const { s } = await openWebSocket();
  s.ws.close();
  await s.closed();
  for (const q of ['transport=websocket', 'EIO=abc&transport=websocket', 'EIO=4', 'EIO=4&transport=abc',
    'EIO=4&transport=polling', 'EIO=4&transport=websocket&sid=nope']) {
    const bad = wsConnect(q);
    await bad.closed();
    check(!bad.wasOpened(), `ws ?${q} was opened (must be refused)`);
    check(bad.errors.some((e) => /400/.test(e)), `ws ?${q}: refusal ${JSON.stringify(bad.errors)} (expected a 400)`);
  }
  // A well-formed sid that names no session: the WebSocket may open, but is then closed.
  const ghost = wsConnect('EIO=4&transport=websocket&sid=ABCDEFGHIJKLMNOPQRSTAA');
  await ghost.closed();
  console.log('  handshake: polling and websocket open packets; bad EIO/transport/method/sid refused');
}

async function pollingMessages() {
  for (const body of ['4hello', '4test1\x1e4test2\x1e4test3', '4hello\x1ebAQIDBA==', '4héllo ✓ 𝄞\x1e4']) {
    const sid = await openPolling();
    const push = await http(poll(sid), { method: 'POST', body });
    check(push.status === 200 && push.text === 'ok', `POST ${JSON.stringify(body)}: ${push.status} ${JSON.stringify(push.text)}`);
    const got = await http(poll(sid));
    check(got.status === 200 && got.text === body, `poll after POST ${JSON.stringify(body)}: ${got.status} ${JSON.stringify(got.text)}`);
  }

  // A malformed payload: 400 (or a dropped connection), and the session is gone.
  {
    const sid = await openPolling();
    const push = await http(poll(sid), { method: 'POST', body: 'abc' }).catch((e) => ({ status: `error ${e.message}` }));
    check(push.status === 400 || String(push.status).startsWith('error'), `POST "abc": status ${push.status}`);
    expectRefused(await http(poll(sid)), undefined, 'poll after a malformed POST');
  }

  // Two polls at once: the held one gets a close packet, the second 400 (or 500), then the
  // session is gone.
  {
    const sid = await openPolling();
    const [first, second] = await Promise.all([
      http(poll(sid)),
      sleep(20).then(() => http(poll(sid, '&t=burst'))),
    ]);
    check(first.status === 200 && first.text === '1', `duplicate polls: first got ${first.status} ${JSON.stringify(first.text)}`);
    check(second.status === 400 || second.status === 500, `duplicate polls: second got ${second.status}`);
    expectRefused(await http(poll(sid)), undefined, 'poll after duplicate polls');
  }

  // A poll cancelled by the client ends the session.
  {
    const sid = await openPolling();
    const controller = new AbortController();
    const held = fetch(base + poll(sid), { signal: controller.signal }).then(() => 'answered', () => 'aborted');
    await sleep(50);
    controller.abort();
    check(await held === 'aborted', 'the held poll was answered before it was cancelled');
    expectRefused(await http(poll(sid)), undefined, 'poll after a cancelled poll');
  }
  console.log('  polling: echo of 1, 3, text+binary and UTF-8 packets; malformed POST, duplicate and cancelled polls end the session');
}

async function websocketMessages() {
  {
    const { s, sid } = await openWebSocket();
    await wsEcho(s, 'hello', 'ws text');
    // A WebSocket-only session takes no polling requests, and goes on.
    expectRefused(await http(poll(sid)), undefined, 'poll for a websocket session');
    expectRefused(await http(poll(sid), { method: 'POST', body: '4x' }), undefined, 'POST for a websocket session');
    expectRefused(await http(poll(sid), { method: 'DELETE' }), 3, 'DELETE for a websocket session');
    await wsEcho(s, 'héllo ✓ 𝄞', 'ws UTF-8 text');
    s.send(Uint8Array.from([1, 2, 3, 4]));
    const m = await s.data();
    check(Buffer.isBuffer(m) && m.equals(Buffer.from([1, 2, 3, 4])), `ws binary echo ${JSON.stringify(m)}`);
    s.ws.close();
    await s.closed();
  }
  {
    const { s } = await openWebSocket();
    s.send('abc');
    await s.closed();
  }
  {
    // Over maxPayload: the WebSocket layer closes (1009, message too big).
    const { s } = await openWebSocket();
    s.send(`4${'x'.repeat(MAX_PAYLOAD)}`);
    const c = await s.closed();
    check(c.code === 1009, `ws message over maxPayload: close ${JSON.stringify(c)}`);
  }
  console.log('  websocket: text, UTF-8 and binary echo; polling requests refused; malformed frame and oversized message close');
}

async function heartbeats() {
  const t0 = Date.now();
  const pollingRounds = (async () => {
    const sid = await openPolling();
    for (let i = 0; i < 3; i++) {
      const r = await http(poll(sid));
      check(r.status === 200 && r.text === '2', `polling heartbeat ${i}: ${r.status} ${JSON.stringify(r.text)}`);
      const pong = await http(poll(sid), { method: 'POST', body: '3' });
      check(pong.status === 200, `polling pong ${i}: ${pong.status}`);
    }
  })();
  const pollingTimeout = (async () => {
    const sid = await openPolling();
    await sleep(PING_INTERVAL + PING_TIMEOUT + 100);  // timers are coarse; a loaded CI machine fired late once
    expectRefused(await http(poll(sid)), undefined, 'poll after the ping timeout');
  })();
  const wsRounds = (async () => {
    const { s } = await openWebSocket();
    for (let i = 0; i < 3; i++) {
      const m = await s.next();
      check(m === '2', `ws heartbeat ${i}: ${JSON.stringify(m)}`);
      s.send('3');
    }
    check(s.isOpen(), 'ws closed although it answered every ping');
    s.ws.close();
    await s.closed();
  })();
  const wsTimeout = (async () => {
    const start = Date.now();
    const { s } = await openWebSocket();
    const m = await s.next(2000);
    check(m === '2', `ws ping before the timeout: ${JSON.stringify(m)}`);
    await s.closed(2000);
    const took = Date.now() - start;
    check(took >= PING_INTERVAL + PING_TIMEOUT - 50, `ws closed for ping timeout after ${took} ms (too early)`);
  })();
  await Promise.all([pollingRounds, pollingTimeout, wsRounds, wsTimeout]);
  console.log(`  heartbeat: 3 ping/pong rounds and the ping timeout over polling and websocket (${Date.now() - t0} ms)`);
}

async function clientClose() {
  {
    const sid = await openPolling();
    const held = http(poll(sid));
    await sleep(20);
    const push = await http(poll(sid), { method: 'POST', body: '1' });
    check(push.status === 200, `POST "1": ${push.status} ${JSON.stringify(push.text)}`);
    const r = await held;
    check(r.status === 200 && r.text === '6', `held poll on close: ${r.status} ${JSON.stringify(r.text)}`);
    expectRefused(await http(poll(sid)), undefined, 'poll after the close packet');
  }
  {
    const { s } = await openWebSocket();
    s.send('1');
    await s.closed();
  }
  console.log('  close: "1" over polling lets the held poll go with "6", then 400; over websocket it closes');
}

async function upgrades() {
  // The suite's order: probe, then a poll that gets noop, "5", then data over the WebSocket.
  {
    const sid = await openPolling();
    const s = await upgrade(sid);
    await wsEcho(s, 'hello', 'after upgrade');
    s.ws.close();
    await s.closed();
    await sleep(20);
    expectRefused(await http(poll(sid)), undefined, 'poll after the upgraded WebSocket closed');
  }
  // A poll held before the probe is let go with "6"; a message queued during the probe goes
  // over the WebSocket after "5"; polls are then refused and the WebSocket keeps working.
  {
    const sid = await openPolling();
    const held = http(poll(sid));
    await sleep(20);
    const s = wsConnect(`EIO=4&transport=websocket&sid=${sid}`);
    await s.open();
    s.send('2probe');
    check(await s.next() === '3probe', 'probe answer (held poll)');
    const r = await held;
    check(r.status === 200 && r.text === '6', `held poll during the probe: ${r.status} ${JSON.stringify(r.text)}`);
    const push = await http(poll(sid), { method: 'POST', body: '4queued' });
    check(push.status === 200 && push.text === 'ok', `POST during the probe: ${push.status}`);
    s.send('5');
    const first = await s.data();
    check(first === '4queued', `first message after "5": ${JSON.stringify(first)} (expected the queued echo)`);
    await wsEcho(s, 'sync', 'after upgrade');
    expectRefused(await http(poll(sid)), undefined, 'poll after the upgrade');
    expectRefused(await http(poll(sid), { method: 'POST', body: '4late' }), undefined, 'POST after the upgrade');
    await wsEcho(s, 'hello', 'after refused polls');
    // A second WebSocket for the upgraded session is closed; the first goes on.
    const s2 = wsConnect(`EIO=4&transport=websocket&sid=${sid}`);
    await s2.closed();
    await wsEcho(s, 'still', 'after a second WebSocket');
    s.ws.close();
    await s.closed();
  }
  console.log('  upgrade: 2probe/3probe, noop to new and held polls, queued data after "5", later polls and a second websocket refused');
}

// ---- beyond the suite -------------------------------------------------------------------------

// Every request of a session on its own TCP connection: with two loop threads, many of them
// land on the thread that does not own the session. 16 sessions run at once, so a ping may
// come with other packets: freshPoll answers pings (POST "3") and returns the other packets.
async function freshPoll(sid, what) {
  for (;;) {
    const r = await fresh(poll(sid));
    check(r.status === 200, `${what}: poll ${r.status} ${JSON.stringify(r.text)}`);
    const packets = r.text.split('\x1e');
    if (packets.includes('2')) {
      const pong = await fresh(poll(sid), { method: 'POST', body: '3' });
      check(pong.status === 200, `${what}: pong ${pong.status}`);
    }
    const rest = packets.filter((p) => p !== '2');
    if (rest.length) return rest.join('\x1e');
  }
}

async function crossConnections(threads) {
  const N = 16;
  const owners = new Set();
  await Promise.all(Array.from({ length: N }, async (_, i) => {
    const what = `session ${i}`;
    const sid = await openPolling(true);
    owners.add(sid.slice(-2));
    const push = await fresh(poll(sid), { method: 'POST', body: `4m${i}\x1e4n${i}` });
    check(push.status === 200 && push.text === 'ok', `${what}: POST ${push.status} ${JSON.stringify(push.text)}`);
    const got = await freshPoll(sid, what);
    check(got === `4m${i}\x1e4n${i}`, `${what}: poll got ${JSON.stringify(got)}`);
    // A held poll woken by a POST on another connection.
    const held = freshPoll(sid, what);
    await sleep(30);
    const push2 = await fresh(poll(sid), { method: 'POST', body: `4w${i}` });
    check(push2.status === 200, `${what}: second POST ${push2.status}`);
    const woke = await held;
    check(woke === `4w${i}`, `${what}: held poll got ${JSON.stringify(woke)}`);
    // Heartbeat over new connections: nothing else is queued, so the next poll brings pings.
    const ping = await fresh(poll(sid));
    check(ping.status === 200 && ping.text.split('\x1e').every((p) => p === '2'),
      `${what}: ping ${ping.status} ${JSON.stringify(ping.text)}`);
    check((await fresh(poll(sid), { method: 'POST', body: '3' })).status === 200, `${what}: pong`);
    // Upgrade over a WebSocket that may live on the other thread; frames cross both ways.
    const s = await upgrade(sid, { viaFresh: true });
    await wsEcho(s, `u${i}`, `${what} after upgrade`);
    s.send(Buffer.from([i, 255, 0]));
    const bin = await s.data();
    check(Buffer.isBuffer(bin) && bin.equals(Buffer.from([i, 255, 0])), `${what}: binary echo after upgrade`);
    // A ping round over the upgraded transport.
    const p = await s.next(2000);
    check(p === '2', `${what}: ping over the upgraded WebSocket ${JSON.stringify(p)}`);
    s.send('3');
    await wsEcho(s, `v${i}`, `${what} after pong`);
    expectRefused(await fresh(poll(sid)), undefined, `${what}: poll after upgrade`);
    s.ws.close();
    await s.closed();
  }));
  const want = threads === 1 ? ['AA'] : ['AA', 'AB'];
  check(JSON.stringify([...owners].sort()) === JSON.stringify(want),
    `owner threads named by ${N} sids: ${[...owners]} (expected ${want}: handshakes on every thread)`);
  console.log(`  ${N} sessions with every request on a new connection (owners ${[...owners].sort()}): echo, wake-up, heartbeat, upgrade`);
}

async function payloadLimit() {
  {
    const sid = await openPolling();
    const r = await http(poll(sid), { method: 'POST', body: `4${'x'.repeat(MAX_PAYLOAD)}` });
    check(r.status === 413, `POST of maxPayload+1 bytes: ${r.status}`);
    // The session ends: the next poll takes the close packet or is refused, then it is gone.
    const after = await http(poll(sid));
    check(after.status === 400 || (after.status === 200 && after.text === '1'),
      `poll after 413: ${after.status} ${JSON.stringify(after.text.slice(0, 80))}`);
    expectRefused(await http(poll(sid)), undefined, 'second poll after 413');
  }
  {
    const sid = await openPolling();
    const body = `4${'y'.repeat(MAX_PAYLOAD - 1)}`;
    const r = await http(poll(sid), { method: 'POST', body });
    check(r.status === 200 && r.text === 'ok', `POST of exactly maxPayload bytes: ${r.status}`);
    const got = await http(poll(sid));
    // (A ping may have joined it if the upload was slow.)
    check(got.status === 200 && (got.text === body || got.text === `${body}\x1e2`),
      `echo of maxPayload bytes: ${got.status}, ${got.text.length} bytes`);
  }
  console.log('  maxPayload: POST of 1000001 bytes -> 413 and the session ends; 1000000 bytes echoed');
}

async function cors() {
  const origin = 'https://app.example';
  const pre = await fresh('/engine.io/?EIO=4&transport=polling', {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  check(pre.status === 204, `preflight status ${pre.status}`);
  check(pre.headers['access-control-allow-origin'] === origin, `preflight allow-origin ${pre.headers['access-control-allow-origin']}`);
  check(/POST/.test(pre.headers['access-control-allow-methods'] || ''), `preflight allow-methods ${pre.headers['access-control-allow-methods']}`);

  const hs = await fresh('/engine.io/?EIO=4&transport=polling', { headers: { Origin: origin } });
  check(hs.status === 200 && hs.headers['access-control-allow-origin'] === origin,
    `handshake with Origin: ${hs.status}, allow-origin ${hs.headers['access-control-allow-origin']}`);
  const sid = checkOpenPacket(hs.text, ['websocket'], 'handshake with Origin').sid;
  const push = await fresh(poll(sid), { method: 'POST', body: '4cors', headers: { Origin: origin } });
  check(push.status === 200 && push.headers['access-control-allow-origin'] === origin,
    `POST with Origin: ${push.status}, allow-origin ${push.headers['access-control-allow-origin']}`);
  const got = await fresh(poll(sid), { headers: { Origin: origin } });
  check(got.status === 200 && got.text === '4cors' && got.headers['access-control-allow-origin'] === origin,
    `poll with Origin: ${got.status} ${JSON.stringify(got.text)}, allow-origin ${got.headers['access-control-allow-origin']}`);
  const bad = await fresh('/engine.io/?EIO=3&transport=polling', { headers: { Origin: origin } });
  check(bad.status === 400 && bad.headers['access-control-allow-origin'] === origin,
    `400 with Origin: ${bad.status}, allow-origin ${bad.headers['access-control-allow-origin']}`);
  console.log('  CORS: preflight 204 with the origin echoed; allow-origin on handshake, POST, poll and 400');
}

// A stop closes every session with a close packet: the held poll gets "1", the WebSocket "1".
async function shutdown(server) {
  const sid = await openPolling();
  const held = http(poll(sid), { ms: 8000 });
  const { s } = await openWebSocket();
  await sleep(50);
  const exit = server.stop('SIGTERM');
  const r = await held;
  check(r.status === 200 && r.text.split('\x1e').pop() === '1', `held poll on stop: ${r.status} ${JSON.stringify(r.text)}`);
  let m;
  do m = await s.next(); while (m === '2');
  check(m === '1', `websocket on stop: ${JSON.stringify(m)} (expected the close packet)`);
  await s.closed();
  const code = await exit;
  check(code === 0, `sio_protocol_fixture exited with ${code} after SIGTERM`);
  console.log('  stop: held poll and websocket got "1", exit 0');
}

// ---- run with one and with two loop threads ---------------------------------------------------

try {
  for (const threads of [1, 2]) {
    const server = await startListening([fixture, '--port', '0', '--threads', String(threads)]);
    base = `http://127.0.0.1:${server.port}`;
    wsBase = `ws://127.0.0.1:${server.port}`;
    console.log(`--threads ${threads} (port ${server.port})`);
    await handshakes();
    await pollingMessages();
    await websocketMessages();
    await heartbeats();
    await clientClose();
    await upgrades();
    await crossConnections(threads);
    await payloadLimit();
    await cors();
    await shutdown(server);
  }
} catch (e) {
  fail(e.stack || e.message);
}
done();
