// The command-line client of the `duplex` program (issue 8) against real peers:
//  - `duplex ws` against `duplex serve`'s /echo, driven through stdin: lines (UTF-8 too) come
//    back as "< line"; stdin EOF closes with 1000, prints "closed 1000 ..." and exits 0; Ctrl-C
//    (SIGINT) does the same, and so does SIGTERM with --no-stdin (which ignores stdin EOF); a
//    refused connection, a bad URL or a bad --header exits non-zero with the reason;
//  - `duplex ws` against a Node `ws` server (the real peer): the --header/--subprotocol/--origin
//    arguments reach the handshake, a text and a binary frame are printed, the server's close
//    4001 "bye" is printed as "closed 4001 bye" (exit 3);
//  - `duplex sub` on two channels with `duplex pub` (JSON and non-JSON DATA) and server API
//    publications interleaved: every publication printed once, in order, as one JSON line
//    {"channel","offset","data"}; a refused publish and an unreachable server make `pub` exit 1;
//  - `duplex sub --since OFFSET:EPOCH` replays what followed that position;
//  - the server is killed (SIGKILL) and restarted on the same port: the sub reconnects by
//    itself, and since this server keeps history in memory (lost), it reports the gap on stderr
//    instead of staying silent (cli_restart.mjs covers recovery across a restart, with Redis).
//
//   node cli.mjs DUPLEX
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bound, check, hs256Token, importPeer, requireExecutable, startListening } from './support.mjs';
import { cli, cliRun, until, checkExactlyOnceInOrder, publicationsOf, sleep } from './cli_support.mjs';

const { WebSocketServer } = await importPeer('ws');
const done = bound(150000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const API_KEY = 'cli-api-key';
const dir = mkdtempSync(join(tmpdir(), 'duplex-cli-'));
const configFile = join(dir, 'duplex.toml');
writeFileSync(configFile, `
[channel]
subscribe = "anonymous"
publish = "anonymous"
history_size = 1000
history_ttl = "300s"

[[channel.namespace]]
name = "readonly"
subscribe = "anonymous"

[[channel.namespace]]
name = "members"
subscribe = "authenticated"
publish = "authenticated"
history_size = 100
history_ttl = "300s"
`);
const SECRET = 'cli-token-secret';
const serveArgs = (port) => [duplex, 'serve', '--config', configFile, '--port', String(port), '--host', '127.0.0.1',
  '--threads', '2', '--api-key', API_KEY, '--token-secret', SECRET];
let server = await startListening(serveArgs(0));
const port = server.port;
const wsUrl = `ws://127.0.0.1:${port}/connection/websocket`;

async function api(method, params) {
  const res = await fetch(`http://127.0.0.1:${port}/api/${method}`, {
    method: 'POST', headers: { 'X-API-Key': API_KEY }, body: JSON.stringify(params),
    signal: AbortSignal.timeout(10000),
  });
  const body = await res.json();
  check(res.status === 200 && !body.error, `api ${method}: ${res.status} ${JSON.stringify(body)}`);
  return body.result;
}

// ---- 1. duplex ws against /echo, through stdin ---------------------------------------------------

{
  const ws = cli(duplex, ['ws', `ws://127.0.0.1:${port}/echo`], 'ws');
  await until(() => ws.err.some((l) => l.startsWith('connected to ')), 'ws connected');
  const lines = ['hello', 'wörld ✓ 𝄞', '{"json": [1, 2]}'];
  for (const l of lines) ws.write(`${l}\n`);
  await until(() => ws.out.length >= 3, '3 echoes');
  check(JSON.stringify(ws.out.slice(0, 3)) === JSON.stringify(lines.map((l) => `< ${l}`)),
    `echoes ${JSON.stringify(ws.out)}`);
  ws.write('last line without newline');  // delivered at EOF
  ws.end();
  const code = await ws.exit();
  check(code === 0, `ws exit ${code} after stdin EOF`);
  check(ws.out[3] === '< last line without newline', `echo of the unterminated line: ${JSON.stringify(ws.out)}`);
  check(/^closed 1000\b/.test(ws.out[ws.out.length - 1]), `close line: ${JSON.stringify(ws.out)}`);
  check(ws.out.length === 5, `ws printed ${JSON.stringify(ws.out)}`);
  console.log('ws: stdin lines echoed, EOF -> closed 1000, exit 0');
}

{
  const ws = cli(duplex, ['ws', `ws://127.0.0.1:${port}/echo`], 'ws-int');
  await until(() => ws.err.some((l) => l.startsWith('connected to ')), 'ws connected');
  ws.write('before ^C\n');
  await until(() => ws.out.length >= 1, 'echo before SIGINT');
  ws.kill('SIGINT');
  const code = await ws.exit();
  check(code === 0, `ws exit ${code} after SIGINT`);
  check(/^closed 1000\b/.test(ws.out[ws.out.length - 1]), `close line after SIGINT: ${JSON.stringify(ws.out)}`);
  console.log('ws: SIGINT -> closed 1000, exit 0');
}

{
  // --no-stdin: stdin EOF does not close; only the signal does.
  const ws = cli(duplex, ['ws', '--no-stdin', `ws://127.0.0.1:${port}/echo`], 'ws-n');
  ws.end();
  await until(() => ws.err.some((l) => l.startsWith('connected to ')), 'ws -n connected');
  await sleep(300);
  check(ws.proc.exitCode === null && ws.out.length === 0, `ws --no-stdin ended on stdin EOF: ${JSON.stringify(ws.out)}`);
  ws.kill('SIGTERM');
  const code = await ws.exit();
  check(code === 0 && /^closed 1000\b/.test(ws.out.at(-1)), `ws --no-stdin after SIGTERM: ${code} ${JSON.stringify(ws.out)}`);
  console.log('ws --no-stdin: stays open at stdin EOF, SIGTERM -> closed 1000, exit 0');
}

{
  const r = await cliRun(duplex, ['ws', 'ws://127.0.0.1:1/echo']);
  check(r.code === 1, `ws to a closed port exited ${r.code}`);
  check(r.err.some((l) => /cannot connect to ws:\/\/127\.0\.0\.1:1\/echo: .*refused/i.test(l)), `ws error: ${r.err}`);
  const bad = await cliRun(duplex, ['ws', 'http://127.0.0.1/x']);
  check(bad.code === 1 && bad.err.some((l) => /not a ws:\/\/ or wss:\/\/ URL/.test(l)), `ws bad URL: ${bad.code} ${bad.err}`);
  const badHeader = await cliRun(duplex, ['ws', `ws://127.0.0.1:${port}/echo`, '--header', 'no-colon']);
  check(badHeader.code === 2 && badHeader.err.some((l) => /--header/.test(l)), `ws bad header: ${badHeader.code}`);
  console.log('ws: refused connection / bad URL / bad header -> clear error, non-zero exit');
}

// ---- 2. duplex ws against a Node `ws` server -----------------------------------------------------

{
  let handshake = null;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false) });
  await new Promise((resolve) => wss.on('listening', resolve));
  const received = [];
  wss.on('connection', (sock, req) => {
    handshake = { headers: req.headers, protocol: sock.protocol };
    sock.on('message', (data, isBinary) => {
      received.push({ text: data.toString(), isBinary });
      sock.send('text from node');
      sock.send(Buffer.from([0x00, 0x01, 0x7f, 0xff]), { binary: true });
      setTimeout(() => sock.close(4001, 'bye'), 50);
    });
  });
  const ws = cli(duplex, ['ws', `ws://127.0.0.1:${wss.address().port}/path?q=1`, '--header', 'X-Test: yes please',
    '-H', 'X-Other:2', '--subprotocol', 'chat.v1', '--subprotocol', 'chat.v2', '--origin', 'http://example.test'], 'ws-node');
  await until(() => handshake !== null, 'node ws connection');
  check(handshake.headers['x-test'] === 'yes please' && handshake.headers['x-other'] === '2', `headers ${JSON.stringify(handshake.headers)}`);
  check(handshake.headers.origin === 'http://example.test', `origin ${handshake.headers.origin}`);
  check(handshake.headers['sec-websocket-protocol'] === 'chat.v1, chat.v2' && handshake.protocol === 'chat.v2',
    `subprotocols ${handshake.headers['sec-websocket-protocol']} -> ${handshake.protocol}`);
  await until(() => ws.err.some((l) => l.includes('(subprotocol chat.v2)')), 'connected line names the subprotocol');
  ws.write('ping from cli\n');
  const code = await ws.exit();  // stdin stays open: the server's close ends it
  check(received.length === 1 && received[0].text === 'ping from cli' && !received[0].isBinary, `node got ${JSON.stringify(received)}`);
  check(JSON.stringify(ws.out) === JSON.stringify(['< text from node', '< <binary 4 bytes> 00017fff', 'closed 4001 bye']),
    `ws output ${JSON.stringify(ws.out)}`);
  check(code === 3, `ws exit ${code} after close 4001 (expected 3)`);
  wss.close();
  console.log('ws: node ws server: headers/subprotocol/origin sent, text + binary printed, closed 4001 bye, exit 3');
}

// ---- 3. duplex sub + duplex pub + server API ------------------------------------------------------

const sub = cli(duplex, ['sub', wsUrl, 'cli.a', 'cli.b', '--max-reconnect-delay', '500ms'], 'sub');
await until(() => ['cli.a', 'cli.b'].every((ch) => sub.err.some((l) => l.startsWith(`subscribed ${ch} `))), 'sub subscribed');
check(sub.err.some((l) => l.startsWith('connected client=')), `sub connected line: ${sub.err}`);

const expectedA = [];
const expectedB = [];
{
  // Alternate: a `duplex pub` (JSON or not), then API publications on both channels.
  const pubData = ['{"via":"cli","n":1}', 'plain text, not JSON', '[1,2,3]', '"a json string"', '42'];
  const pubExpect = [{ via: 'cli', n: 1 }, 'plain text, not JSON', [1, 2, 3], 'a json string', 42];
  for (let i = 0; i < pubData.length; i++) {
    const r = await cliRun(duplex, ['pub', wsUrl, 'cli.a', pubData[i]]);
    check(r.code === 0 && r.out.join('\n') === 'published', `pub ${pubData[i]}: ${r.code} ${r.out} ${r.err}`);
    expectedA.push(pubExpect[i]);
    for (let k = 0; k < 4; k++) {
      const n = i * 4 + k;
      await api('publish', { channel: 'cli.a', data: { via: 'api', n } });
      expectedA.push({ via: 'api', n });
      await api('publish', { channel: 'cli.b', data: { n, text: 'multi\nline' } });
      expectedB.push({ n, text: 'multi\nline' });
    }
  }
  await until(() => publicationsOf(sub, 'cli.a').length >= expectedA.length && publicationsOf(sub, 'cli.b').length >= expectedB.length,
    'sub printed every publication');
  await sleep(200);  // nothing extra may follow
  checkExactlyOnceInOrder(sub, 'cli.a', expectedA);
  checkExactlyOnceInOrder(sub, 'cli.b', expectedB);
  console.log(`sub/pub: ${expectedA.length + expectedB.length} publications (cli pub + API) printed once each, in order`);
}

{
  const refused = await cliRun(duplex, ['pub', wsUrl, 'readonly:x', '1']);
  check(refused.code === 1 && refused.err.some((l) => /duplex pub: error 103\b/.test(l)), `refused pub: ${refused.code} ${refused.err}`);
  const t0 = Date.now();
  const down = await cliRun(duplex, ['pub', 'ws://127.0.0.1:1/connection/websocket', 'cli.a', '1', '--timeout', '1.5']);
  check(down.code === 1 && down.err.some((l) => /no reply from .* within 1.5s/.test(l)), `pub to nowhere: ${down.code} ${down.err}`);
  check(Date.now() - t0 < 10000, `pub --timeout 1.5 took ${Date.now() - t0} ms`);
  console.log('pub: permission denied -> error 103, exit 1; unreachable -> timeout, exit 1');
}

{
  // --token: a namespace for authenticated users only.
  const token = hs256Token({ sub: 'cli-user', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET);
  const anon = await cliRun(duplex, ['pub', wsUrl, 'members:room', '"hi"']);
  check(anon.code === 1 && anon.err.some((l) => /error 103\b/.test(l)), `anonymous pub to members: ${anon.code} ${anon.err}`);
  const member = cli(duplex, ['sub', wsUrl, 'members:room', '--token', token], 'sub-token');
  await until(() => member.err.some((l) => l.startsWith('subscribed members:room ')), 'sub with --token subscribed');
  const r = await cliRun(duplex, ['pub', wsUrl, 'members:room', '{"from":"member"}', '--token', token]);
  check(r.code === 0, `pub with --token: ${r.code} ${r.err}`);
  await until(() => publicationsOf(member, 'members:room').length === 1, 'member publication');
  check(publicationsOf(member, 'members:room')[0].data.from === 'member', `member got ${member.out}`);
  member.kill('SIGINT');
  check(await member.exit() === 0, 'sub --token exit');
  const refused = await cliRun(duplex, ['sub', wsUrl, 'members:room']);
  check(refused.code === 1 && refused.err.some((l) => l.startsWith('unsubscribed members:room (103')),
    `anonymous sub to members: ${refused.code} ${refused.err}`);
  console.log('--token: pub and sub in an authenticated-only namespace; without it: 103 (pub), refused sub exits 1');
}

{
  // --since: a second subscriber that starts after the 10th publication of cli.a.
  const all = publicationsOf(sub, 'cli.a');
  const hist = await api('history', { channel: 'cli.a', limit: 0 });
  const since = all[9].offset;
  const late = cli(duplex, ['sub', wsUrl, 'cli.a', '--since', `${since}:${hist.epoch}`], 'sub-since');
  await until(() => publicationsOf(late, 'cli.a').length >= all.length - 10, 'replay after --since');
  await sleep(200);
  checkExactlyOnceInOrder(late, 'cli.a', expectedA.slice(10));
  check(late.err.some((l) => l.startsWith('subscribed cli.a recovered=true')), `--since recovered: ${late.err}`);
  late.kill('SIGTERM');
  check(await late.exit() === 0, 'sub exit 0 on SIGTERM');
  const bad = await cliRun(duplex, ['sub', wsUrl, 'cli.a', '--since', 'nope']);
  check(bad.code === 2 && bad.err.some((l) => /--since: expected OFFSET:EPOCH/.test(l)), `bad --since: ${bad.code} ${bad.err}`);
  const two = await cliRun(duplex, ['sub', wsUrl, 'cli.a', 'cli.b', '--since', `1:${hist.epoch}`]);
  check(two.code === 2 && two.err.some((l) => /--since needs exactly one channel/.test(l)), `--since with 2 channels: ${two.code}`);
  console.log('sub --since OFFSET:EPOCH: replays what followed, recovered=true');
}

// ---- 4. server killed and restarted on the same port ---------------------------------------------

{
  const connectedBefore = sub.err.filter((l) => l.startsWith('connected client=')).length;
  await server.stop('SIGKILL');
  await until(() => sub.err.some((l) => l.startsWith('disconnected') || l.startsWith('connecting (1')), 'sub noticed the drop');
  await sleep(300);
  server = await startListening(serveArgs(port));
  check(server.port === port, `restarted on ${server.port}, not ${port}`);
  await until(() => sub.err.filter((l) => l.startsWith('connected client=')).length > connectedBefore, 'sub reconnected', 15000);
  await until(() => sub.err.some((l) => l.startsWith('gap cli.a')) && sub.err.some((l) => l.startsWith('gap cli.b')),
    'gap reported for both channels (history was in the killed process)');
  const before = publicationsOf(sub, 'cli.a').length;
  await api('publish', { channel: 'cli.a', data: { after: 'restart' } });
  await until(() => publicationsOf(sub, 'cli.a').length === before + 1, 'live publication after restart');
  const last = publicationsOf(sub, 'cli.a').at(-1);
  check(last.offset === 1 && last.data.after === 'restart', `after restart: ${JSON.stringify(last)}`);
  console.log('restart: sub reconnected by itself and reported the gap (memory history lost), then live data');
}

sub.kill('SIGINT');
const subCode = await sub.exit();
check(subCode === 0, `sub exit ${subCode} after SIGINT`);
check(sub.err.at(-1) === 'stopped', `sub last status line: ${sub.err.at(-1)}`);
await server.stop();
done();
process.exit(0);
