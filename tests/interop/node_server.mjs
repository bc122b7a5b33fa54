// Our echo_client -> a Node `ws` echo server with permessage-deflate (threshold 0). With
// --deflate the client must negotiate the extension and count compressed frames both ways;
// without it, no extension and no compressed frame. The server checks what it saw too.
//
//   node node_server.mjs ECHO_CLIENT
import {
  bound, check, importPeer, lastJsonLine, requireExecutable, run,
} from './support.mjs';

const { WebSocketServer } = await importPeer('ws');
const done = bound(90000);
const echoClient = requireExecutable(process.argv[2], 'echo_client');

const seen = { connections: 0, messages: 0, extensions: [] };
const wss = new WebSocketServer({
  host: '127.0.0.1', port: 0, maxPayload: 4 << 20, perMessageDeflate: { threshold: 0 },
});
wss.on('connection', (ws) => {
  seen.connections += 1;
  seen.extensions.push(ws.extensions);
  ws.on('message', (data, isBinary) => {
    seen.messages += 1;
    ws.send(data, { binary: isBinary });
  });
});
await new Promise((resolve) => wss.on('listening', resolve));
const url = `ws://127.0.0.1:${wss.address().port}/echo`;

async function client(...args) {
  const what = `echo_client ${args.join(' ')}`;
  const { code, stdout } = await run([echoClient, url, '--timeout-ms', '20000', ...args]);
  const r = lastJsonLine(stdout, what);
  check(code === 0 && r.ok === true, `${what}: exit ${code}, ${JSON.stringify(r)}`);
  return r;
}

let r = await client('--deflate', '--count', '20', '--size', '1024');
check(r.sent === 20 && r.received === 20, `deflate text: ${JSON.stringify(r)}`);
check(r.extensions.includes('permessage-deflate'), `--deflate: extensions ${JSON.stringify(r.extensions)}`);
check(r.compressed_frames_in > 0, `--deflate: no compressed frame in: ${JSON.stringify(r)}`);
check(r.compressed_frames_out > 0, `--deflate: no compressed frame out: ${JSON.stringify(r)}`);
check(seen.extensions.at(-1).includes('permessage-deflate'),
  `ws server did not accept permessage-deflate: ${JSON.stringify(seen.extensions.at(-1))}`);

r = await client('--deflate', '--binary', '--count', '5', '--size', String(1 << 20));
check(r.received === 5 && r.compressed_frames_in > 0 && r.compressed_frames_out > 0,
  `deflate 1 MiB binary: ${JSON.stringify(r)}`);

r = await client('--deflate');
check(r.received === 10 && r.extensions.includes('permessage-deflate'), `deflate default: ${JSON.stringify(r)}`);

r = await client('--count', '20', '--size', '1024');
check(r.extensions === '', `no --deflate, yet extensions ${JSON.stringify(r.extensions)}`);
check(r.compressed_frames_in === 0 && r.compressed_frames_out === 0,
  `no extension, yet compressed frames: ${JSON.stringify(r)}`);
check(seen.extensions.at(-1) === '', `ws server negotiated ${JSON.stringify(seen.extensions.at(-1))} without an offer`);

r = await client('--binary', '--count', '3', '--size', String(1 << 20));
check(r.received === 3, `1 MiB binary: ${JSON.stringify(r)}`);

check(seen.connections === 5, `ws server saw ${seen.connections} connections, expected 5`);
check(seen.messages === 20 + 5 + 10 + 20 + 3, `ws server echoed ${seen.messages} messages, expected 58`);
for (const c of wss.clients) c.terminate();
await new Promise((resolve) => wss.close(resolve));
done();
