// Node socket.io peer of the Socket.IO benchmark: socket.io 4.8 (pinned in package.json here),
// one process, default settings except permessage-deflate off, with the event contract of our
// examples/sio_showcase that the benchmark drives:
//   echo(...args, ack)            acks all args
//   join(room, ack)               joins the room, acks true
//   to-room(room, payload, ack)   room-msg(room, payload) to the room but the sender; acks true
//   broadcast(payload, ack)       bcast(payload) to everyone but the sender; acks true
//
//   node sio_server.js [--port N] [--host 127.0.0.1]   prints "listening on <port>"
//
// Transports: polling and websocket (socket.io's default), so a client may connect straight to
// /socket.io/?EIO=4&transport=websocket as the generator does.
'use strict';
const http = require('http');

// bench/peers/node_modules after `npm ci` here (run.py does it when it is missing).
const { Server } = require('socket.io');

const args = process.argv.slice(2);
let port = 3000;
let host = '127.0.0.1';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--host') host = args[++i];
  else {
    console.error('usage: sio_server.js [--port N] [--host ADDR]');
    process.exit(2);
  }
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  perMessageDeflate: false,
  transports: ['polling', 'websocket'],
});

io.on('connection', (socket) => {
  socket.on('echo', (...a) => {
    const ack = typeof a[a.length - 1] === 'function' ? a.pop() : null;
    if (ack) ack(...a);
  });
  socket.on('join', (room, ack) => {
    socket.join(String(room));
    if (typeof ack === 'function') ack(true);
  });
  socket.on('to-room', (room, payload, ack) => {
    socket.to(String(room)).emit('room-msg', room, payload);
    if (typeof ack === 'function') ack(true);
  });
  socket.on('broadcast', (payload, ack) => {
    socket.broadcast.emit('bcast', payload);
    if (typeof ack === 'function') ack(true);
  });
});

httpServer.listen(port, host, () => {
  process.stdout.write(`listening on ${httpServer.address().port}\n`);
});

function stop() {
  io.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
