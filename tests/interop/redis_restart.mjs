// Redis restart mid-stream (issue 7, Faults): two `duplex serve` nodes A and B on one real
// redis-server, a `centrifuge` SDK client on each node, a Socket.IO client and a raw WebSocket
// (`ws`) client on A, an EventSource (`eventsource`) on B, all on one channel with history;
// publications flow through both nodes' server API. redis-server is stopped (SIGTERM) and
// started again on the same port with no data (--save '' --appendonly no):
//  - during the outage the nodes keep serving local traffic (existing connections stay up, new
//    ones connect, /health answers) and API publications fail at once with an error, never hang;
//  - afterwards the nodes reconnect and resubscribe by themselves, and publications through
//    either node reach every client again;
//  - Redis lost the streams, so the epoch changed: every client is told, and any publication it
//    missed lies behind that notice — never a silent gap. SDK clients: the subscription
//    resubscribes and reports wasRecovering && !recovered. Socket.IO and EventSource stay
//    connected and get a per-channel notice with the new position (event `gap` / `:gap`,
//    reason epoch_changed), then live publications. Raw WebSocket: closed with 1012, it
//    reconnects;
//  - after the restart, a Socket.IO subscribe and an EventSource resume from a position of the
//    old epoch are answered recovered=false / :gap with the new epoch's top.
//
//   node redis_restart.mjs DUPLEX
import { bound, check, importPeer, requireExecutable, withTimeout } from './support.mjs';
import { sleep, twoNodes, until } from './redis_support.mjs';

const { Centrifuge } = await importPeer('centrifuge');
const { WebSocket } = await importPeer('ws');
const { io } = await importPeer('socket.io-client');
const { EventSource } = await importPeer('eventsource');
const done = bound(60000);
const duplex = requireExecutable(process.argv[2], 'duplex');


const CH = 'restart';
const BEFORE = 20;  // publications before the restart
const AFTER = 60;   // publications after it (sequence numbers continue)


// ---- redis-server (restartable on one port) and two nodes ---------------------------------------

const { redis, A, B, api } = await twoNodes(duplex, 'restart');

// ---- clients: an SDK on each node, Socket.IO on A ------------------------------------------------

// Each client's log: {seq} for a publication, {told: ctx} for a subscription that came back
// without recovering (wasRecovering && !recovered), {subscribed: ctx} for the others.
function sdkClient(node) {
  const c = new Centrifuge(`ws://127.0.0.1:${node.port}/connection/websocket`,
    { websocket: WebSocket, minReconnectDelay: 50, maxReconnectDelay: 300, timeout: 5000 });
  const log = [];
  const states = [];
  c.on('connecting', (ctx) => states.push(`connecting ${ctx.code}`));
  c.on('disconnected', (ctx) => states.push(`disconnected ${ctx.code}`));
  const sub = c.newSubscription(CH, { minResubscribeDelay: 50, maxResubscribeDelay: 300 });
  sub.on('publication', (ctx) => log.push({ seq: ctx.data.seq, offset: ctx.offset }));
  sub.on('subscribed', (ctx) => log.push(ctx.wasRecovering && !ctx.recovered ? { told: ctx } : { subscribed: ctx }));
  sub.on('subscribing', (ctx) => states.push(`subscribing ${ctx.code}`));
  sub.on('error', (ctx) => states.push(`subscribe error ${ctx.error && ctx.error.code}`));
  sub.subscribe();
  c.connect();
  return { name: `centrifuge on ${node.name}`, c, sub, log, states };
}
const sdks = [sdkClient(A), sdkClient(B)];
await until(() => sdks.every((s) => s.log.some((e) => e.subscribed)), 'SDK clients subscribed');
for (const s of sdks) s.states.length = 0;  // from here on: what the outage and restart caused

// Socket.IO: its log holds {seq} per publication and {gap} per gap event; its position (what
// it would resubscribe with) follows the subscribe ack, publication offsets and gap events.
const sio = io(A.base, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 300 });
const sioLog = [];
let sioDisconnects = 0;
const sioPos = { offset: 0, epoch: '' };
sio.on('disconnect', () => { ++sioDisconnects; });
sio.on('publication', (p) => {
  if (p.channel !== CH) return;
  sioLog.push({ seq: p.data.seq, offset: p.offset });
  sioPos.offset = p.offset;
});
sio.on('gap', (g) => {
  if (g.channel !== CH) return;
  sioLog.push({ gap: g });
  Object.assign(sioPos, { offset: g.offset, epoch: g.epoch });
});
await withTimeout(new Promise((r) => sio.once('connect', r)), 8000, 'socket.io connect on A');
const sa = await sio.timeout(5000).emitWithAck('subscribe', CH);
check(sa.channel === CH && typeof sa.epoch === 'string', `socket.io subscribe on A: ${JSON.stringify(sa)}`);
Object.assign(sioPos, { offset: sa.offset, epoch: sa.epoch });

// EventSource: {seq, id} per publication event, {gap} / {subscribed} / {error} per server event.
function sseClient(node, query = '') {
  const es = new EventSource(`${node.base}/events?channel=${CH}${query}`);
  const log = [];
  let opens = 0;
  es.addEventListener('open', () => { ++opens; });
  es.addEventListener(CH, (e) => log.push({ seq: JSON.parse(e.data).seq, id: e.lastEventId }));
  es.addEventListener(':gap', (e) => log.push({ gap: JSON.parse(e.data), id: e.lastEventId }));
  es.addEventListener(':subscribed', (e) => log.push({ subscribed: JSON.parse(e.data), id: e.lastEventId }));
  es.addEventListener(':error', (e) => log.push({ error: JSON.parse(e.data) }));
  return { name: `eventsource on ${node.name}`, es, log, opens: () => opens };
}
const sse = sseClient(B);
await until(() => sse.log.some((e) => e.subscribed), 'eventsource subscribed on B');

// Raw WebSocket: {seq} per frame, {closed: code} per close; it reconnects 50 ms after a close.
function rawClient(node) {
  const st = { name: `ws on ${node.name}`, log: [], closes: [], opens: 0, stopped: false, ws: null };
  const connect = () => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.port}/ws?channel=${CH}`);
    st.ws = ws;
    ws.on('open', () => { ++st.opens; });
    ws.on('message', (d, isBinary) => { if (!isBinary) st.log.push({ seq: JSON.parse(d.toString()).seq }); });
    ws.on('close', (code) => {
      st.closes.push(code);
      st.log.push({ closed: code });
      if (!st.stopped) setTimeout(connect, 50);
    });
    ws.on('error', () => {});
  };
  connect();
  return st;
}
const raw = rawClient(A);
await until(() => raw.opens === 1, 'raw ws open on A');
await sleep(300);  // its subscription has no answer of its own: let it settle

const seqsOf = (log) => log.filter((e) => e.seq !== undefined).map((e) => e.seq);
const nodeFor = (seq) => (seq % 2 ? A : B);

// ---- before: publications through both nodes reach everyone -------------------------------------

let epoch0 = '';
for (let seq = 1; seq <= BEFORE; ++seq) {
  const r = await api(nodeFor(seq), 'publish', { channel: CH, data: { seq } });
  check(r.status === 200 && r.body.result && r.body.result.offset === seq,
    `publish ${seq} through ${nodeFor(seq).name}: ${JSON.stringify(r)}`);
  epoch0 = r.body.result.epoch;
}
await until(() => sdks.every((s) => seqsOf(s.log).length === BEFORE) && sioLog.length === BEFORE &&
  seqsOf(sse.log).length === BEFORE && seqsOf(raw.log).length === BEFORE,
  'the first publications on every client');
console.log(`before: ${BEFORE} publications through A and B reached both SDK clients, socket.io, ` +
  `eventsource and ws (epoch ${epoch0})`);

// ---- outage: redis-server stopped ------------------------------------------------------------------

await redis.stop();
const outageStart = Date.now();
const failures = [];
for (let i = 0; i < 3; ++i) {
  for (const node of [A, B]) {
    const t = Date.now();
    const r = await api(node, 'publish', { channel: CH, data: { seq: -1 } });
    const ms = Date.now() - t;
    failures.push(ms);
    check(r.status === 200 && r.body.error && !r.body.result,
      `publish through ${node.name} while Redis is down should fail: ${JSON.stringify(r)}`);
    check(ms < 3000, `publish through ${node.name} while Redis is down took ${ms} ms`);
  }
  await sleep(100);
}
// Local traffic goes on: health, new connections, the existing ones untouched.
for (const node of [A, B]) {
  const h = await fetch(`${node.base}/health`, { signal: AbortSignal.timeout(3000) });
  check(h.status === 200, `/health on ${node.name} during the outage: ${h.status}`);
  const fresh = new Centrifuge(`ws://127.0.0.1:${node.port}/connection/websocket`, { websocket: WebSocket, timeout: 5000 });
  const connected = new Promise((r) => fresh.once('connected', r));
  fresh.connect();
  await withTimeout(connected, 5000, `a new SDK connection to ${node.name} during the outage`);
  fresh.disconnect();
}
check(sdks.every((s) => s.c.state === 'connected' && s.states.length === 0) && sioDisconnects === 0 &&
  sse.opens() === 1 && raw.closes.length === 0,
  `clients disturbed during the outage: ${JSON.stringify(sdks.map((s) => s.states))}, socket.io ` +
  `${sioDisconnects}, eventsource opens ${sse.opens()}, ws closes ${JSON.stringify(raw.closes)}`);
await sleep(Math.max(0, 1500 - (Date.now() - outageStart)));
console.log(`outage: API publish failed at once on both nodes (max ${Math.max(...failures)} ms), ` +
  '/health and new connections served, existing clients undisturbed');

// ---- restart: empty Redis on the same port; publications go on as soon as a node accepts them ---

await redis.start();
const restartedAt = Date.now();
let epoch1 = '';
let firstOffset = 0;
let lastOffset = 0;
let retries = 0;
for (let seq = BEFORE + 1; seq <= BEFORE + AFTER; ++seq) {
  const node = nodeFor(seq);
  for (;;) {
    const r = await api(node, 'publish', { channel: CH, data: { seq } });
    if (r.status === 200 && r.body.result) {
      if (!epoch1) { epoch1 = r.body.result.epoch; firstOffset = r.body.result.offset; }
      check(r.body.result.epoch === epoch1, `epoch changed again at ${seq}: ${JSON.stringify(r.body)}`);
      lastOffset = r.body.result.offset;
      break;
    }
    check(r.body.error, `publish ${seq} through ${node.name}: ${JSON.stringify(r)}`);
    check(Date.now() - restartedAt < 20000, `${node.name} did not take publications within 20 s of the restart`);
    ++retries;
    await sleep(50);
  }
  await sleep(20);
}
console.log(`restart: publications accepted again after ${retries} refused attempts; new epoch ${epoch1} starting at offset ${firstOffset}`);
check(epoch1 && epoch1 !== epoch0 && firstOffset === 1, `new epoch after the restart: ${epoch0} -> ${epoch1} @${firstOffset}`);

const LAST = BEFORE + AFTER;
await until(() => sdks.every((s) => seqsOf(s.log).includes(LAST)) && sioLog.some((e) => e.seq === LAST) &&
  seqsOf(sse.log).includes(LAST) && seqsOf(raw.log).includes(LAST),
  `the last publication on every client (${JSON.stringify(sdks.map((s) => seqsOf(s.log).slice(-3)))}, ` +
  `socket.io ${JSON.stringify(sioLog.slice(-3))}, eventsource ${JSON.stringify(seqsOf(sse.log).slice(-3))}, ` +
  `ws ${JSON.stringify(raw.log.slice(-3))})`,
  15000);
await sleep(300);  // nothing extra may arrive

// ---- no silent gap: every missing sequence number lies behind a notice ---------------------------

for (const s of sdks) {
  let prev = 0;
  let told = 0;
  let toldSincePrev = false;
  let missed = 0;
  for (const e of s.log) {
    if (e.told) {
      ++told; toldSincePrev = true;
      check(e.told.streamPosition && e.told.streamPosition.epoch === epoch1,
        `${s.name}: resubscribed into epoch ${JSON.stringify(e.told.streamPosition)}, want ${epoch1}`);
      continue;
    }
    if (e.subscribed) continue;
    check(e.seq > prev, `${s.name}: seq ${e.seq} after ${prev} (duplicate or reordered)`);
    if (e.seq !== prev + 1) {
      check(toldSincePrev, `${s.name}: silent gap ${prev + 1}..${e.seq - 1} (log ${JSON.stringify(s.log.map((x) => x.seq ?? (x.told ? 'TOLD' : 'SUB')))})`);
      missed += e.seq - prev - 1;
    }
    toldSincePrev = false;
    prev = e.seq;
  }
  check(told >= 1, `${s.name} was never told that the epoch changed (${JSON.stringify(s.states)})`);
  console.log(`${s.name}: received ${seqsOf(s.log).length} of ${LAST}, missed ${missed} behind ${told} notice(s), ` +
    `0 duplicated, 0 reordered; client events ${JSON.stringify(s.states)}`);
}
// The others: in order, each once, and every missing sequence number behind a notice (`isNotice`);
// returns [received, missed, notices].
function noSilentGap(name, log, isNotice) {
  let prev = 0;
  let notices = 0;
  let noticeSincePrev = false;
  let missed = 0;
  for (const e of log) {
    if (isNotice(e)) { ++notices; noticeSincePrev = true; continue; }
    if (e.seq === undefined) continue;
    check(e.seq > prev, `${name}: seq ${e.seq} after ${prev} (duplicate or reordered)`);
    if (e.seq !== prev + 1) {
      check(noticeSincePrev, `${name}: silent gap ${prev + 1}..${e.seq - 1} (log ${JSON.stringify(log)})`);
      missed += e.seq - prev - 1;
    }
    noticeSincePrev = false;
    prev = e.seq;
  }
  return [seqsOf(log).length, missed, notices];
}
// Socket.IO stays connected; the resubscribe in place reports the new epoch in a gap event, and
// its position ends at the stream's top in the new epoch.
{
  const gaps = sioLog.filter((e) => e.gap);
  check(gaps.length >= 1 && gaps.every((e) => e.gap.reason === 'epoch_changed' && e.gap.epoch === epoch1),
    `socket.io on A: gap events ${JSON.stringify(gaps)}, want reason epoch_changed, epoch ${epoch1}`);
  check(sioDisconnects === 0, `socket.io on A disconnected ${sioDisconnects} time(s)`);
  check(sioPos.epoch === epoch1 && sioPos.offset === lastOffset,
    `socket.io on A ends at ${JSON.stringify(sioPos)}, want {offset: ${lastOffset}, epoch: ${epoch1}}`);
  const [got, missed, told] = noSilentGap('socket.io on A', sioLog, (e) => e.gap);
  console.log(`socket.io on A: received ${got} of ${LAST}, missed ${missed} behind ${told} gap event(s), ` +
    '0 duplicated, 0 reordered, still connected');
}
// EventSource: the same stream throughout; :gap then :subscribed (recovered false) in the new
// epoch; the last id is a position of the new epoch.
{
  const gaps = sse.log.filter((e) => e.gap);
  check(sse.opens() === 1, `eventsource on B reconnected (${sse.opens()} opens)`);
  check(gaps.length >= 1 && gaps.every((e) => e.gap.reason === 'epoch_changed' && e.gap.epoch === epoch1),
    `eventsource on B: :gap events ${JSON.stringify(gaps)}, want reason epoch_changed, epoch ${epoch1}`);
  const subs = sse.log.filter((e) => e.subscribed);
  check(subs.length >= 2 && subs.slice(1).every((e) => e.subscribed.epoch === epoch1) &&
    subs.slice(1).some((e) => e.subscribed.recovered === false),
    `eventsource on B: :subscribed events ${JSON.stringify(subs)}, want recovered false in ${epoch1}`);
  check(!sse.log.some((e) => e.error), `eventsource on B: :error ${JSON.stringify(sse.log.filter((e) => e.error))}`);
  const lastId = sse.log.filter((e) => e.id).at(-1).id;
  check(lastId === `${lastOffset}:${epoch1}`, `eventsource on B: last id ${lastId}, want ${lastOffset}:${epoch1}`);
  const [got, missed, told] = noSilentGap('eventsource on B', sse.log, (e) => e.gap);
  console.log(`eventsource on B: received ${got} of ${LAST}, missed ${missed} behind ${told} :gap event(s), ` +
    '0 duplicated, 0 reordered, one stream');
}
// Raw WebSocket: closed once with 1012 (service restart), reconnected, live again.
{
  check(raw.closes.length === 1 && raw.closes[0] === 1012, `ws on A: closes ${JSON.stringify(raw.closes)}, want [1012]`);
  const [got, missed] = noSilentGap('ws on A', raw.log, (e) => e.closed !== undefined);
  console.log(`ws on A: closed with 1012 and reconnected; received ${got} of ${LAST}, missed ${missed} ` +
    'around the close, 0 duplicated, 0 reordered');
}

// ---- resuming from a position of the old epoch after the restart ---------------------------------

{
  const late = io(B.base, { transports: ['websocket'], reconnection: false });
  await withTimeout(new Promise((r) => late.once('connect', r)), 8000, 'socket.io connect on B');
  const pubs = [];
  late.on('publication', (p) => { if (p.channel === CH) pubs.push(p.data.seq); });
  const r = await late.timeout(5000).emitWithAck('subscribe', { channel: CH, offset: BEFORE, epoch: epoch0 });
  check(r.channel === CH && r.recovered === false && r.epoch === epoch1 && r.offset === lastOffset,
    `socket.io subscribe from {${BEFORE}, ${epoch0}} on B: ${JSON.stringify(r)}, want recovered false in ${epoch1}`);
  late.close();
  console.log(`socket.io resubscribing with {offset: ${BEFORE}, epoch: old} on B: recovered=false, new epoch, offset ${r.offset}`);
}
{
  const resumed = sseClient(A, `&lastEventId=${encodeURIComponent(`${BEFORE}:${epoch0}`)}`);
  await until(() => resumed.log.some((e) => e.subscribed), 'eventsource resuming on A');
  resumed.es.close();
  const first = resumed.log[0];
  check(first.gap && first.gap.reason === 'epoch_changed' && first.gap.epoch === epoch1,
    `eventsource resuming from ${BEFORE}:${epoch0} on A: first event ${JSON.stringify(first)}, want :gap epoch_changed`);
  const sub = resumed.log.find((e) => e.subscribed).subscribed;
  check(sub.recovered === false && sub.epoch === epoch1 && sub.offset === lastOffset,
    `eventsource resuming on A: ${JSON.stringify(sub)}`);
  // Publications of another epoch are never replayed (hub/recovery.h): the gap moves the client
  // to the top of the new epoch.
  check(first.gap.offset === lastOffset && seqsOf(resumed.log).length === 0,
    `eventsource resuming on A: ${JSON.stringify(resumed.log)}, want the new epoch's top ${lastOffset} and no replay`);
  console.log(`eventsource resuming from Last-Event-ID ${BEFORE}:<old epoch> on A: :gap epoch_changed at ` +
    `the new epoch's top, :subscribed recovered=false`);
}
console.log('redis restart: both nodes reconnected and resubscribed, publications flow between them again, every gap announced');

// ---- stop ----------------------------------------------------------------------------------------

for (const s of sdks) s.c.disconnect();
sio.close();
sse.es.close();
raw.stopped = true;
raw.ws.close();
for (const n of [A, B]) {
  const code = await n.stop();
  check(code === 0, `node ${n.name} exit code ${code}`);
}
await redis.stop();
done();
