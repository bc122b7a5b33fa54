// Three `duplex serve` nodes as one through a real redis-server (the Redis broker): a
// `centrifuge` SDK client on node A, a Socket.IO client on node B and an EventSource on node C
// subscribe to one channel; a publication through the server API of each node reaches all
// three, with the same offsets (assigned once, in Redis), in order. History written through
// one node is read through another. `info` on any node lists the three (the node registry),
// and a node that stops leaves that list at once.
//
//   node redis_nodes.mjs DUPLEX
import { bound, check, importPeer, requireExecutable, withTimeout } from './support.mjs';
import { api as apiOf, redisServer, sleep, startNode, until } from './redis_support.mjs';

const { Centrifuge } = await importPeer('centrifuge');
const { WebSocket } = await importPeer('ws');
const { io } = await importPeer('socket.io-client');
const { EventSource } = await importPeer('eventsource');
const done = bound(60000);
const duplex = requireExecutable(process.argv[2], 'duplex');



// ---- redis-server and three nodes ------------------------------------------------------------

const redis = await redisServer('redis');

const API_KEY = 'nodes-key';
const nodes = [];
for (const name of ['A', 'B', 'C']) {
  nodes.push(await startNode(duplex, name, { brokerUrl: redis.url, apiKey: API_KEY }));
}
const [A, B, C] = nodes;
const api = (node, method, params) => apiOf(node, API_KEY, method, params);

// ---- one client per protocol, one node each ----------------------------------------------------

const CH = 'cluster';
const got = { centrifuge: [], socketio: [], sse: [] };
const cent = new Centrifuge(`ws://127.0.0.1:${A.port}/connection/websocket`, { websocket: WebSocket });
const sub = cent.newSubscription(CH);
sub.on('publication', (ctx) => got.centrifuge.push({ n: ctx.data.n, offset: ctx.offset }));
sub.subscribe();
cent.connect();
await withTimeout(new Promise((r) => sub.once('subscribed', r)), 8000, 'centrifuge subscribed on A');

const sio = io(B.base, { transports: ['websocket'], reconnection: false });
sio.on('publication', (p) => got.socketio.push({ n: p.data.n, offset: p.offset }));
await withTimeout(new Promise((r) => sio.once('connect', r)), 8000, 'socket.io connect on B');
const sa = await sio.timeout(5000).emitWithAck('subscribe', CH);
check(sa.channel === CH, `socket.io subscribe on B: ${JSON.stringify(sa)}`);

const es = new EventSource(`${C.base}/events?channel=${CH}`);
let sseReady = false;
es.addEventListener(':subscribed', () => { sseReady = true; });
es.addEventListener(CH, (e) => got.sse.push({ n: JSON.parse(e.data).n, id: e.lastEventId }));
await until(() => sseReady, 'SSE subscribed on C');

// ---- publications through each node's API reach every client -------------------------------

for (const [i, node] of [[1, A], [2, B], [3, C], [4, A], [5, C]]) {
  const r = await api(node, 'publish', { channel: CH, data: { n: i } });
  check(r.status === 200 && r.body.result && r.body.result.offset === i,
    `publish ${i} through ${node.name}: ${JSON.stringify(r)}`);
}
await until(() => got.centrifuge.length >= 5 && got.socketio.length >= 5 && got.sse.length >= 5,
  `all publications everywhere (${JSON.stringify(got)})`);
await sleep(200);  // nothing extra may arrive
const want = [1, 2, 3, 4, 5].join();
check(got.centrifuge.map((x) => x.n).join() === want && got.centrifuge.map((x) => x.offset).join() === want,
  `centrifuge on A: ${JSON.stringify(got.centrifuge)}`);
check(got.socketio.map((x) => x.n).join() === want && got.socketio.map((x) => x.offset).join() === want,
  `socket.io on B: ${JSON.stringify(got.socketio)}`);
check(got.sse.map((x) => x.n).join() === want, `SSE on C: ${JSON.stringify(got.sse)}`);
console.log('3 nodes + redis: API publications on A, B, C reach the centrifuge SDK (A), socket.io (B), SSE (C), offsets 1..5 in order');

// ---- history written through A and C, read through B ------------------------------------------

const h = await api(B, 'history', { channel: CH, limit: 10 });
check(h.status === 200 && h.body.result.publications.map((p) => p.data.n).join() === want,
  `history through B: ${JSON.stringify(h.body)}`);
console.log('history: the five publications read through B');

// ---- info: every node lists the three, with their figures -------------------------------------

// Polls `info` on `node` until pred(nodes) holds (other nodes' figures are as of their last
// announce, every 3 s).
async function infoUntil(node, pred, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await api(node, 'info', {});
    const list = r.status === 200 && r.body.result ? r.body.result.nodes : null;
    if (list && pred(list)) return list;
    if (Date.now() > end) check(false, `info on ${node.name}: timed out waiting for ${what}: ${JSON.stringify(r.body)}`);
    await sleep(100);
  }
}
const uids = (list) => list.map((n) => n.uid).sort().join();
// A has the one Centrifugo connection (num_clients counts those); each node has one
// subscriber on CH (centrifuge on A, Socket.IO on B, SSE on C).
const plausible = (list) => list.length === 3 && new Set(list.map((n) => n.uid)).size === 3 &&
  list.every((n) => n.version === 'duplex 0.1.0' && n.num_subs >= 1 && n.num_channels >= 1 &&
    Number.isInteger(n.uptime) && n.uptime >= 0) &&
  list.filter((n) => n.num_clients === 1).length === 1 &&
  list.filter((n) => n.num_clients === 0).length === 2;
const lists = [];
for (const node of nodes) lists.push(await infoUntil(node, plausible, '3 nodes with their figures'));
check(lists.every((l) => uids(l) === uids(lists[0])), `info: the same 3 nodes everywhere: ${JSON.stringify(lists)}`);
console.log('info: A, B and C each list the 3 nodes (one Centrifugo client, one subscription each)');

// ---- stop: a stopped node leaves every list at once ------------------------------------------------

cent.disconnect(); sio.close(); es.close();
const codeC = await C.stop();
check(codeC === 0, `node C exit code ${codeC}`);
for (const node of [A, B]) {
  const r = await api(node, 'info', {});  // no wait: C removed its entry on the way out
  const list = r.body.result ? r.body.result.nodes : [];
  check(r.status === 200 && list.length === 2 && list.every((n) => lists[0].some((o) => o.uid === n.uid)),
    `info on ${node.name} right after C stopped: ${JSON.stringify(r.body)}`);
}
console.log('info: C left the list of A and B as soon as it stopped');
for (const n of [A, B]) {
  const code = await n.stop();
  check(code === 0, `node ${n.name} exit code ${code}`);
}
await redis.stop();
console.log('stop: nodes exit 0');
done();
