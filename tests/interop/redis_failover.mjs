// Node failover without losing a message (issue 7, Faults): two `duplex serve` nodes A and B on
// one real redis-server. A `centrifuge` SDK client and a Socket.IO client reach the nodes through
// a TCP proxy that first forwards to A; both subscribe to one channel with history. 1,000
// publications carrying sequence numbers go through B's server API; midway the proxy is switched
// to B and A is killed with SIGKILL. The SDK reconnects by itself and recovers from B (the
// Streams history in Redis); the Socket.IO client resubscribes on 'connect' with its last
// {offset, epoch}. Each must see every sequence number 1..1000 exactly once, in order, and be
// told that the recovery was complete.
//
//   node redis_failover.mjs DUPLEX
import { bound, check, cuttableProxy, importPeer, requireExecutable, withTimeout } from './support.mjs';
import { sleep, twoNodes, until } from './redis_support.mjs';

const { Centrifuge } = await importPeer('centrifuge');
const { WebSocket } = await importPeer('ws');
const { io } = await importPeer('socket.io-client');
const done = bound(60000);
const duplex = requireExecutable(process.argv[2], 'duplex');


const TOTAL = 1000;
const KILL_AT = 500;  // A dies after this many publications
const CH = 'failover';


// Lost, duplicated and out-of-order sequence numbers in `seqs` (expected: 1..TOTAL once each).
function tally(seqs) {
  const seen = new Map();
  let reordered = 0;
  for (let i = 0; i < seqs.length; ++i) {
    seen.set(seqs[i], (seen.get(seqs[i]) || 0) + 1);
    if (i > 0 && seqs[i] <= seqs[i - 1]) ++reordered;
  }
  let lost = 0;
  let duplicated = 0;
  for (let n = 1; n <= TOTAL; ++n) {
    const c = seen.get(n) || 0;
    if (c === 0) ++lost;
    if (c > 1) duplicated += c - 1;
  }
  const foreign = seqs.filter((n) => !(n >= 1 && n <= TOTAL)).length;
  return { received: seqs.length, lost, duplicated, reordered, foreign };
}

// ---- redis-server and two nodes ----------------------------------------------------------------

// History for the whole run (the default namespace keeps 100).
const { redis, A, B, api } = await twoNodes(duplex, 'failover');

const px = await cuttableProxy(A.port);  // switchTo(B.port) later

// ---- the centrifuge SDK, through the proxy (to A) -----------------------------------------------

const cent = new Centrifuge(`ws://127.0.0.1:${px.port}/connection/websocket`,
  { websocket: WebSocket, minReconnectDelay: 50, maxReconnectDelay: 300, timeout: 5000 });
const centGot = [];
const centSubscribed = [];  // every 'subscribed' context
const sub = cent.newSubscription(CH);
sub.on('publication', (ctx) => centGot.push(ctx.data.seq));
sub.on('subscribed', (ctx) => centSubscribed.push(ctx));
sub.subscribe();
cent.connect();
await until(() => centSubscribed.length === 1, 'centrifuge subscribed on A');

// ---- the Socket.IO client, through the proxy (to A) ---------------------------------------------

// It keeps its stream position and resubscribes with it after every reconnect.
const sioGot = [];
const sioAcks = [];
let sioPos = null;  // {offset, epoch}
const sio = io(`http://127.0.0.1:${px.port}`,
  { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 300, randomizationFactor: 0 });
sio.on('publication', (p) => {
  if (p.channel !== CH) return;
  sioGot.push(p.data.seq);
  if (sioPos) sioPos.offset = p.offset;
});
sio.on('connect', async () => {
  const arg = sioPos ? { channel: CH, offset: sioPos.offset, epoch: sioPos.epoch } : CH;
  let ack;
  try {
    ack = await sio.timeout(5000).emitWithAck('subscribe', arg);
  } catch (e) {
    ack = { error: e.message };
  }
  sioAcks.push(ack);
  if (ack.error) return;
  // A fresh subscription starts at the top; a recovery's publications move the offset.
  if (!sioPos) sioPos = { offset: ack.offset, epoch: ack.epoch };
  else sioPos.epoch = ack.epoch;
});
await until(() => sioAcks.length === 1, 'socket.io subscribed on A');
check(sioAcks[0].channel === CH && typeof sioAcks[0].epoch === 'string' && sioAcks[0].offset === 0,
  `socket.io subscribe ack ${JSON.stringify(sioAcks[0])}`);

// ---- 1,000 publications through B; A killed midway ----------------------------------------------

let killedAt = 0;
const t0 = Date.now();
for (let seq = 1; seq <= TOTAL; ++seq) {
  const r = await api(B, 'publish', { channel: CH, data: { seq } });
  check(r.status === 200 && r.body.result && r.body.result.offset === seq,
    `publish ${seq} through B: ${JSON.stringify(r)}`);
  if (seq === KILL_AT) {
    px.switchTo(B.port);
    killedAt = Date.now();
    A.proc.kill('SIGKILL');
  }
  await sleep(2);
}
const publishMs = Date.now() - t0;
check(killedAt > 0, 'A was not killed');

await until(() => centGot.length >= TOTAL && sioGot.length >= TOTAL,
  `every publication on both clients (centrifuge ${centGot.length}, socket.io ${sioGot.length})`, 20000);
await sleep(300);  // nothing extra may arrive
const aExit = await A.stop();
check(aExit === 'SIGKILL', `node A ended by ${aExit}`);

const ct = tally(centGot);
const st = tally(sioGot);
console.log(`published ${TOTAL} through B in ${publishMs} ms, A killed after ${KILL_AT}`);
console.log(`centrifuge SDK: ${JSON.stringify(ct)}, subscribed ${centSubscribed.length} times, last ${JSON.stringify(centSubscribed.at(-1))}`);
console.log(`socket.io:      ${JSON.stringify(st)}, subscribe acks ${JSON.stringify(sioAcks)}`);
for (const [who, t] of [['centrifuge', ct], ['socket.io', st]]) {
  check(t.received === TOTAL && t.lost === 0 && t.duplicated === 0 && t.reordered === 0 && t.foreign === 0,
    `${who}: every sequence number once, in order: ${JSON.stringify(t)}`);
}

// The SDK reconnected (through the proxy, now to B) and was told the recovery was complete.
check(centSubscribed.length === 2, `centrifuge subscribed ${centSubscribed.length} times (want 2: A, then B)`);
const rc = centSubscribed[1];
check(rc.wasRecovering === true && rc.recovered === true,
  `centrifuge recovery on B: ${JSON.stringify(rc)}`);
// Publications went on while it reconnected: the recovery replayed some (not only live ones).
check(rc.hasRecoveredPublications === true, `centrifuge recovered no publication: ${JSON.stringify(rc)}`);
check(sioAcks.length === 2, `socket.io subscribed ${sioAcks.length} times (want 2: A, then B)`);
const ra = sioAcks[1];
check(ra.channel === CH && ra.recovered === true && ra.epoch === sioAcks[0].epoch,
  `socket.io recovery on B: ${JSON.stringify(ra)}`);
check(ra.offset > KILL_AT, `socket.io resubscribed before anything was missed: ${JSON.stringify(ra)}`);
console.log('failover: SIGKILL of A midway, both clients recovered from B: 0 lost, 0 duplicated, order kept');

// ---- stop ----------------------------------------------------------------------------------------

cent.disconnect(); sio.close(); px.close();
const bExit = await B.stop();
check(bExit === 0, `node B exit code ${bExit}`);
await redis.stop();
done();
