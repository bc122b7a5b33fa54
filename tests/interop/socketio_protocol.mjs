// Socket.IO v5 conformance of src/sio/socketio.cc: every expectation of the official test suite
// (socketio/socket.io docs/socket.io-protocol/v5-test-suite/test-suite.js, and the rules of
// docs/socket.io-protocol/v5-current.md), checked with Node's fetch and the `ws` package, as
// the suite does, against sio_protocol_fixture's /socket.io/ (pingInterval 300, pingTimeout
// 200, maxPayload 1000000, connectTimeout 1000; namespaces "/" and "/custom" emit `auth` with
// the CONNECT payload; "/" echoes `message` as `message-back` and acks `message-with-ack`):
// - Engine.IO at /socket.io/: open packets over polling and WebSocket, bad EIO / transport /
//   method refused, heartbeat rounds and the ping timeout, the close packet, the upgrade
//   (engineio_protocol.mjs covers the engine itself in depth at /engine.io/);
// - CONNECT to "/" and "/custom", with and without a payload (sid is the reply's only key, the
//   payload comes back in `auth`), an unknown namespace -> CONNECT_ERROR "Invalid namespace"
//   (the connection stays usable), a bad first packet and no CONNECT within connectTimeout
//   close the connection;
// - DISCONNECT from "/" (no reply, the connection lives on) and from "/custom" (then "/" still
//   answers);
// - EVENT plain and with binary attachments -> `message-back`; acks plain and binary;
// - malformed packets close the connection: unknown type, payload not an array, bad ack id,
//   empty event array, ACK payload not an array, truncated JSON, attachments that do not fit,
//   a CONNECT payload that is not an object.
// Beyond the suite: the same exchanges over HTTP long-polling (binary attachments travel as
// base64 "b" packets), an event for a namespace the client has not joined is ignored, an ACK
// with an unknown id is ignored, everything still works across an upgrade, and a session
// closed between "3probe" and "5" sends its close packet over the new transport. Run with one
// loop thread and with two; the fixture must exit 0 on SIGTERM (sanitizer reports fail it).
//
//   node socketio_protocol.mjs SIO_PROTOCOL_FIXTURE
import { bound, check, fail, importPeer, requireExecutable, startListening, withTimeout } from './support.mjs';
import { checkOpenPacket as checkOpen, httpWith, wsQueue } from './engineio_support.mjs';

const { WebSocket } = await importPeer('ws');
const done = bound(80000);
const fixture = requireExecutable(process.argv[2], 'sio_protocol_fixture');

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const CONNECT_TIMEOUT = 1000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let base = '';    // http://127.0.0.1:PORT
let wsBase = '';  // ws://127.0.0.1:PORT
const EIO = '/socket.io/?EIO=4';
const poll = (sid) => `${EIO}&transport=polling&sid=${sid}`;

// ---- helpers ----------------------------------------------------------------------------------

const http = httpWith(() => base);

function expect400(r, what) {
  check(r.status === 400, `${what}: status ${r.status} (expected 400), body ${JSON.stringify(r.text)}`);
}

const checkOpenPacket = (text, upgrades, what) =>
  checkOpen(text, upgrades, what, { pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, maxPayload: 1000000 });

// A WebSocket at /socket.io/?<query>. Pings ("2") are answered and left out of the queue
// unless `keepPings` (then the test sees and answers them itself). Text comes as strings,
// binary as Buffers.
const wsConnect = (query, { keepPings = false } = {}) =>
  wsQueue(`${wsBase}/socket.io/?${query}`, { answerPings: !keepPings });

// An Engine.IO WebSocket session at /socket.io/ (open packet checked), no namespace yet.
async function openEngine(opts) {
  const s = wsConnect('EIO=4&transport=websocket', opts);
  await s.open();
  checkOpenPacket(await s.next(), [], 'websocket handshake');
  return s;
}

// The suite's initSocketIOConnection: connected to "/" (handshake and auth packet taken).
async function openSocketIO() {
  const s = await openEngine();
  s.send('40');
  const hs = await s.next();
  check(hs.startsWith('40{'), `CONNECT reply ${JSON.stringify(hs)}`);
  const auth = await s.next();
  check(auth === '42["auth",{}]', `auth packet ${JSON.stringify(auth)}`);
  return s;
}

// The CONNECT reply's JSON after `prefix`: exactly {sid: string}.
function checkConnectReply(data, prefix, what) {
  check(data.startsWith(prefix), `${what}: CONNECT reply ${JSON.stringify(data)} (expected ${prefix}...)`);
  const v = JSON.parse(data.slice(prefix.length));
  check(JSON.stringify(Object.keys(v)) === '["sid"]', `${what}: CONNECT reply keys ${Object.keys(v)} (expected sid only)`);
  check(typeof v.sid === 'string' && v.sid.length > 0, `${what}: sid ${JSON.stringify(v.sid)}`);
  return v.sid;
}

// The connection is closed by the server (after `what` was sent).
async function expectClosed(s, what, ms = 3000) {
  await s.closed(ms).catch(() => fail(`${what}: the connection was not closed`));
}

// ---- polling helpers ----------------------------------------------------------------------------

async function openPolling() {
  const r = await http(`${EIO}&transport=polling`);
  check(r.status === 200, `polling handshake: ${r.status} ${JSON.stringify(r.text)}`);
  return checkOpenPacket(r.text, ['websocket'], 'polling handshake').sid;
}

async function post(sid, body, what) {
  const r = await http(poll(sid), { method: 'POST', body });
  check(r.status === 200 && r.text === 'ok', `${what}: POST ${r.status} ${JSON.stringify(r.text)}`);
}

// Polls until packets other than pings come (pings are answered); returns them.
async function pollPackets(sid, what) {
  for (let i = 0; i < 20; i++) {
    const r = await http(poll(sid));
    check(r.status === 200, `${what}: poll ${r.status} ${JSON.stringify(r.text)}`);
    const packets = r.text.split('\x1e');
    if (packets.includes('2')) await post(sid, '3', `${what} (pong)`);
    const rest = packets.filter((p) => p !== '2');
    if (rest.length) return rest;
  }
  return fail(`${what}: only pings in 20 polls`);
}

// Collects `count` non-ping packets, over as many polls as it takes.
async function pollCount(sid, count, what) {
  const got = [];
  while (got.length < count) got.push(...await pollPackets(sid, what));
  check(got.length === count, `${what}: ${got.length} packets ${JSON.stringify(got)} (expected ${count})`);
  return got;
}

// ---- Engine.IO at /socket.io/ -----------------------------------------------------------------

async function engineLayer() {
  const r = await http(`${EIO}&transport=polling`);
  check(r.status === 200, `polling handshake status ${r.status}`);
  checkOpenPacket(r.text, ['websocket'], 'polling handshake');
  expect400(await http('/socket.io/?transport=polling'), 'no EIO');
  expect400(await http('/socket.io/?EIO=abc&transport=polling'), 'EIO=abc');
  expect400(await http('/socket.io/?EIO=4'), 'no transport');
  expect400(await http('/socket.io/?EIO=4&transport=abc'), 'transport=abc');
  expect400(await http(`${EIO}&transport=polling`, { method: 'POST' }), 'POST handshake');
  expect400(await http(`${EIO}&transport=polling`, { method: 'PUT' }), 'PUT handshake');

  const s = await openEngine();
  s.ws.close();
  await s.closed();
  for (const q of ['transport=websocket', 'EIO=abc&transport=websocket', 'EIO=4', 'EIO=4&transport=abc']) {
    const bad = wsConnect(q);
    await bad.closed();
    check(!bad.wasOpened(), `ws ?${q} was opened (must be refused)`);
  }

  // Heartbeat: three rounds over each transport, and the ping timeout.
  {
    const ws = await openEngine({ keepPings: true });
    ws.send('40');  // connected, so that connectTimeout (1 s) does not end the session meanwhile
    const hs = await ws.next(2000);
    check(hs.startsWith('40{'), `heartbeat session CONNECT reply ${JSON.stringify(hs)}`);
    const auth = await ws.next(2000);
    check(auth === '42["auth",{}]', `heartbeat session auth packet ${JSON.stringify(auth)}`);
    for (let i = 0; i < 3; i++) {
      const m = await ws.next(2000);
      check(m === '2', `ws heartbeat ${i}: ${JSON.stringify(m)}`);
      ws.send('3');
    }
    ws.ws.close();
    await ws.closed();
    const sid = await openPolling();
    // CONNECT first: a session without a namespace is closed at connectTimeout (1 s), which
    // three rounds of 300 ms pings come close to on a slow machine.
    await post(sid, '40', 'heartbeat session connect');
    const connectReply = await http(poll(sid));
    check(connectReply.status === 200 && connectReply.text.startsWith('40{'),
      `heartbeat session connect reply: ${connectReply.status} ${JSON.stringify(connectReply.text)}`);
    for (let i = 0; i < 3; i++) {
      const p = await http(poll(sid));
      check(p.status === 200 && p.text === '2', `polling heartbeat ${i}: ${p.status} ${JSON.stringify(p.text)}`);
      await post(sid, '3', `polling pong ${i}`);
    }
    const silent = await openPolling();
    await sleep(PING_INTERVAL + PING_TIMEOUT + 50);
    expect400(await http(poll(silent)), 'poll after the ping timeout');
    const silentWs = wsConnect('EIO=4&transport=websocket', { keepPings: true });
    await expectClosed(silentWs, 'websocket that never answers pings');
  }

  // Close packet over both transports.
  {
    const sid = await openPolling();
    const [held, push] = await Promise.all([http(poll(sid)), sleep(20).then(() => http(poll(sid), { method: 'POST', body: '1' }))]);
    check(push.status === 200, `POST "1": ${push.status}`);
    check(held.status === 200 && held.text === '6', `held poll on close: ${held.status} ${JSON.stringify(held.text)}`);
    expect400(await http(poll(sid)), 'poll after the close packet');
    const ws = await openEngine();
    ws.send('1');
    await expectClosed(ws, 'websocket close packet');
  }

  // Upgrade; then polls and a second WebSocket for the sid are refused.
  {
    const sid = await openPolling();
    const ws = wsConnect(`EIO=4&transport=websocket&sid=${sid}`);
    await ws.open();
    ws.send('2probe');
    check(await ws.next() === '3probe', 'probe answer');
    ws.send('5');
    await sleep(50);
    expect400(await http(poll(sid)), 'poll after the upgrade');
    const ws2 = wsConnect(`EIO=4&transport=websocket&sid=${sid}`);
    await ws2.closed();
    ws.ws.close();
    await ws.closed();
  }
  console.log('  engine.io at /socket.io/: open packets, refusals, heartbeat, ping timeout, close, upgrade');
}

// ---- Socket.IO: the suite's cases over WebSocket -------------------------------------------------

async function connects() {
  for (const [send, prefix, auth] of [
    ['40', '40', '42["auth",{}]'],
    ['40{"token":"123"}', '40', '42["auth",{"token":"123"}]'],
    ['40/custom,', '40/custom,', '42/custom,["auth",{}]'],
    ['40/custom,{"token":"abc"}', '40/custom,', '42/custom,["auth",{"token":"abc"}]'],
  ]) {
    const s = await openEngine();
    s.send(send);
    checkConnectReply(await s.next(), prefix, `CONNECT ${send}`);
    const a = await s.next();
    check(a === auth, `CONNECT ${send}: auth packet ${JSON.stringify(a)} (expected ${auth})`);
    s.ws.close();
  }

  // Unknown namespace (the suite sends it without the trailing comma): CONNECT_ERROR; the
  // connection stays and may still join "/".
  {
    const s = await openEngine();
    s.send('40/random');
    const m = await s.next();
    check(m === '44/random,{"message":"Invalid namespace"}', `unknown namespace: ${JSON.stringify(m)}`);
    s.send('40');
    checkConnectReply(await s.next(), '40', 'CONNECT "/" after an invalid namespace');
    check(await s.next() === '42["auth",{}]', 'auth after an invalid namespace');
    s.ws.close();
  }

  // An invalid first packet closes the connection.
  {
    const s = await openEngine();
    s.send('4abc');
    await expectClosed(s, 'invalid handshake "4abc"');
  }

  // No CONNECT within connectTimeout: closed, although pings are answered.
  {
    const start = Date.now();
    const s = await openEngine();
    await expectClosed(s, 'no CONNECT', CONNECT_TIMEOUT + 2000);
    const took = Date.now() - start;
    check(took >= CONNECT_TIMEOUT - 100, `no CONNECT: closed after ${took} ms (before connectTimeout)`);
  }
  console.log('  connect: "/" and "/custom" with and without auth, "Invalid namespace", bad first packet, connectTimeout');
}

async function disconnects() {
  // DISCONNECT from "/": no reply; the next frame is the heartbeat's ping.
  {
    const s = await openSocketIO();
    s.ws.removeAllListeners('message');
    const next = new Promise((resolve) => s.ws.once('message', (d) => resolve(d.toString())));
    s.send('41');
    const m = await withTimeout(next, 2000, 'frame after "41"');
    check(m === '2', `after DISCONNECT: ${JSON.stringify(m)} (expected the ping "2")`);
    s.send('3');
    // Events for "/" are no longer handled, the connection is still up.
    s.ws.on('message', (d) => { if (d.toString() === '2') s.send('3'); else fail(`after "41": unexpected ${d}`); });
    s.send('42["message","after disconnect"]');
    await sleep(PING_INTERVAL + PING_TIMEOUT + 100);
    check(s.isOpen(), 'the connection closed after a DISCONNECT from "/"');
    s.ws.removeAllListeners('message');
    s.ws.close();
  }
  // Connect to "/custom", leave it, and "/" still answers.
  {
    const s = await openSocketIO();
    s.send('40/custom');
    checkConnectReply(await s.next(), '40/custom,', 'CONNECT /custom');
    check(await s.next() === '42/custom,["auth",{}]', 'auth on /custom');
    s.send('41/custom');
    s.send('42["message","message to main namespace"]');
    const m = await s.next();
    check(m === '42["message-back","message to main namespace"]', `message after leaving /custom: ${JSON.stringify(m)}`);
    // "/custom" has been left: an event for it is ignored, "/" goes on.
    s.send('42/custom,["message","x"]');
    s.send('42["message","still"]');
    const m2 = await s.next();
    check(m2 === '42["message-back","still"]', `message after an event to a left namespace: ${JSON.stringify(m2)}`);
    s.ws.close();
  }
  console.log('  disconnect: from "/" (no reply, connection kept), from "/custom" ("/" goes on)');
}

async function messages() {
  {
    const s = await openSocketIO();
    s.send('42["message",1,"2",{"3":[true]}]');
    const m = await s.next();
    check(m === '42["message-back",1,"2",{"3":[true]}]', `plain message: ${JSON.stringify(m)}`);

    s.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    s.send(Uint8Array.from([1, 2, 3]));
    s.send(Uint8Array.from([4, 5, 6]));
    const [head, b0, b1] = [await s.next(), await s.next(), await s.next()];
    check(head === '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
      `binary message: ${JSON.stringify(head)}`);
    check(Buffer.isBuffer(b0) && b0.equals(Buffer.from([1, 2, 3])), `binary message attachment 0: ${JSON.stringify(b0)}`);
    check(Buffer.isBuffer(b1) && b1.equals(Buffer.from([4, 5, 6])), `binary message attachment 1: ${JSON.stringify(b1)}`);

    s.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    const a = await s.next();
    check(a === '43456[1,"2",{"3":[false]}]', `ack: ${JSON.stringify(a)}`);

    s.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    s.send(Uint8Array.from([1, 2, 3]));
    s.send(Uint8Array.from([4, 5, 6]));
    const [ah, a0, a1] = [await s.next(), await s.next(), await s.next()];
    check(ah === '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', `binary ack: ${JSON.stringify(ah)}`);
    check(Buffer.isBuffer(a0) && a0.equals(Buffer.from([1, 2, 3])), 'binary ack attachment 0');
    check(Buffer.isBuffer(a1) && a1.equals(Buffer.from([4, 5, 6])), 'binary ack attachment 1');

    // An ACK for an id the server never used is ignored.
    s.send('4399["whatever"]');
    s.send('42["message","after a stray ack"]');
    check(await s.next() === '42["message-back","after a stray ack"]', 'message after a stray ack');
    s.ws.close();
  }
  for (const [bad, what] of [
    ['4abc', 'unknown packet type'],
    ['42{}', 'payload not an array'],
    ['42abc["message-with-ack",1,"2",{"3":[false]}]', 'invalid ack id'],
    ['42[]', 'empty event array'],
    ['431{}', 'ACK payload not an array'],
    ['42/custom,["message"', 'truncated JSON'],
  ]) {
    const s = await openSocketIO();
    s.send(bad);
    await expectClosed(s, `malformed packet ${JSON.stringify(bad)} (${what})`);
  }
  // Binary attachments that do not fit their packet (socket.io-parser's rules): a placeholder
  // past the attachments, a binary frame when none is expected.
  for (const [frames, what] of [
    [['451-["message",{"_placeholder":true,"num":1}]', Buffer.from([1])], 'placeholder past the attachments'],
    [[Buffer.from([1, 2])], 'binary frame without a packet'],
  ]) {
    const s = await openSocketIO();
    for (const f of frames) s.send(f);
    await expectClosed(s, what);
  }
  // A CONNECT whose payload is not an object.
  for (const bad of ['40[1]', '40"token"']) {
    const s = await openEngine();
    s.send(bad);
    await expectClosed(s, `CONNECT ${bad}`);
  }
  console.log('  message: plain, binary, ack, binary ack, stray ack; 10 malformed packets close the connection');
}

// ---- beyond the suite: the same over polling, and across an upgrade --------------------------------

async function overPolling() {
  const sid = await openPolling();
  await post(sid, '40{"token":"p"}', 'CONNECT');
  const [hs, auth] = await pollCount(sid, 2, 'CONNECT over polling');
  checkConnectReply(hs, '40', 'CONNECT over polling');
  check(auth === '42["auth",{"token":"p"}]', `auth over polling: ${JSON.stringify(auth)}`);

  // Several packets in one POST, binary attachments as base64 "b" packets both ways.
  await post(sid, '42["message","a"]\x1e42["message","b"]\x1e427["message-with-ack",7]', 'batch');
  const batch = await pollCount(sid, 3, 'batch over polling');
  check(JSON.stringify(batch) === JSON.stringify(['42["message-back","a"]', '42["message-back","b"]', '437[7]']),
    `batch over polling: ${JSON.stringify(batch)}`);
  await post(sid, '451-["message",{"_placeholder":true,"num":0}]\x1ebAQID', 'binary');
  const bin = await pollCount(sid, 2, 'binary over polling');
  check(JSON.stringify(bin) === JSON.stringify(['451-["message-back",{"_placeholder":true,"num":0}]', 'bAQID']),
    `binary over polling: ${JSON.stringify(bin)}`);

  // Then the upgrade: the socket goes on over the WebSocket.
  const ws = wsConnect(`EIO=4&transport=websocket&sid=${sid}`);
  await ws.open();
  ws.send('2probe');
  check(await ws.next() === '3probe', 'probe answer');
  const noop = await http(poll(sid));
  check(noop.status === 200 && noop.text.split('\x1e').includes('6'), `poll during the probe: ${JSON.stringify(noop.text)}`);
  ws.send('5');
  ws.send('42["message","upgraded"]');
  const up = await ws.next();
  check(up === '42["message-back","upgraded"]', `after the upgrade: ${JSON.stringify(up)}`);
  ws.ws.close();
  await ws.closed();

  // A malformed packet over polling ends the session: the next poll gets the close packet (or
  // 400), then the sid is unknown.
  {
    const sid2 = await openPolling();
    await post(sid2, '40', 'CONNECT');
    await pollCount(sid2, 2, 'CONNECT');
    const r = await http(poll(sid2), { method: 'POST', body: '42{}' });
    check(r.status === 200 || r.status === 400, `POST of a malformed packet: ${r.status}`);
    const after = await http(poll(sid2));
    check(after.status === 400 || (after.status === 200 && after.text.split('\x1e').pop() === '1'),
      `poll after a malformed packet: ${after.status} ${JSON.stringify(after.text)}`);
    expect400(await http(poll(sid2)), 'second poll after a malformed packet');
  }

  // No CONNECT over polling within connectTimeout: the poll gets the close packet.
  {
    const start = Date.now();
    const sid3 = await openPolling();
    let closed = false;
    while (!closed && Date.now() - start < CONNECT_TIMEOUT + 2000) {
      const p = await http(poll(sid3));
      if (p.status !== 200) break;
      const packets = p.text.split('\x1e');
      if (packets.includes('1')) closed = true;
      else if (packets.includes('2')) await post(sid3, '3', 'pong while waiting for connectTimeout');
    }
    const took = Date.now() - start;
    check(closed, `polling session without CONNECT not closed with "1" (${took} ms)`);
    check(took >= CONNECT_TIMEOUT - 100, `polling session without CONNECT closed after ${took} ms`);
  }
  console.log('  polling: CONNECT with auth, batch and ack, base64 binary, upgrade, malformed POST, connectTimeout');
}

// The server ends a session while the client is between "3probe" and "5" (its last poll got
// the noop, and a client polls no more then): the close packet must still reach it, over the
// new transport once it sends "5" (as Engine.IO's server does), else the client would sit
// there until its ping timeout. Here the end is a malformed packet in a POST that the client
// sent before it saw "3probe".
async function closeDuringUpgrade() {
  const sid = await openPolling();
  await post(sid, '40', 'CONNECT');
  await pollCount(sid, 2, 'CONNECT before the upgrade');
  const ws = wsConnect(`EIO=4&transport=websocket&sid=${sid}`);
  await ws.open();
  ws.send('2probe');
  check(await ws.next() === '3probe', 'probe answer');
  const noop = await http(poll(sid));
  check(noop.status === 200 && noop.text === '6', `poll during the probe: ${noop.status} ${JSON.stringify(noop.text)}`);
  const r = await http(poll(sid), { method: 'POST', body: '4abc' });
  check(r.status === 200 || r.status === 400, `malformed POST during the probe: ${r.status}`);
  ws.send('5');
  const m = await ws.next(2000).catch(() => fail('closed during the upgrade: no close packet over the new transport'));
  check(m === '1', `closed during the upgrade: ${JSON.stringify(m)} (expected the close packet)`);
  await expectClosed(ws, 'closed during the upgrade');
  expect400(await http(poll(sid)), 'poll after a close during the upgrade');
  console.log('  closed between "3probe" and "5": the close packet comes over the new transport after "5"');
}

// ---- run with one and two loop threads -------------------------------------------------------------

try {
  for (const threads of [1, 2]) {
    const server = await startListening([fixture, '--port', '0', '--threads', String(threads)]);
    base = `http://127.0.0.1:${server.port}`;
    wsBase = `ws://127.0.0.1:${server.port}`;
    console.log(`--threads ${threads} (port ${server.port})`);
    await engineLayer();
    await connects();
    await disconnects();
    await messages();
    await overPolling();
    await closeDuringUpgrade();
    const code = await server.stop('SIGTERM');
    check(code === 0, `sio_protocol_fixture exited with ${code} after SIGTERM (expected 0)`);
  }
} catch (e) {
  fail(e.stack || e.message);
}
done();
