// socket.io-client (npm, pinned in package.json) against sio_showcase (examples/sio_showcase.cc,
// whose header comment is the event contract driven here), with two loop threads, so sockets
// and broadcasts cross threads:
// - default transports: polling, then the upgrade, with 200 acked echoes started at `connect`
//   (all answered, in order); again with the WebSocket probe held back 400 ms so that the
//   upgrade surely falls inside a stream of echoes (answers over both transports, none lost,
//   in order); whoami shows transport and rooms;
// - WebSocket only, and polling only with binary and batched emits (many in one tick share a
//   POST);
// - acks both ways with timeouts: ask-me answered, ask-me unanswered -> {ok:false, error}, the
//   client's own timeout on an event the server never acks;
// - rooms and broadcasts with 3 clients (to-room skips the sender and non-members, broadcast
//   skips the sender);
// - binary nested inside objects and arrays, and ~500 KB, over WebSocket and over polling;
// - namespaces: static /admin and dynamic /dyn-abc multiplexed on one connection, /nope ->
//   connect_error "Invalid namespace"; middleware refusal (message "unauthorized", data
//   {reason: "bad token"}) on "/" only;
// - server disconnect ("io server disconnect", no reconnection) vs a dropped transport
//   ("transport close", automatic reconnection);
// - payload over maxHttpBufferSize (1e6) closes the connection, over polling (the POST gets
//   413, the client a transport error) and over WebSocket (transport close);
// - a server restart on the same port, after a graceful stop and after SIGKILL: clients over
//   WebSocket and polling reconnect by themselves;
// - connection state recovery (--recovery): after a dropped transport the socket comes back
//   with recovered === true, the same id, its rooms, and the broadcast it missed; after a
//   server-side disconnect it does not.
// Every server must exit 0 on SIGTERM (ASan/UBSan/LSan reports make it exit non-zero).
//
//   node socketio_client.mjs SIO_SHOWCASE
import { bound, check, fail, importPeer, requireExecutable, startListening, withTimeout } from './support.mjs';

const { io, Manager } = await importPeer('socket.io-client');
// socket.io-client's own engine (a dependency it installs): its transports, to slow the probe.
const { NodeXHR, NodeWebSocket } = await importPeer('engine.io-client');
const done = bound(90000);
const showcase = requireExecutable(process.argv[2], 'sio_showcase');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let url = '';
const opened = new Set();  // every client socket, closed at the end

// Fast, deterministic reconnection; a new Manager (so a new connection) per call.
const BASE_OPTS = { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0, timeout: 5000 };

function client(path = '/', opts = {}) {
  const s = io(url + path, { ...BASE_OPTS, ...opts });
  opened.add(s);
  return s;
}

// Resolves with the arguments of the next `event` on `emitter`, within `ms`.
function once(emitter, event, ms = 5000, what = event) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, what);
}

async function connected(s, what) {
  if (s.connected) return;
  const r = await withTimeout(new Promise((resolve) => {
    s.once('connect', () => resolve(null));
    s.once('connect_error', (e) => resolve(e));
  }), 5000, `${what}: connect`);
  if (r) fail(`${what}: connect_error ${r.message} ${JSON.stringify(r.data)}`);
}

// Emits asking for an ack; resolves with every argument of the answer (emitWithAck gives only
// the first). Rejects with the client's timeout error after `ms`.
function acked(s, ms, ...args) {
  return new Promise((resolve, reject) => {
    s.timeout(ms).emit(...args, (err, ...answer) => (err ? reject(err) : resolve(answer)));
  });
}
const ack = (s, ...args) => acked(s, 5000, ...args).catch((e) => fail(`ack of ${args[0]}: ${e.message}`));

// Collects every `event` on `s` into an array.
function collect(s, event) {
  const got = [];
  s.on(event, (...args) => got.push(args));
  return got;
}

function close(s) {
  s.disconnect();
  opened.delete(s);
}

// ---- default transports: polling, then upgrade, with acks in flight ---------------------------

// At least `count` acked echoes, `perTick` every `everyMs`, from `connect` on, and more while
// more() says so (at most 5000); resolves with the answers and, per echo, the transport its
// answer came over.
function echoStream(s, count, perTick, everyMs, more = () => false) {
  return new Promise((resolve, reject) => {
    s.once('connect_error', reject);
    s.once('connect', () => {
      const all = [];
      const via = [];
      const order = [];
      let i = 0;
      const tick = () => {
        for (let k = 0; k < perTick; k++, i++) {
          const n = i;
          all.push(acked(s, 10000, 'echo', n, { n, text: `m${n}` }).then((args) => {
            order.push(n);
            via[n] = s.io.engine.transport.name;
            return args;
          }));
        }
        if (i < count || (more() && i < 5000)) setTimeout(tick, everyMs);
        else Promise.all(all).then((answers) => resolve({ answers, via, order }), reject);
      };
      tick();
    });
  });
}

function checkEchoes({ answers, order }, count, what) {
  check(answers.length >= count, `${what}: ${answers.length} answers`);
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i];
    check(a.length === 2 && a[0] === i && a[1].n === i && a[1].text === `m${i}`, `${what}: echo ${i}: ${JSON.stringify(a)}`);
  }
  check(order.every((v, i) => v === i), `${what}: acks out of order: ${order.slice(0, 20)}...`);
}

async function upgradeWithAcksInFlight() {
  const N = 200;
  // Default options: 200 echoes emitted at `connect`, all at once (the probe may finish
  // before or after the CONNECT reply).
  {
    const s = client();
    const r = await withTimeout(echoStream(s, N, N, 0), 15000, `${N} echoes at connect`);
    checkEchoes(r, N, 'echoes at connect');
    if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade', 5000, 'upgrade to websocket');
    await ack(s, 'join', 'lobby');
    const [me] = await ack(s, 'whoami');
    check(me.id === s.id && me.nsp === '/' && me.transport === 'websocket' && me.recovered === false,
      `whoami after upgrade: ${JSON.stringify(me)}`);
    check(JSON.stringify([...me.rooms].sort()) === JSON.stringify([s.id, 'lobby'].sort()), `whoami rooms ${JSON.stringify(me.rooms)}`);
    check(me.query.EIO === '4' && me.query.transport === 'polling' && JSON.stringify(me.auth) === '{}',
      `whoami query/auth ${JSON.stringify(me)}`);
    await ack(s, 'leave', 'lobby');
    const [me2] = await ack(s, 'whoami');
    check(JSON.stringify(me2.rooms) === JSON.stringify([s.id]), `whoami rooms after leave ${JSON.stringify(me2.rooms)}`);
    close(s);
  }
  // The WebSocket probe held back 400 ms, so that the upgrade lands in the middle of a stream
  // of echoes (2 every 5 ms, going on until 20 were sent after the upgrade): some answers come
  // over polling, the rest over the WebSocket, none lost, all in order.
  {
    class SlowWebSocket extends NodeWebSocket {
      doOpen() { setTimeout(() => super.doOpen(), 400); }
    }
    const s = client('/', { transports: [NodeXHR, SlowWebSocket] });
    let sentAfterUpgrade = -1;
    s.io.engine.once('upgrade', () => { sentAfterUpgrade = 0; });
    s.on('connect', () => check(s.io.engine.transport.name === 'polling', 'connected over the WebSocket before the slow probe'));
    const r = await withTimeout(echoStream(s, N, 2, 5, () => sentAfterUpgrade < 0 || (sentAfterUpgrade += 2) < 20), 15000,
      `${N} echoes across the upgrade`);
    const total = r.answers.length;
    checkEchoes(r, total, 'echoes across the upgrade');
    const overPolling = r.via.filter((t) => t === 'polling').length;
    check(sentAfterUpgrade >= 0 && overPolling > 0 && overPolling < total,
      `echoes across the upgrade: ${overPolling} of ${total} answered over polling (expected some on each transport)`);
    const [me] = await ack(s, 'whoami');
    check(me.transport === 'websocket', `whoami after the slow upgrade: ${me.transport}`);
    close(s);
    console.log(`  polling -> websocket: ${N} acked echoes at connect; ${total} more across the upgrade (${overPolling} over polling), in order; whoami, join/leave`);
  }
}

// ---- single transports ---------------------------------------------------------------------------

async function websocketOnly() {
  const s = client('/', { transports: ['websocket'], auth: { token: 'ok', n: 1 }, query: { q: 'v' } });
  await connected(s, 'websocket only');
  const [me] = await ack(s, 'whoami');
  check(me.transport === 'websocket', `websocket only: whoami transport ${me.transport}`);
  check(me.auth.token === 'ok' && me.auth.n === 1 && me.query.q === 'v', `websocket only: auth/query ${JSON.stringify(me)}`);
  const [a, b] = await ack(s, 'echo', 'héllo ✓ 𝄞', Buffer.from([0, 1, 255]));
  check(a === 'héllo ✓ 𝄞' && Buffer.isBuffer(b) && b.equals(Buffer.from([0, 1, 255])), `websocket echo ${JSON.stringify([a, b])}`);
  close(s);
  console.log('  websocket only: whoami (auth, query), UTF-8 and binary echo');
}

async function pollingOnly() {
  const s = client('/', { transports: ['polling'] });
  await connected(s, 'polling only');
  const [me] = await ack(s, 'whoami');
  check(me.transport === 'polling', `polling only: whoami transport ${me.transport}`);
  const [bin] = await ack(s, 'echo', Buffer.from([9, 8, 7]));
  check(Buffer.isBuffer(bin) && bin.equals(Buffer.from([9, 8, 7])), `polling binary echo ${JSON.stringify(bin)}`);

  // 100 emits in one tick go out in a few POSTs (the polling transport batches what was queued
  // while a POST was in flight); every ack comes back, in order.
  let posts = 0;
  s.io.engine.transport.on('drain', () => { posts++; });
  const N = 100;
  const order = [];
  const all = [];
  for (let i = 0; i < N; i++) {
    const args = i % 10 === 0 ? [i, Buffer.from([i])] : [i];
    all.push(acked(s, 10000, 'echo', ...args).then((r) => { order.push(i); return r; }));
  }
  const answers = await withTimeout(Promise.all(all), 10000, 'batched echoes over polling');
  answers.forEach((a, i) => {
    check(a[0] === i, `batched echo ${i}: ${JSON.stringify(a)}`);
    if (i % 10 === 0) check(Buffer.isBuffer(a[1]) && a[1][0] === i, `batched binary echo ${i}`);
  });
  check(order.every((v, i) => v === i), 'batched acks out of order');
  check(posts >= 1 && posts <= N / 4, `${N} emits took ${posts} POSTs (expected batching)`);
  check(s.io.engine.transport.name === 'polling', 'polling only: transport changed');
  close(s);
  console.log(`  polling only: binary echo, ${N} emits in ${posts} POSTs, acks in order`);
}

// ---- acks with timeouts --------------------------------------------------------------------------

async function acksAndTimeouts() {
  const s = client('/', { transports: ['websocket'] });
  let answer = true;
  s.on('question', (n, cb) => { if (answer) cb(n * 2); });
  await connected(s, 'acks');
  const [ok] = await ack(s, 'ask-me', 21);
  check(ok.ok === true && ok.answer === 42, `ask-me answered: ${JSON.stringify(ok)}`);
  answer = false;
  const t0 = Date.now();
  const [late] = await ack(s, 'ask-me', 1);
  const took = Date.now() - t0;
  check(late.ok === false && typeof late.error === 'string' && late.error.length > 0, `ask-me unanswered: ${JSON.stringify(late)}`);
  check(took >= 1800 && took < 4000, `ask-me unanswered took ${took} ms (server waits 2 s)`);
  // The client's timeout on an event the server never acks.
  const err = await withTimeout(new Promise((resolve) => {
    s.timeout(300).emit('no-ack', 'x', (e) => resolve(e));
  }), 3000, 'client-side ack timeout');
  check(err instanceof Error && err.message === 'operation has timed out', `client timeout: ${err}`);
  const [timedOut] = await Promise.allSettled([s.timeout(200).emitWithAck('no-ack')]);
  check(timedOut.status === 'rejected' && timedOut.reason.message === 'operation has timed out',
    `emitWithAck timeout: ${JSON.stringify(timedOut)}`);
  check(s.connected, 'acks: disconnected');
  close(s);
  console.log(`  acks: ask-me answered, unanswered -> ${JSON.stringify(late.error)} after ${took} ms, client-side timeouts`);
}

// ---- rooms and broadcast ---------------------------------------------------------------------------

async function roomsAndBroadcast() {
  const [a, b, c] = [client('/', { transports: ['websocket'] }), client(), client('/', { transports: ['polling'] })];
  await Promise.all([connected(a, 'A'), connected(b, 'B'), connected(c, 'C')]);
  const got = { a: collect(a, 'room-msg'), b: collect(b, 'room-msg'), c: collect(c, 'room-msg') };
  const bc = { a: collect(a, 'bcast'), b: collect(b, 'bcast'), c: collect(c, 'bcast') };
  await Promise.all([ack(a, 'join', 'r1'), ack(b, 'join', 'r1')]);
  const [sent] = await ack(a, 'to-room', 'r1', { hi: 'room', bin: Buffer.from([1, 2]) });
  check(sent === true, 'to-room ack');
  await withTimeout((async () => { while (!got.b.length) await sleep(10); })(), 3000, 'room-msg at B');
  await ack(b, 'broadcast', 'to all');
  await withTimeout((async () => { while (!bc.a.length || !bc.c.length) await sleep(10); })(), 3000, 'bcast at A and C');
  await sleep(300);  // anything misdelivered would have arrived by now
  check(got.b.length === 1 && got.b[0][0] === 'r1' && got.b[0][1].hi === 'room' &&
    Buffer.isBuffer(got.b[0][1].bin) && got.b[0][1].bin.equals(Buffer.from([1, 2])), `room-msg at B: ${JSON.stringify(got.b)}`);
  check(got.a.length === 0, `room-msg reached the sender: ${JSON.stringify(got.a)}`);
  check(got.c.length === 0, `room-msg reached a non-member: ${JSON.stringify(got.c)}`);
  check(bc.a.length === 1 && bc.c.length === 1 && bc.a[0][0] === 'to all' && bc.c[0][0] === 'to all',
    `bcast at A ${JSON.stringify(bc.a)}, C ${JSON.stringify(bc.c)}`);
  check(bc.b.length === 0, `bcast reached the sender: ${JSON.stringify(bc.b)}`);
  // After B leaves, A's room message reaches nobody; C joins and gets it.
  await Promise.all([ack(b, 'leave', 'r1'), ack(c, 'join', 'r1')]);
  await ack(a, 'to-room', 'r1', 2);
  await withTimeout((async () => { while (!got.c.length) await sleep(10); })(), 3000, 'room-msg at C');
  await sleep(200);
  check(got.b.length === 1 && got.a.length === 0 && got.c.length === 1 && got.c[0][1] === 2,
    `after leave/join: A ${got.a.length}, B ${got.b.length}, C ${JSON.stringify(got.c)}`);
  [a, b, c].forEach(close);
  console.log('  rooms: to-room reaches members but the sender, broadcast all but the sender, leave/join');
}

// ---- broadcast acks and fetchSockets ----------------------------------------------------------------

async function broadcastAcksAndFetch() {
  // Four clients, likely spread over both loop threads; A polls the others.
  const cs = [client('/', { transports: ['websocket'] }), client(), client('/', { transports: ['polling'] }),
    client('/', { transports: ['websocket'] })];
  await Promise.all(cs.map((s, i) => connected(s, `P${i}`)));
  const [a, b, c, d] = cs;
  b.on('poll', (x, cb) => cb(`b:${x}`));
  c.on('poll', (x, cb) => cb(`c:${x}`));
  d.on('poll', (x, cb) => cb(`d:${x}`));
  let [r] = await ack(a, 'poll-all', 'q', 2000);
  const got = r.answers.map((x) => x[0]).sort().join();
  check(r.error === null && got === 'b:q,c:q,d:q', `broadcast ack: ${JSON.stringify(r)}`);
  // D does not answer: the timeout reports the answers that came.
  d.off('poll');
  d.on('poll', () => {});
  [r] = await ack(a, 'poll-all', 'z', 300);
  check(r.error === 'operation has timed out' && r.answers.map((x) => x[0]).sort().join() === 'b:z,c:z',
    `broadcast ack timeout: ${JSON.stringify(r)}`);
  await Promise.all([ack(b, 'join', 'f1'), ack(c, 'join', 'f1')]);
  const [ids] = await ack(a, 'fetch', 'f1');
  check(JSON.stringify(ids) === JSON.stringify([b.id, c.id].sort()), `fetch f1: ${JSON.stringify(ids)} vs ${b.id}, ${c.id}`);
  const [none] = await ack(a, 'fetch', 'nobody-here');
  check(Array.isArray(none) && none.length === 0, `fetch of an empty room: ${JSON.stringify(none)}`);
  cs.forEach(close);
  // Server-side room operations on other sockets, across threads: sockets_join/leave, volatile
  // broadcasts, disconnect_sockets; and a per-packet middleware.
  {
    const [x, y, z] = [client('/', { transports: ['websocket'] }), client('/', { transports: ['websocket'] }),
      client('/', { transports: ['websocket'] })];
    await Promise.all([connected(x, 'X'), connected(y, 'Y'), connected(z, 'Z')]);
    await Promise.all([ack(x, 'join', 'h1'), ack(y, 'join', 'h1')]);
    await ack(z, 'herd', 'h1', 'h2');
    let [ids] = [];
    for (let i = 0; i < 50; i++) {  // sockets_join runs on each loop thread: wait for both
      [ids] = await ack(z, 'fetch', 'h2');
      if (ids.length === 2) break;
      await sleep(20);
    }
    check(JSON.stringify(ids) === JSON.stringify([x.id, y.id].sort()), `sockets_join: h2 holds ${JSON.stringify(ids)}`);
    const vol = { x: collect(x, 'vol'), y: collect(y, 'vol'), z: collect(z, 'vol') };
    await ack(z, 'volatile-to', 'h2', 'v');
    await withTimeout((async () => { while (!vol.x.length || !vol.y.length) await sleep(10); })(), 3000, 'volatile broadcast');
    check(vol.z.length === 0 && vol.x[0][0] === 'v', `volatile: ${JSON.stringify(vol)}`);
    await ack(z, 'unherd', 'h2', 'h2');
    for (let i = 0; i < 50; i++) {
      [ids] = await ack(z, 'fetch', 'h2');
      if (ids.length === 0) break;
      await sleep(20);
    }
    check(ids.length === 0, `sockets_leave: h2 still holds ${JSON.stringify(ids)}`);
    // A per-packet middleware refuses "forbidden": no handler runs, no ack comes.
    const refused = await acked(z, 300, 'forbidden').then(() => 'answered', (e) => e.message);
    check(refused === 'operation has timed out', `forbidden event: ${refused}`);
    check((await ack(z, 'echo', 'still'))[0] === 'still', 'echo after a refused packet');
    const reasons = { x: once(x, 'disconnect'), y: once(y, 'disconnect') };
    await ack(z, 'kick-room', 'h1');
    const [rx] = await reasons.x;
    const [ry] = await reasons.y;
    check(rx === 'io server disconnect' && ry === 'io server disconnect', `disconnect_sockets: ${rx}, ${ry}`);
    check(z.connected, 'kick-room disconnected the caller, who is not in the room');
    [x, y, z].forEach(close);
  }
  // allowRequest refuses a handshake by its query, over polling and over WebSocket.
  for (const transports of [['polling'], ['websocket']]) {
    const denied = client('/', { transports, query: { deny: '1' }, reconnection: false });
    const err = await withTimeout(new Promise((r) => denied.once('connect_error', r)), 5000, 'denied handshake');
    const status = transports[0] === 'polling' ? err.description : String(err.description?.message);
    check(!denied.connected && (status === 403 || /403/.test(status)),
      `allow_request (${transports}): ${err.message} ${JSON.stringify(status)}`);
    close(denied);
  }
  console.log('  broadcast acks: one answer per socket across threads, timeout with partial answers; fetchSockets by room; sockets_join/leave, volatile, disconnect_sockets, packet middleware; allow_request refuses');
}

// ---- binary ------------------------------------------------------------------------------------------

function pattern(size, seed) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed + i * 13) & 0xff;
  return b;
}

async function binaryNestedAndLarge() {
  for (const transports of [['websocket'], ['polling']]) {
    const s = client('/', { transports });
    await connected(s, `binary ${transports}`);
    const big = pattern(500 * 1024, 7);
    const value = {
      name: 'nested',
      blob: pattern(16, 1),
      list: [pattern(1, 2), 'text', { deep: [pattern(0, 3), pattern(300, 4)] }],
      empty: {},
    };
    const [v, b2, n] = await acked(s, 10000, 'echo', value, big, 5);
    check(v.name === 'nested' && v.list[1] === 'text' && JSON.stringify(v.empty) === '{}', `nested structure ${transports}`);
    check(Buffer.isBuffer(v.blob) && v.blob.equals(value.blob), `nested blob over ${transports}`);
    check(Buffer.isBuffer(v.list[0]) && v.list[0].equals(value.list[0]), `list[0] over ${transports}`);
    check(Buffer.isBuffer(v.list[2].deep[0]) && v.list[2].deep[0].length === 0, `empty buffer over ${transports}`);
    check(Buffer.isBuffer(v.list[2].deep[1]) && v.list[2].deep[1].equals(value.list[2].deep[1]), `deep buffer over ${transports}`);
    check(Buffer.isBuffer(b2) && b2.equals(big), `500 KB buffer over ${transports}: ${b2 && b2.length} bytes`);
    check(n === 5, `trailing number over ${transports}`);
    close(s);
  }
  console.log('  binary: nested buffers (incl. empty) and 500 KB, over websocket and polling');
}

// ---- namespaces and middleware -------------------------------------------------------------------

async function namespaces() {
  const m = new Manager(url, { ...BASE_OPTS });
  const root = m.socket('/');
  const admin = m.socket('/admin');
  const dyn = m.socket('/dyn-abc');
  [root, admin, dyn].forEach((s) => { opened.add(s); s.connect(); });
  await Promise.all([connected(root, '/'), connected(admin, '/admin'), connected(dyn, '/dyn-abc')]);
  const [ra] = await ack(admin, 'whoami');
  const [rd] = await ack(dyn, 'whoami');
  check(ra.nsp === '/admin' && ra.id === admin.id, `/admin whoami ${JSON.stringify(ra)}`);
  check(rd.nsp === '/dyn-abc' && rd.id === dyn.id, `/dyn-abc whoami ${JSON.stringify(rd)}`);
  check(admin.id !== root.id && dyn.id !== root.id, 'namespace sockets share an id');
  const nope = m.socket('/nope');
  opened.add(nope);
  nope.connect();
  const [err] = await once(nope, 'connect_error', 5000, '/nope connect_error');
  check(err.message === 'Invalid namespace', `/nope: ${err.message}`);
  check(root.connected && admin.connected, 'a refused namespace broke the others');
  const [still] = await ack(root, 'echo', 'still');
  check(still === 'still', 'echo on / after /nope');
  [root, admin, dyn, nope].forEach(close);

  const bad = client('/', { auth: { token: 'bad' } });
  const [e] = await once(bad, 'connect_error', 5000, 'middleware connect_error');
  check(e.message === 'unauthorized' && e.data && e.data.reason === 'bad token', `middleware: ${e.message} ${JSON.stringify(e.data)}`);
  await sleep(400);
  check(!bad.connected && !bad.active, 'a refused socket reconnected by itself');
  close(bad);
  // The middleware is "/"'s: the same token is welcome on /admin.
  const adminBad = client('/admin', { auth: { token: 'bad' } });
  await connected(adminBad, '/admin with token "bad"');
  const [aw] = await ack(adminBad, 'whoami');
  check(aw.nsp === '/admin' && aw.auth.token === 'bad', `/admin whoami ${JSON.stringify(aw)}`);
  close(adminBad);
  console.log('  namespaces: /admin and /dyn-abc on one connection, /nope -> "Invalid namespace"; middleware -> unauthorized {reason}');
}

// ---- disconnects -----------------------------------------------------------------------------------

async function disconnects() {
  // Server-side disconnect: no reconnection.
  {
    const s = client();
    await connected(s, 'disconnect-me');
    let reconnects = 0;
    s.io.on('reconnect_attempt', () => { reconnects++; });
    s.on('connect', () => { reconnects++; });
    s.emit('disconnect-me');
    const [reason] = await once(s, 'disconnect', 5000, 'disconnect after disconnect-me');
    check(reason === 'io server disconnect', `disconnect-me: reason ${reason}`);
    await sleep(800);
    check(!s.connected && reconnects === 0, `disconnect-me: reconnected (${reconnects})`);
    close(s);
  }
  // Transport drop: reconnection, over each transport.
  for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
    const s = client('/', { transports });
    await connected(s, `drop-transport ${transports}`);
    const first = s.id;
    s.emit('drop-transport');
    const [reason] = await once(s, 'disconnect', 5000, `disconnect after drop-transport ${transports}`);
    check(reason === 'transport close', `drop-transport ${transports}: reason ${reason}`);
    await once(s, 'connect', 5000, `reconnect after drop-transport ${transports}`);
    check(s.id !== first && !s.recovered, `drop-transport ${transports}: id ${s.id} recovered ${s.recovered}`);
    const [x] = await ack(s, 'echo', 'again');
    check(x === 'again', 'echo after reconnect');
    close(s);
  }
  console.log('  disconnect: disconnect-me -> "io server disconnect", no reconnect; drop-transport -> "transport close", reconnects (3 transports)');
}

// ---- payload over maxHttpBufferSize --------------------------------------------------------------------

async function payloadLimit() {
  // The client sees a failed POST ("transport error") over polling, a closed WebSocket
  // ("transport close") over websocket.
  for (const [transports, want] of [[['polling'], 'transport error'], [['websocket'], 'transport close']]) {
    const s = client('/', { transports, reconnection: false });
    await connected(s, `limit ${transports}`);
    const [small] = await ack(s, 'echo', 'y'.repeat(900000));
    check(small.length === 900000, `900 KB echo over ${transports}`);
    let answered = false;
    s.emit('echo', 'x'.repeat(1100000), () => { answered = true; });
    const [reason] = await once(s, 'disconnect', 5000, `disconnect after an oversized emit over ${transports}`);
    check(reason === want, `oversized emit over ${transports}: reason ${reason} (expected ${want})`);
    check(!answered, `oversized emit over ${transports} was answered`);
    close(s);
  }
  // What the polling client met: 413 for the POST, and the session is gone.
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const open = await withTimeout(fetch(base).then((r) => r.text()), 3000, 'polling handshake');
  const sid = JSON.parse(open.slice(1)).sid;
  const big = await withTimeout(fetch(`${base}&sid=${sid}`, { method: 'POST', body: `4${'x'.repeat(1000000)}` }), 5000, 'oversized POST');
  check(big.status === 413, `oversized POST: ${big.status} (expected 413)`);
  await big.text();
  let after = await withTimeout(fetch(`${base}&sid=${sid}`).then(async (r) => ({ status: r.status, text: await r.text() })), 3000, 'poll after 413');
  if (after.status === 200) {
    check(after.text.split('\x1e').pop() === '1', `poll after 413: ${JSON.stringify(after.text)}`);
    after = await withTimeout(fetch(`${base}&sid=${sid}`).then(async (r) => ({ status: r.status, text: await r.text() })), 3000, 'second poll after 413');
  }
  check(after.status === 400, `poll after 413: ${after.status} (expected the session gone)`);
  console.log('  maxHttpBufferSize: 900 KB echoed; 1.1 MB closes the connection over polling (413) and websocket');
}

// ---- server restart ------------------------------------------------------------------------------------

// Stops `server` with `signal` (SIGTERM: a graceful stop that must exit 0; SIGKILL: a crash)
// and starts it again on the same port; clients over both transports reconnect by themselves.
async function restart(server, args, signal) {
  const s = client();
  const p = client('/', { transports: ['polling'] });
  await Promise.all([connected(s, 'before restart'), connected(p, 'polling before restart')]);
  // (Not in the middle of the upgrade: a probe cut by the stop is a transport error.)
  if (s.io.engine.transport.name !== 'websocket') await once(s.io.engine, 'upgrade', 5000, 'upgrade before restart');
  const ids = [s.id, p.id];
  const gone = Promise.all([once(s, 'disconnect', 10000, 'disconnect on stop'), once(p, 'disconnect', 10000, 'polling disconnect on stop')]);
  const code = await server.stop(signal);
  if (signal === 'SIGTERM') check(code === 0, `sio_showcase exited with ${code} after SIGTERM (expected 0)`);
  const [[r1], [r2]] = await gone;
  // A graceful stop sends the WebSocket a close packet, and a polling client gets it in its
  // held poll or, when the stop falls between two polls, sees its next request fail; a crash
  // is a dropped connection. Never "io server disconnect" (which would stop the reconnection).
  const ok = (r) => r === 'transport close' || r === 'transport error';
  check(ok(r1) && ok(r2) && (signal !== 'SIGTERM' || r1 === 'transport close'), `reasons on ${signal}: ${r1}, ${r2}`);
  await sleep(300);  // a few failed reconnection attempts
  const again = await startListening([showcase, ...args]);
  await Promise.all([once(s, 'connect', 10000, 'reconnect after restart'), once(p, 'connect', 10000, 'polling reconnect after restart')]);
  check(s.id !== ids[0] && p.id !== ids[1], 'same ids after a restart');
  const [x] = await ack(s, 'echo', 'restarted');
  const [y] = await ack(p, 'echo', 'restarted');
  check(x === 'restarted' && y === 'restarted', 'echo after restart');
  close(s);
  close(p);
  console.log(`  restart after ${signal} (${r1}, ${r2}): both clients reconnect by themselves to the new process on the same port`);
  return again;
}

// ---- connection state recovery -----------------------------------------------------------------------

async function recovery() {
  for (const transports of [['websocket'], ['polling']]) {
    const s = client('/', { transports });
    await connected(s, `recovery ${transports}`);
    const id = s.id;
    const primed = once(s, 'primed', 5000, 'primed');
    const [ok] = await ack(s, 'csr-prime');
    check(ok === true, 'csr-prime ack');
    const [p] = await primed;
    check(p === 'p', `primed payload ${p}`);
    await ack(s, 'join', 'kept-room');
    const missed = once(s, 'missed', 8000, `missed after recovery over ${transports}`);
    const reconnected = once(s, 'connect', 8000, `reconnect with recovery over ${transports}`);
    s.emit('csr-drop-and-emit', 'x');
    const [reason] = await once(s, 'disconnect', 5000, 'disconnect on csr-drop-and-emit');
    check(reason === 'transport close', `csr drop: reason ${reason}`);
    await reconnected;
    check(s.recovered === true, `over ${transports}: socket.recovered ${s.recovered}`);
    check(s.id === id, `over ${transports}: id ${s.id} after recovery (was ${id})`);
    const [m] = await missed;
    check(m === 'x', `missed payload ${m}`);
    const [me] = await ack(s, 'whoami');
    check(me.recovered === true && me.id === id && me.rooms.includes('kept-room'), `whoami after recovery ${JSON.stringify(me)}`);
    close(s);
  }
  // A server-side disconnect is not recoverable: connecting again makes a new socket.
  {
    const s = client();
    await connected(s, 'recovery after disconnect-me');
    const id = s.id;
    const primed = once(s, 'primed', 5000, 'primed');
    await ack(s, 'csr-prime');
    await primed;
    s.emit('disconnect-me');
    const [reason] = await once(s, 'disconnect', 5000, 'disconnect-me');
    check(reason === 'io server disconnect', `disconnect-me: ${reason}`);
    s.connect();
    await once(s, 'connect', 5000, 'connect after disconnect-me');
    check(!s.recovered && s.id !== id, `recovered after a server-side disconnect (id ${s.id}, was ${id})`);
    close(s);
  }
  // Without a known session (a fresh client), no recovery.
  const f = client();
  await connected(f, 'fresh');
  check(!f.recovered, 'a fresh client is recovered');
  close(f);
  console.log('  recovery: after a dropped transport, same id, rooms kept, missed broadcast delivered (websocket, polling)');
}

// The broadcasts kept for recovery are the hub's channel history, bounded (--recovery-history
// 50 here): a client that missed 40 broadcasts gets all 40, in order, after the CONNECT; one
// that missed 60 cannot be restored and connects afresh (new id, not recovered, none replayed).
async function recoveryBound() {
  for (const [n, restored] of [[40, true], [60, false]]) {
    const s = client('/', { transports: ['websocket'] });
    await connected(s, `bound ${n}`);
    const id = s.id;
    const primed = once(s, 'primed', 5000, 'primed');
    await ack(s, 'csr-prime');
    await primed;
    const got = [];
    s.on('missed', (p, i) => got.push(i));
    const reconnected = once(s, 'connect', 8000, `reconnect after missing ${n}`);
    s.emit('csr-drop-and-emit', 'z', n);
    await reconnected;
    if (restored) {
      check(s.recovered === true && s.id === id, `missed ${n} of at most 50: recovered ${s.recovered}, id ${s.id} (was ${id})`);
      await withTimeout((async () => { while (got.length < n) await new Promise((r) => setTimeout(r, 10)); })(),
        5000, `${n} missed broadcasts after recovery (got ${got.length})`);
      check(got.every((v, i) => v === i), `missed broadcasts out of order: ${got}`);
    } else {
      check(s.recovered === false && s.id !== id, `missed ${n} of at most 50: recovered ${s.recovered}, id ${s.id} (was ${id})`);
      await ack(s, 'whoami');  // a round trip: anything replayed would have come before it
      check(got.length === 0, `${got.length} broadcasts replayed to a socket that was not restored`);
    }
    close(s);
  }
  console.log('  recovery history bound (50): 40 missed -> restored, all 40 in order; 60 missed -> a fresh socket');
}

// ---- run ---------------------------------------------------------------------------------------------

try {
  const server = await startListening([showcase, '--port', '0', '--threads', '2']);
  url = `http://127.0.0.1:${server.port}`;
  console.log(`sio_showcase --threads 2 (port ${server.port})`);
  await upgradeWithAcksInFlight();
  await websocketOnly();
  await pollingOnly();
  await acksAndTimeouts();
  await roomsAndBroadcast();
  await broadcastAcksAndFetch();
  await binaryNestedAndLarge();
  await namespaces();
  await disconnects();
  await payloadLimit();
  const args = ['--port', String(server.port), '--threads', '2'];
  const again = await restart(server, args, 'SIGTERM');
  const third = await restart(again, args, 'SIGKILL');
  const code = await third.stop('SIGTERM');
  check(code === 0, `restarted sio_showcase exited with ${code} after SIGTERM`);

  const rec = await startListening([showcase, '--port', '0', '--threads', '2', '--recovery', '--recovery-history', '50']);
  url = `http://127.0.0.1:${rec.port}`;
  console.log(`sio_showcase --threads 2 --recovery --recovery-history 50 (port ${rec.port})`);
  await recovery();
  await recoveryBound();
  for (const s of opened) s.disconnect();
  const rcode = await rec.stop('SIGTERM');
  check(rcode === 0, `sio_showcase --recovery exited with ${rcode} after SIGTERM`);
} catch (e) {
  fail(e.stack || e.message);
}
done();
process.exit(0);
