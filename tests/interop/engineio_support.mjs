// Raw Engine.IO v4 clients for the protocol tests (engineio_protocol.mjs, socketio_protocol.mjs):
// a queued WebSocket, fetch with a deadline, open-packet checks. No engine.io-client here: these
// tests send what a client library would not.
import { check, fail, importPeer, withTimeout } from './support.mjs';

const { WebSocket } = await importPeer('ws');

// fetch(base + path) within `ms`; resolves with {status, headers, text}.
export function httpWith(base) {
  return (path, { method = 'GET', body, headers, signal, ms = 3000 } = {}) => withTimeout((async () => {
    const res = await fetch(base() + path, { method, body, headers, signal });
    return { status: res.status, headers: res.headers, text: await res.text() };
  })(), ms, `${method} ${path}`);
}

const OPEN_KEYS = JSON.stringify(['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);

// Checks an open packet's text against the expected settings; returns its JSON.
export function checkOpenPacket(text, upgrades, what, { pingInterval, pingTimeout, maxPayload }) {
  check(typeof text === 'string' && text.startsWith('0'), `${what}: open packet ${JSON.stringify(text)}`);
  let v;
  try {
    v = JSON.parse(text.slice(1));
  } catch {
    fail(`${what}: open packet JSON ${JSON.stringify(text)}`);
  }
  check(JSON.stringify(Object.keys(v).sort()) === OPEN_KEYS, `${what}: open packet keys ${Object.keys(v)}`);
  check(typeof v.sid === 'string' && v.sid.length > 0, `${what}: sid ${JSON.stringify(v.sid)}`);
  check(JSON.stringify(v.upgrades) === JSON.stringify(upgrades), `${what}: upgrades ${JSON.stringify(v.upgrades)}`);
  check(v.pingInterval === pingInterval && v.pingTimeout === pingTimeout && v.maxPayload === maxPayload,
    `${what}: open packet values ${JSON.stringify(v)}`);
  return v;
}

// A WebSocket at `url` whose messages queue up until taken. Text arrives as strings, binary as
// Buffers. Engine.IO pings ("2") are answered and left out of the queue when `answerPings`.
export function wsQueue(url, { answerPings = false } = {}) {
  const ws = new WebSocket(url);
  const queue = [];
  const waiters = [];
  const errors = [];
  let opened = false;
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? Buffer.from(data) : data.toString();
    if (m === '2' && answerPings) { ws.send('3'); return; }
    if (waiters.length) waiters.shift()(m);
    else queue.push(m);
  });
  ws.on('error', (e) => errors.push(e.message));
  const openP = new Promise((resolve, reject) => {
    ws.once('open', () => { opened = true; resolve(); });
    ws.once('close', () => reject(new Error(`ws ${url} closed before it opened (${errors.join('; ')})`)));
  });
  openP.catch(() => {});
  const closedP = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const self = {
    ws, errors,
    wasOpened: () => opened,
    isOpen: () => ws.readyState === WebSocket.OPEN,
    open: (ms = 3000) => withTimeout(openP, ms, `ws ${url} open`),
    closed: (ms = 3000) => withTimeout(closedP, ms, `ws ${url} close`),
    next: (ms = 3000) => withTimeout(queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)),
      ms, `ws ${url} message`),
    // The next message that is not a ping; pings met on the way are answered.
    async data(ms = 3000) {
      for (;;) {
        const m = await self.next(ms);
        if (m === '2') { ws.send('3'); continue; }
        return m;
      }
    },
    // Resolves with the next message, or null when none comes within `ms`.
    quiet: (ms) => (queue.length ? Promise.resolve(queue.shift())
      : new Promise((resolve) => {
        const w = (m) => { clearTimeout(t); resolve(m); };
        const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); resolve(null); }, ms);
        waiters.push(w);
      })),
    send: (d) => ws.send(d),
  };
  return self;
}
