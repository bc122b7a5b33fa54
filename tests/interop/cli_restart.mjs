// `duplex sub` across a server restart, with recovery (issue 8): two `duplex serve` nodes A and B
// on one real redis-server (history lives in Redis Streams, so it survives a node). A `duplex sub`
// on A; a steady stream of publications through B (server API, plus `duplex pub` over B's
// WebSocket now and then). Mid-stream A is killed (SIGKILL) while B keeps publishing, then
// restarted on the same port. The sub reconnects by itself, resubscribes with recovery
// (recovered=true, no gap line), and in the end has printed every publication exactly once and
// in order, offsets without a hole.
//
//   node cli_restart.mjs DUPLEX
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bound, check, requireExecutable, startListening } from './support.mjs';
import { api as apiOf, redisServer } from './redis_support.mjs';
import { cli, cliRun, until, checkExactlyOnceInOrder, publicationsOf, sleep } from './cli_support.mjs';

const done = bound(100000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const redis = await redisServer('cli-restart');
const configFile = join(redis.dir, 'duplex.toml');
writeFileSync(configFile, `
[channel]
subscribe = "anonymous"
publish = "anonymous"
history_size = 2000
history_ttl = "300s"
`);
const API_KEY = 'cli-restart-key';
const nodeArgs = (port) => [duplex, 'serve', '--config', configFile, '--port', String(port), '--host', '127.0.0.1',
  '--threads', '2', '--api-key', API_KEY, '--broker', redis.url];
const startNode = async (port) => {
  const n = await startListening(nodeArgs(port));
  n.base = `http://127.0.0.1:${n.port}`;
  return n;
};
let A = await startNode(0);
const B = await startNode(0);
const aPort = A.port;

const CH = 'cli.restart';
const sub = cli(duplex, ['sub', `ws://127.0.0.1:${aPort}/connection/websocket`, CH, '--max-reconnect-delay', '400ms'], 'sub');
await until(() => sub.err.some((l) => l.startsWith(`subscribed ${CH} `)), 'sub subscribed');

// The publisher: seq 1, 2, ... through B until stopped; every 25th through `duplex pub`.
const expected = [];
let publishing = true;
const publisher = (async () => {
  for (let seq = 1; publishing; seq++) {
    if (seq % 25 === 0) {
      const r = await cliRun(duplex, ['pub', `ws://127.0.0.1:${B.port}/connection/websocket`, CH, `{"seq":${seq},"via":"cli"}`]);
      check(r.code === 0, `duplex pub seq ${seq}: ${r.code} ${r.err}`);
      expected.push({ seq, via: 'cli' });
    } else {
      const r = await apiOf(B, API_KEY, 'publish', { channel: CH, data: { seq } });
      check(r.status === 200 && !r.body.error, `publish ${seq}: ${JSON.stringify(r.body)}`);
      expected.push({ seq });
    }
    await sleep(5);
  }
})();

await until(() => publicationsOf(sub, CH).length >= 60, '60 publications before the kill', 20000);
const connectedBefore = sub.err.filter((l) => l.startsWith('connected client=')).length;
await A.stop('SIGKILL');
const killedAt = expected.length;
await until(() => expected.length >= killedAt + 60, '60 publications while A is down', 20000);
A = await startNode(aPort);
check(A.port === aPort, `A restarted on ${A.port}, not ${aPort}`);
await until(() => sub.err.filter((l) => l.startsWith('connected client=')).length > connectedBefore, 'sub reconnected', 15000);
await until(() => expected.length >= killedAt + 120, '60 more publications after the restart', 20000);
publishing = false;
await publisher;

await until(() => publicationsOf(sub, CH).length >= expected.length, `sub printed all ${expected.length} publications`, 15000);
await sleep(300);  // nothing extra may follow
checkExactlyOnceInOrder(sub, CH, expected);
const resubscribed = sub.err.filter((l) => l.startsWith(`subscribed ${CH} `));
check(resubscribed.length === 2 && resubscribed[1].startsWith(`subscribed ${CH} recovered=true`),
  `subscribed lines: ${JSON.stringify(resubscribed)}`);
check(!sub.err.some((l) => l.startsWith('gap ')), 'no gap may be reported: history was in Redis');
console.log(`restart: ${expected.length} publications (killed at ${killedAt}), printed once each in order; recovered=true`);

sub.kill('SIGTERM');
check(await sub.exit() === 0, 'sub exit 0 on SIGTERM');
await A.stop();
await B.stop();
done();
process.exit(0);
