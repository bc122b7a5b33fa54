// No sticky sessions (issue 7): two `duplex serve` nodes on one real redis-server behind a real
// nginx (Debian) that spreads requests round-robin with no affinity and opens a new upstream
// connection per request. Long-polling requests and Centrifugo /emulation POSTs that land on
// the node that does not own the session are forwarded to the owner through Redis (the node
// bus) and answered.
//   - socket.io-client, polling only: connect, subscribe, get API publications made on both
//     nodes, publish with an ack, in order, nothing lost;
//   - socket.io-client with its default transports (polling, then the upgrade, which succeeds
//     only when it lands on the owner; otherwise it stays on polling): the same;
//   - the centrifuge SDK over HTTP-streaming (stream + POST /emulation): subscribe, publish,
//     receive; its emulation POSTs cross nodes;
//   - the metrics show requests were forwarded both ways and none went unanswered;
//   - a node that stops with a forwarded poll pending exits cleanly; a poll for a sid of a node
//     that is gone gets Engine.IO's 400 "Session ID unknown".
//
//   node redis_no_sticky.mjs DUPLEX
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { bound, check, importPeer, peerMissing, requireExecutable, withTimeout } from './support.mjs';
import { sleep, twoNodes, until } from './redis_support.mjs';

const { io } = await importPeer('socket.io-client');
const { Centrifuge } = await importPeer('centrifuge');
const done = bound(90000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const nginxBin = ['/usr/sbin/nginx', 'nginx'].find((b) => spawnSync(b, ['-v']).status === 0);
if (!nginxBin) peerMissing('nginx (Debian nginx-light)');

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

const { redis, A, B, api } = await twoNodes(duplex, 'nosticky', { historySize: 100 });

// ---- nginx: round-robin over A and B, no affinity, no upstream keep-alive -----------------------

const nginxPort = await freePort();
const nginxConf = join(redis.dir, 'nginx.conf');
writeFileSync(nginxConf, `
worker_processes 1;
daemon off;
pid ${redis.dir}/nginx.pid;
error_log ${redis.dir}/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log ${redis.dir}/nginx-access.log;
  client_body_temp_path ${redis.dir}/body;
  proxy_temp_path ${redis.dir}/proxy;
  upstream duplex_nodes {
    server 127.0.0.1:${A.port};
    server 127.0.0.1:${B.port};
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://duplex_nodes;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 60s;
    }
  }
}
`);
const nginx = spawn(nginxBin, ['-p', redis.dir, '-c', nginxConf], { stdio: ['ignore', 'inherit', 'inherit'] });
process.on('exit', () => nginx.kill('SIGTERM'));  // TERM: the master takes its worker along
const base = `http://127.0.0.1:${nginxPort}`;
async function reachable() {
  try {
    await fetch(`${base}/`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}
for (let i = 0; !(await reachable()); ++i) {
  check(i < 100, 'nginx did not come up');
  await sleep(100);
}

const CH = 'nosticky';

// ---- Socket.IO clients ---------------------------------------------------------------------------

function sioClient(label, transports) {
  const opts = { reconnection: false, timeout: 8000 };
  if (transports) opts.transports = transports;
  const s = io(base, opts);
  const c = { label, s, got: [], errors: [] };
  s.on('publication', (p) => { if (p.channel === CH) c.got.push(p.data); });
  s.on('connect_error', (e) => c.errors.push(`connect_error ${e.message}`));
  s.on('disconnect', (why) => c.errors.push(`disconnect ${why}`));
  return c;
}

const polling = sioClient('socket.io polling', ['polling']);
const upgrading = sioClient('socket.io default', null);
for (const c of [polling, upgrading]) {
  if (!c.s.connected) {
    await withTimeout(new Promise((resolve) => c.s.once('connect', resolve)), 10000, `${c.label} connect`);
  }
  const ack = await c.s.timeout(8000).emitWithAck('subscribe', CH);
  check(!ack.error && ack.channel === CH, `${c.label} subscribe ack ${JSON.stringify(ack)}`);
}

// ---- the centrifuge SDK over HTTP-streaming + /emulation ---------------------------------------

const cent = new Centrifuge([{ transport: 'http_stream', endpoint: `${base}/connection/http_stream` }], {
  emulationEndpoint: `${base}/emulation`, minReconnectDelay: 100, maxReconnectDelay: 500, timeout: 8000,
});
const centGot = [];
let centConnects = 0;
cent.on('connected', () => ++centConnects);
const sub = cent.newSubscription(CH);
sub.on('publication', (ctx) => centGot.push(ctx.data));
const subscribed = new Promise((resolve) => sub.once('subscribed', resolve));
sub.subscribe();
cent.connect();
await withTimeout(subscribed, 10000, 'centrifuge http_stream subscribed');

// ---- publications from both nodes' APIs and from the clients ------------------------------------

const TOTAL = 40;
let seq = 0;
for (let i = 0; i < TOTAL; ++i) {
  const via = i % 2 === 0 ? A : B;
  const r = await api(via, 'publish', { channel: CH, data: { seq: ++seq, via: via.name } });
  check(r.status === 200 && r.body.result, `publish ${seq} through ${via.name}: ${JSON.stringify(r)}`);
  if (i % 10 === 9) {
    // A client's own publish: through its session (Socket.IO POST / emulation POST: any node).
    const ack = await polling.s.timeout(8000).emitWithAck('publish', CH, { seq: ++seq, via: 'sio' });
    check(!ack.error, `socket.io publish ack ${JSON.stringify(ack)}`);
    await sub.publish({ seq: ++seq, via: 'sdk' });
  }
}
const expected = Array.from({ length: seq }, (_, i) => i + 1);
const seqs = (got) => got.map((d) => d.seq);
for (const [label, got] of [['socket.io polling', polling.got], ['socket.io default', upgrading.got], ['centrifuge http_stream', centGot]]) {
  await until(() => got.length >= seq, `${label}: ${seq} publications (has ${got.length})`, 15000);
}
await sleep(200);
for (const [label, got] of [['socket.io polling', polling.got], ['socket.io default', upgrading.got], ['centrifuge http_stream', centGot]]) {
  check(JSON.stringify(seqs(got)) === JSON.stringify(expected),
    `${label}: every publication once, in order: ${JSON.stringify(seqs(got))}`);
}
check(polling.errors.length === 0 && upgrading.errors.length === 0,
  `socket.io clients kept their sessions: ${JSON.stringify([polling.errors, upgrading.errors])}`);
check(centConnects === 1, `centrifuge http_stream connected ${centConnects} times (want 1: no reconnect)`);
check(polling.s.io.engine.transport.name === 'polling', 'the polling-only client is on polling');
console.log(`${seq} publications (API on A and B, socket.io and SDK publishes) reached every client in order; ` +
  `the default client ended on ${upgrading.s.io.engine.transport.name}`);

// ---- the nodes forwarded to each other, and nothing went unanswered -----------------------------

async function metrics(n) {
  const text = await (await fetch(`${n.base}/metrics`)).text();
  return (series) => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? NaN : Number(line.slice(series.length + 1));
  };
}
const mA = await metrics(A);
const mB = await metrics(B);
const fwd = (m, s) => m(`duplex_socketio_forwarded_${s}_total`);
console.log(`socket.io forwarded out/in: A ${fwd(mA, 'out')}/${fwd(mA, 'in')}, B ${fwd(mB, 'out')}/${fwd(mB, 'in')}; ` +
  `bus requests A ${mA('duplex_node_bus_requests_total')} B ${mB('duplex_node_bus_requests_total')}`);
check(fwd(mA, 'out') > 0 && fwd(mB, 'out') > 0, 'both nodes forwarded Socket.IO polling requests');
check(fwd(mA, 'in') > 0 && fwd(mB, 'in') > 0, 'both nodes served forwarded Socket.IO polling requests');
check(mA('duplex_node_bus_served_total') + mB('duplex_node_bus_served_total') >
  fwd(mA, 'in') + fwd(mB, 'in'), 'emulation requests were forwarded too');
check(mA('duplex_node_bus_unanswered_total') === 0 && mB('duplex_node_bus_unanswered_total') === 0,
  'no forwarded request went unanswered');

// ---- a session of a node that is gone -----------------------------------------------------------

cent.disconnect();
polling.s.close();
upgrading.s.close();
// A session straight on B; then B stops: a poll for that sid arriving at A is forwarded to a
// node that no longer listens, and answered at once.
const openB = await (await fetch(`${B.base}/socket.io/?EIO=4&transport=polling`)).text();
const sidB = JSON.parse(openB.slice(1)).sid;
check(typeof sidB === 'string' && sidB.length > 22, `B's sid carries its node: ${sidB}`);
// A poll that B forwarded to A and A still holds (nothing to send yet) when B stops: B answers
// it itself on the way out and exits cleanly (no request is left waiting on freed state).
const openA = await (await fetch(`${A.base}/socket.io/?EIO=4&transport=polling`)).text();
const sidA = JSON.parse(openA.slice(1)).sid;
const held = fetch(`${B.base}/socket.io/?EIO=4&transport=polling&sid=${sidA}`, { signal: AbortSignal.timeout(15000) })
  .then((r) => r.status, () => 'closed');
await sleep(300);
const bExit = await B.stop();
check(bExit === 0, `node B exit code ${bExit} (stopped with a forwarded poll pending)`);
const heldEnd = await withTimeout(held, 10000, 'the held forwarded poll ends');
console.log(`a forwarded poll pending when its node stopped ended with ${heldEnd}`);
const t0 = Date.now();
const gone = await fetch(`${A.base}/socket.io/?EIO=4&transport=polling&sid=${sidB}`, { signal: AbortSignal.timeout(15000) });
const goneBody = await gone.json();
check(gone.status === 400 && goneBody.code === 1, `poll for a gone node's sid: ${gone.status} ${JSON.stringify(goneBody)}`);
console.log(`a poll for a session of a node that is gone: 400 "Session ID unknown" in ${Date.now() - t0} ms`);

nginx.kill('SIGTERM');
const aExit = await A.stop();
check(aExit === 0, `node A exit code ${aExit}`);
await redis.stop();
done();
