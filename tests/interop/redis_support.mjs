// What the multi-node tests share (redis_nodes, redis_failover, redis_restart, redis_no_sticky): a
// real redis-server on a free port (restartable on that port), `duplex serve` nodes on it, the
// server API, bounded waits.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, peerMissing, startListening, withTimeout } from './support.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(cond, what, ms = 8000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) check(false, `timed out waiting for ${what}`);
    await sleep(10);
  }
}

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

// A redis-server without persistence in a temp dir, started; stop() and start() again keep the
// port (a restart loses every key). Killed when the test process exits.
export async function redisServer(name) {
  const bin = ['/usr/bin/redis-server', 'redis-server'].find((b) => spawnSync(b, ['--version']).status === 0);
  if (!bin) peerMissing('redis-server (Debian redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `duplex-${name}-`));
  let proc = null;
  process.on('exit', () => { if (proc) proc.kill('SIGKILL'); });
  const ping = () => spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() === 'PONG';
  const r = {
    port, dir, url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
      await until(ping, 'redis-server up', 10000);
    },
    async stop(signal = 'SIGTERM') {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill(signal);
      await withTimeout(exited, 10000, `redis-server exit after ${signal}`);
      proc = null;
    },
  };
  await r.start();
  return r;
}

// A `duplex serve` node on the broker at `brokerUrl` (two loop threads, an API key, optional
// config file); the result has name, base (http://...) and port.
export async function startNode(duplex, name, { brokerUrl, apiKey, configFile }) {
  const args = [duplex, 'serve', '--port', '0', '--host', '127.0.0.1', '--threads', '2',
    '--api-key', apiKey, '--broker', brokerUrl];
  if (configFile) args.push('--config', configFile);
  const n = await startListening(args);
  n.name = name;
  n.base = `http://127.0.0.1:${n.port}`;
  return n;
}

// POST /api/<method> on `node`; resolves with {status, body}.
export async function api(node, apiKey, method, params) {
  const r = await fetch(`${node.base}/api/${method}`, {
    method: 'POST', headers: { 'X-API-Key': apiKey }, body: JSON.stringify(params),
    signal: AbortSignal.timeout(10000),
  });
  return { status: r.status, body: await r.json() };
}

// A redis-server and two `duplex serve` nodes A and B on it, whose default namespace keeps
// `historySize` publications for 300 s; api(node, method, params) calls the server API.
export async function twoNodes(duplex, name, { historySize = 2000 } = {}) {
  const redis = await redisServer(name);
  const configFile = join(redis.dir, 'duplex.toml');
  writeFileSync(configFile, `
[channel]
history_size = ${historySize}
history_ttl = "300s"
`);
  const apiKey = `${name}-key`;
  const node = (n) => startNode(duplex, n, { brokerUrl: redis.url, apiKey, configFile });
  const A = await node('A');
  const B = await node('B');
  return { redis, A, B, api: (n, method, params) => api(n, apiKey, method, params) };
}
