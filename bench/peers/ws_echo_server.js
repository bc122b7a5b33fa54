// Node `ws` reference peer of the benchmark: one process, ws's defaults with
// permessage-deflate off (the default of ws 8 for servers, stated here so it stays so).
//
//   node ws_echo_server.js [--port N] [--host 127.0.0.1]   prints "listening on <port>"
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
let port = 9004;
let host = '127.0.0.1';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--host') host = args[++i];
  else {
    console.error('usage: ws_echo_server.js [--port N] [--host ADDR]');
    process.exit(2);
  }
}

const wss = new WebSocketServer({ host, port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`listening on ${wss.address().port}`));
process.on('SIGTERM', () => process.exit(0));
