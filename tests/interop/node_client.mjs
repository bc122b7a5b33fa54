// Node `ws` client -> our echo_server, with permessage-deflate (threshold 0, so even small
// messages are compressed) and without. Asserts the negotiated extension, every echo (content
// and text/binary type), a clean 1000 close, and the server's --stats-file counters.
//
//   node node_client.mjs ECHO_SERVER
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  binaryMessage, bound, check, fail, importPeer, requireExecutable, startListening,
  stopAndReadStats, textMessage, withTimeout,
} from './support.mjs';

const { default: WebSocket } = await importPeer('ws');
const done = bound(90000);
const echoServer = requireExecutable(process.argv[2], 'echo_server');
const MIB = 1 << 20;

function open(url, options) {
  const ws = new WebSocket(url, { maxPayload: 4 * MIB, ...options });
  const queue = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = { data, isBinary };
    if (waiters.length) waiters.shift()(m); else queue.push(m);
  });
  ws.next = (what) => withTimeout(new Promise((resolve) => {
    if (queue.length) resolve(queue.shift()); else waiters.push(resolve);
  }), 20000, what);
  ws.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  }), 10000, `open ${url}`);
}

async function roundTrips(url, perMessageDeflate) {
  const ws = await open(url, { perMessageDeflate }).catch((e) => fail(`${url}: ${e.message}`));
  if (perMessageDeflate) {
    check(ws.extensions.includes('permessage-deflate'),
      `${url}: expected permessage-deflate, got ${JSON.stringify(ws.extensions)}`);
  } else {
    check(ws.extensions === '', `${url}: expected no extension, got ${JSON.stringify(ws.extensions)}`);
  }
  const messages = [];
  for (let i = 0; i < 60; ++i) {
    const size = [0, 1, 10, 125, 126, 4000, 65536][i % 7];
    messages.push(i % 2 ? binaryMessage(size, i) : textMessage(size, i));
  }
  messages.push(textMessage(MIB, 1), binaryMessage(MIB, 2));
  for (const [i, msg] of messages.entries()) {
    const binary = Buffer.isBuffer(msg);
    ws.send(msg, { binary });
    const echo = await ws.next(`${url}: echo of message ${i}`).catch((e) => fail(e.message));
    check(echo.isBinary === binary, `${url}: message ${i} type changed (binary=${binary})`);
    const ok = binary ? Buffer.compare(echo.data, msg) === 0 : echo.data.toString('utf8') === msg;
    check(ok, `${url}: message ${i} (${binary ? msg.length : Buffer.byteLength(msg)} bytes) echoed wrong`);
  }
  // A burst sent without waiting comes back complete and in order.
  const burst = Array.from({ length: 100 }, (_, i) => textMessage(20 + i, i));
  for (const m of burst) ws.send(m);
  for (const [i, m] of burst.entries()) {
    const echo = await ws.next(`${url}: burst ${i}`).catch((e) => fail(e.message));
    check(!echo.isBinary && echo.data.toString('utf8') === m, `${url}: burst message ${i} echoed wrong`);
  }
  ws.close(1000, 'done');
  const code = await withTimeout(ws.closed, 10000, `${url}: close`).catch((e) => fail(e.message));
  check(code === 1000, `${url}: close code ${code}, expected 1000`);
  return messages.length + burst.length;
}

const tmp = mkdtempSync(join(tmpdir(), 'duplex-interop-'));
try {
  const statsFile = join(tmp, 'stats.json');
  const server = await startListening([echoServer, '--port', '0', '--host', '127.0.0.1',
    '--stats-file', statsFile]);
  let sent = 0;
  sent += await roundTrips(`ws://127.0.0.1:${server.port}/echo`, { threshold: 0 });
  sent += await roundTrips(`ws://127.0.0.1:${server.port}/`, false);
  const stats = await stopAndReadStats(server, statsFile);
  check(stats.connections === 2, `stats: connections ${stats.connections}, expected 2`);
  check(stats.messages_in === sent && stats.messages_out === sent,
    `stats: expected ${sent} messages in and out, got ${JSON.stringify(stats)}`);
  check(stats.compressed_frames_in > 0, `stats: no compressed frame in: ${JSON.stringify(stats)}`);
  check(stats.compressed_frames_out > 0, `stats: no compressed frame out: ${JSON.stringify(stats)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
done();
