// Redis restart mid-stream (issue 7, Faults): two `duplex serve` nodes A and B on one real
// redis-server, a `centrifuge` SDK client on each node and a Socket.IO client on A, all on one
// channel with history; publications flow through both nodes' server API. redis-server is
// stopped (SIGTERM) and started again on the same port with no data (--save '' --appendonly no):
//  - during the outage the nodes keep serving local traffic (existing connections stay up, new
//    ones connect, /health answers) and API publications fail at once with an error, never hang;
//  - afterwards the nodes reconnect and resubscribe by themselves, and publications through
//    either node reach every client again;
//  - Redis lost the streams, so the epoch changed: every SDK client is told (its subscription
//    resubscribes and reports wasRecovering && !recovered), and any publication it missed lies
//    behind that notice — never a silent gap.
//
//   node redis_restart.mjs DUPLEX
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bound, check, importPeer, requireExecutable, withTimeout } from './support.mjs';
import { api as apiOf, redisServer, sleep, startNode, until } from './redis_support.mjs';

const { Centrifuge } = await importPeer('centrifuge');
const { WebSocket } = await importPeer('ws');
const { io } = await importPeer('socket.io-client');
const done = bound(60000);
const duplex = requireExecutable(process.argv[2], 'duplex');


const CH = 'restart';
const BEFORE = 20;  // publications before the restart
const AFTER = 60;   // publications after it (sequence numbers continue)


// ---- redis-server (restartable on one port) and two nodes ---------------------------------------

const redis = await redisServer('restart');
const dir = redis.dir;

const configFile = join(dir, 'duplex.toml');
writeFileSync(configFile, `
[channel]
history_size = 2000
history_ttl = "300s"
`);
const API_KEY = 'restart-key';
const node = (name) => startNode(duplex, name, { brokerUrl: redis.url, apiKey: API_KEY, configFile });
const A = await node('A');
const B = await node('B');
const api = (node, method, params) => apiOf(node, API_KEY, method, params);

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

const sio = io(A.base, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 300 });
const sioLog = [];
let sioDisconnects = 0;
sio.on('disconnect', () => { ++sioDisconnects; });
sio.on('publication', (p) => { if (p.channel === CH) sioLog.push({ seq: p.data.seq, offset: p.offset }); });
await withTimeout(new Promise((r) => sio.once('connect', r)), 8000, 'socket.io connect on A');
const sa = await sio.timeout(5000).emitWithAck('subscribe', CH);
check(sa.channel === CH && typeof sa.epoch === 'string', `socket.io subscribe on A: ${JSON.stringify(sa)}`);

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
await until(() => sdks.every((s) => seqsOf(s.log).length === BEFORE) && sioLog.length === BEFORE,
  'the first publications on every client');
console.log(`before: ${BEFORE} publications through A and B reached both SDK clients and socket.io (epoch ${epoch0})`);

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
check(sdks.every((s) => s.c.state === 'connected' && s.states.length === 0) && sioDisconnects === 0,
  `clients disturbed during the outage: ${JSON.stringify(sdks.map((s) => s.states))}, socket.io ${sioDisconnects}`);
await sleep(Math.max(0, 1500 - (Date.now() - outageStart)));
console.log(`outage: API publish failed at once on both nodes (max ${Math.max(...failures)} ms), ` +
  '/health and new connections served, existing clients undisturbed');

// ---- restart: empty Redis on the same port; publications go on as soon as a node accepts them ---

await redis.start();
const restartedAt = Date.now();
let epoch1 = '';
let firstOffset = 0;
let retries = 0;
for (let seq = BEFORE + 1; seq <= BEFORE + AFTER; ++seq) {
  const node = nodeFor(seq);
  for (;;) {
    const r = await api(node, 'publish', { channel: CH, data: { seq } });
    if (r.status === 200 && r.body.result) {
      if (!epoch1) { epoch1 = r.body.result.epoch; firstOffset = r.body.result.offset; }
      check(r.body.result.epoch === epoch1, `epoch changed again at ${seq}: ${JSON.stringify(r.body)}`);
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
await until(() => sdks.every((s) => seqsOf(s.log).includes(LAST)) && sioLog.some((e) => e.seq === LAST),
  `the last publication on every client (${JSON.stringify(sdks.map((s) => seqsOf(s.log).slice(-3)))}, socket.io ${JSON.stringify(sioLog.slice(-3))})`,
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
// Socket.IO: publications flow again; what it missed is counted (its protocol carries no epoch
// with each publication, so a client cannot tell a new epoch from the offsets alone).
{
  const seqs = sioLog.map((e) => e.seq);
  let reordered = 0;
  for (let i = 1; i < seqs.length; ++i) if (seqs[i] <= seqs[i - 1]) ++reordered;
  check(reordered === 0, `socket.io: duplicated or reordered ${JSON.stringify(seqs)}`);
  console.log(`socket.io on A: received ${seqs.length} of ${LAST}, missed ${LAST - seqs.length}, ` +
    `${sioDisconnects} disconnect(s)`);
}
console.log('redis restart: both nodes reconnected and resubscribed, publications flow between them again, every gap announced');

// ---- stop ----------------------------------------------------------------------------------------

for (const s of sdks) s.c.disconnect();
sio.close();
for (const n of [A, B]) {
  const code = await n.stop();
  check(code === 0, `node ${n.name} exit code ${code}`);
}
await redis.stop();
done();
