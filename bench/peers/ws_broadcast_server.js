// Node `ws` broadcast peer of the fan-out benchmark: the idiomatic Node broadcast, one process,
// ws's defaults with permessage-deflate off.
//
//   node ws_broadcast_server.js [--port N] [--host 127.0.0.1]   prints "listening on <port>"
//
// Subscribers connect to /sub?channel=NAME and get {"id":2,"subscribe":{}} once they are in
// the channel's set (so a client knows when publications start reaching it). The publisher
// connects to /pub and sends text frames {"channel":"NAME","data":...} with an optional "id";
// each is parsed once, its push {"push":{"channel":"NAME","pub":{"data":...}}} is serialised
// once (JSON.stringify) and sent to every subscriber of the channel with ws.send, and when an
// id was given the publisher gets {"id":N,"publish":{}} afterwards (the generator's flow
// control, the same shape as duplex's publish reply). The pushes have the shape of duplex's
// Centrifugo pushes so one generator reads both (see bench/loadgen/fanout_protocol.h).
'use strict';
const path = require('path');

function loadWs() {
  try {
    return require('ws');  // bench/node_modules when `npm ci` ran in bench/
  } catch {
    return require(path.join(__dirname, '..', '..', 'tests', 'interop', 'node_modules', 'ws'));
  }
}

const { WebSocketServer } = loadWs();
const args = process.argv.slice(2);
let port = 9005;
let host = '127.0.0.1';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--host') host = args[++i];
  else {
    console.error('usage: ws_broadcast_server.js [--port N] [--host ADDR]');
    process.exit(2);
  }
}

const channels = new Map();  // name -> Set of subscriber sockets

function publish(publisher, text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    publisher.close(1007, 'not JSON');
    return;
  }
  if (typeof msg.channel !== 'string' || msg.data === undefined) {
    publisher.close(1008, 'expected {"channel":...,"data":...}');
    return;
  }
  const subs = channels.get(msg.channel);
  if (subs) {
    const push = JSON.stringify({ push: { channel: msg.channel, pub: { data: msg.data } } });
    for (const ws of subs) ws.send(push);
  }
  if (msg.id !== undefined) publisher.send(`{"id":${Number(msg.id)},"publish":{}}`);
}

const wss = new WebSocketServer({ host, port, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/pub') {
    ws.on('message', (data) => publish(ws, data.toString()));
    return;
  }
  const name = url.searchParams.get('channel');
  if (url.pathname !== '/sub' || !name) {
    ws.close(1008, 'use /sub?channel=NAME or /pub');
    return;
  }
  let subs = channels.get(name);
  if (!subs) channels.set(name, (subs = new Set()));
  subs.add(ws);
  ws.on('close', () => {
    subs.delete(ws);
    if (subs.size === 0 && channels.get(name) === subs) channels.delete(name);
  });
  ws.send('{"id":2,"subscribe":{}}');
});
wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
process.on('SIGTERM', () => process.exit(0));
