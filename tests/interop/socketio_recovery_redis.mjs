// Socket.IO connection state recovery across servers on plain Redis (issue 6: "recovery that
// does not work with plain Redis" is one of Socket.IO's known pains). Two sio_showcase servers
// keep their broadcasts and dropped sessions in one real redis-server (--recovery-broker, the
// hub's Redis broker: Streams history). socket.io-client (WebSocket only) reaches server A
// through a TCP proxy, joins a room, and asks A to drop its transport and then broadcast to it;
// meanwhile the proxy is switched to server B. The client reconnects by itself, to B, and is
// restored there: recovered, same id, room kept, every missed broadcast in order, from Redis.
// Then the reverse way (B -> A), and a session is restored at most once.
//
//   node socketio_recovery_redis.mjs SIO_SHOWCASE
import { bound, check, cuttableProxy, fail, importPeer, requireExecutable, startListening, withTimeout } from './support.mjs';
import { redisServer } from './redis_support.mjs';

const { io } = await importPeer('socket.io-client');
const done = bound(60000);
const showcase = requireExecutable(process.argv[2], 'sio_showcase');

const once = (s, event, ms, what) =>
  withTimeout(new Promise((resolve) => s.once(event, (...a) => resolve(a))), ms, what);
const ack = (s, ...args) => withTimeout(s.emitWithAck(...args), 5000, `ack of ${args[0]}`);

try {
  const redis = await redisServer('sio-recovery');
  const start = () => startListening([showcase, '--port', '0', '--threads', '2', '--recovery',
    '--recovery-broker', redis.url]);
  const a = await start();
  const b = await start();
  console.log(`redis-server on ${redis.port}; sio_showcase A on ${a.port}, B on ${b.port}`);
  const proxy = await cuttableProxy(a.port);
  const s = io(`http://127.0.0.1:${proxy.port}`, {
    transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0,
  });
  await once(s, 'connect', 5000, 'connect through the proxy to A');
  const id = s.id;
  const primed = once(s, 'primed', 5000, 'primed');
  await ack(s, 'csr-prime');  // a broadcast: the client now holds an offset
  await primed;
  check((await ack(s, 'join', 'kept-room')) === true, 'join');
  const got = [];
  s.on('missed', (p, i) => got.push([p, i]));

  for (const [from, to, tag, n] of [[a, b, 'A->B', 25], [b, a, 'B->A', 10]]) {
    got.length = 0;
    const before = s.id;
    proxy.switchTo(to.port);  // new connections go to the other server; this one stays on `from`
    const reconnected = once(s, 'connect', 8000, `${tag}: reconnect`);
    s.emit('csr-drop-and-emit', tag, n);  // `from` drops us, then broadcasts n times to our room
    const [reason] = await once(s, 'disconnect', 5000, `${tag}: disconnect`);
    check(reason === 'transport close', `${tag}: disconnect reason ${reason}`);
    await reconnected;
    check(s.recovered === true && s.id === before && s.id === id, `${tag}: recovered ${s.recovered}, id ${s.id} (was ${id})`);
    await withTimeout((async () => { while (got.length < n) await new Promise((r) => setTimeout(r, 10)); })(),
      5000, `${tag}: ${n} missed broadcasts (got ${got.length})`);
    check(got.length === n && got.every(([p, i], k) => p === tag && i === k), `${tag}: missed ${JSON.stringify(got)}`);
    const [me] = await withTimeout(s.timeout(5000).emitWithAck('whoami'), 5000, 'whoami').then((x) => [x]);
    check(me.recovered === true && me.id === id && me.rooms.includes('kept-room'), `${tag}: whoami ${JSON.stringify(me)}`);
    console.log(`  ${tag}: restored on the other server (same id, room kept), ${n} missed broadcasts from Redis in order`);
  }

  // A second client replaying the first one's pid/offset is not restored: a session comes back once.
  const stolen = { pid: s._pid, offset: s._lastOffset };
  check(typeof stolen.pid === 'string' && typeof stolen.offset === 'string', `client pid/offset ${JSON.stringify(stolen)}`);
  s.disconnect();
  const t = io(`http://127.0.0.1:${b.port}`, { transports: ['websocket'], auth: stolen, reconnection: false });
  await once(t, 'connect', 5000, 'connect with a spent pid');
  check(t.id !== id, `a spent pid was restored again (id ${t.id})`);
  t.disconnect();
  console.log('  a session is restored at most once');

  // Bad recovery input connects afresh (a new socket, through the middlewares), never fails the
  // CONNECT or the server: an offset that is not "<offset>:<epoch>", a non-string offset, an
  // unknown pid.
  for (const auth of [{ pid: 'nope', offset: 'garbage' }, { pid: 'nope', offset: 7 }, { pid: 'x'.repeat(500), offset: '1:e' },
    { pid: 42, offset: '1:e' }]) {
    const u = io(`http://127.0.0.1:${a.port}`, { transports: ['websocket'], auth, reconnection: false });
    await once(u, 'connect', 5000, `connect with auth ${JSON.stringify(auth).slice(0, 60)}`);
    check(!u.recovered && u.id !== id, `bad recovery auth ${JSON.stringify(auth).slice(0, 60)}: recovered ${u.recovered}`);
    u.disconnect();
  }
  console.log('  malformed pid/offset in the auth: a fresh socket');

  proxy.close();
  for (const [name, srv] of [['A', a], ['B', b]]) {
    const code = await srv.stop('SIGTERM');
    check(code === 0, `server ${name} exited with ${code}`);
  }
  await redis.stop();
} catch (e) {
  fail(e.stack || e.message);
}
done();
process.exit(0);
