// The sio_chat example (examples/sio_chat.cc and its page, socket.io-client bundled by the
// sio_chat_page target) in headless Chromium, the server on two loop threads:
//   1. default transports: two tabs upgrade to WebSocket, see each other in the presence list
//      and the typing indicator, exchange messages both ways; a socket.io-client in Node joins
//      the room and its message shows in both tabs; a third tab gets the messages from history,
//      and closing it updates the others' presence;
//   2. WebSocket blocked in the page (no window.WebSocket; the page keeps its default transports):
//      the same two-way chat while no tab opens any WebSocket (Playwright's
//      `websocket` event) and every tab stays on long-polling; switching rooms in a tab leaves
//      the old room;
//   3. validation: a tab with an empty name shows the middleware's refusal, then connects once
//      a name is entered; Node clients are refused for blank, missing, non-string and over-long
//      names, and get error acks for over-long, empty or misaddressed messages and bad room names.
// Screenshots go to <build>/screenshots (the build folder holding the sio_chat binary).
//
//   node socketio_chat_browser.mjs SIO_CHAT
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bound, check, importPeer, launchChromium, requireExecutable, startListening, withTimeout } from './support.mjs';
import { newTab, watchConsole } from './demo_support.mjs';

const { chromium } = await importPeer('playwright-core');
const { io } = await importPeer('socket.io-client');
const done = bound(140000);
const chatServer = requireExecutable(process.argv[2], 'sio_chat');
const screenshotDir = join(dirname(dirname(resolve(chatServer))), 'screenshots');

const server = await startListening([chatServer, '--port', '0', '--host', '127.0.0.1', '--threads', '2']);
const base = `http://127.0.0.1:${server.port}`;

// The page and its bundle must be the built ones (not the stub of a build without npm ci).
{
  const page = await fetch(`${base}/`);
  check(page.status === 200, `GET / answered ${page.status}: the sio_chat page is not served`);
  check((await page.text()).includes('chat.js'), 'GET / is not the sio_chat page');
  const js = await fetch(`${base}/chat.js`);
  check(js.status === 200, `GET /chat.js answered ${js.status}: the page's bundle is not built`);
  check(!(await js.text()).includes('was not built'),
    '/chat.js is the stub bundle: run npm ci in examples/sio_chat, then rebuild (target sio_chat_page)');
}

const browser = await launchChromium(chromium);
const clients = [];

async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

const messageText = (page) => page.$$eval('#messages li.msg', (lis) => lis.map((li) =>
  `${li.querySelector('.who').textContent}: ${li.querySelector('.text').textContent}`));

// Waits up to 10 s for fn(arg) to be true in the page; else fails with what() (or what).
async function waitFor(page, fn, arg, what) {
  const ok = await page.waitForFunction(fn, arg, { timeout: 10000 }).then(() => true, () => false);
  if (!ok) check(false, typeof what === 'function' ? await what() : what);
}

async function waitText(page, selector, text, what) {
  await waitFor(page, ([s, t]) => [...document.querySelectorAll(s)].some((el) => el.textContent.includes(t)),
    [selector, text], `${what}: no ${selector} containing ${JSON.stringify(text)}`);
}

// Opens the page as `name` in `room`; resolves when joined, on `transport` (after the upgrade
// when it is websocket).
async function open(page, name, room, { polling, sockets }) {
  watchConsole(page, name);
  page.on('websocket', (ws) => sockets.push(`${name} ${ws.url()}`));
  const q = new URLSearchParams({ name, room });
  // "Polling" here means WebSocket is blocked, not that the page asks for polling: the page
  // keeps its default transports (polling, then an upgrade) and must stay on long-polling by
  // itself when the browser has no WebSocket (as behind a proxy that refuses it).
  if (polling) await page.addInitScript(() => { delete window.WebSocket; window.WebSocket = undefined; });
  await page.goto(`${base}/?${q}`);
  await waitFor(page, (r) => document.querySelector('#status.ok') && document.body.dataset.room === r, room,
    async () => `${name}: not connected and in #${room} within 10 s ` +
      `(status: ${await page.textContent('#status')}, error: ${await page.textContent('#error')})`);
  const want = polling ? 'polling' : 'websocket';
  await waitFor(page, (t) => document.body.dataset.transport === t, want,
    async () => `${name}: transport ${await page.evaluate(() => document.body.dataset.transport)}, ` +
      `expected ${want}`);
}

async function presenceIs(page, who, names) {
  await waitFor(page, (n) => document.getElementById('presence-count').textContent === String(n),
    names.length, async () => `${who}: presence count never reached ${names.length} ` +
    `(${await page.textContent('#presence-count')})`);
  const listed = await page.$$eval('#presence li', (lis) => lis.map((li) => li.textContent.replace(' (you)', '')));
  check(JSON.stringify(listed) === JSON.stringify([...names].sort()),
    `${who}: presence list ${JSON.stringify(listed)}, expected ${JSON.stringify(names)}`);
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// A socket.io-client in Node; resolves once connected, or rejects with the connect_error.
function nodeClient(auth, transports = ['websocket']) {
  const s = io(base, { auth, transports, reconnection: false, forceNew: true });
  clients.push(s);
  return withTimeout(new Promise((resolveConnect, reject) => {
    s.once('connect', () => resolveConnect(s));
    s.once('connect_error', reject);
  }), 10000, 'node client connect');
}

const ack = (s, ...args) => withTimeout(s.emitWithAck(...args), 10000, `ack of ${args[0]}`);

async function chatRound(mode) {
  const polling = mode === 'polling';
  const room = `test-${mode}`;
  const sockets = [];
  const alice = await newTab(browser);
  const bob = await newTab(browser);
  await open(alice, 'alice', room, { polling, sockets });
  await open(bob, 'bob', room, { polling, sockets });
  await presenceIs(alice, 'alice', ['alice', 'bob']);
  await presenceIs(bob, 'bob', ['alice', 'bob']);

  await alice.type('#text', 'hel');
  await waitText(bob, '#typing', 'alice is typing', 'bob');
  await send(alice, `hello from alice ✓ (${mode})`);
  await waitText(bob, '#messages li.msg', `hello from alice ✓ (${mode})`, 'bob');
  await send(bob, `hi from bob (${mode})`);
  await waitText(alice, '#messages li.msg', `hi from bob (${mode})`, 'alice');
  await waitText(bob, '#messages li.msg', `hi from bob (${mode})`, 'bob (own message from the ack)');
  const a = await messageText(alice);
  const b = await messageText(bob);
  const expected = [`alice: hello from alice ✓ (${mode})`, `bob: hi from bob (${mode})`];
  check(JSON.stringify(a) === JSON.stringify(expected), `alice sees ${JSON.stringify(a)}`);
  check(JSON.stringify(b) === JSON.stringify(expected), `bob sees ${JSON.stringify(b)}`);

  if (polling) {
    check(sockets.length === 0, `transport=polling, but WebSockets were opened: ${sockets.join(', ')}`);
    await screenshot(alice, 'sio-chat-polling');
    // Switching rooms in the page leaves the old one: alice sees bob go.
    await bob.click('#rooms a:text-is("# random")');
    await waitFor(bob, () => document.body.dataset.room === 'random', null, 'bob: did not join #random');
    await presenceIs(alice, 'alice', ['alice']);
    await presenceIs(bob, 'bob', ['bob']);
  } else {
    check(sockets.length >= 2 && sockets.every((s) => s.includes('/socket.io/?EIO=4&transport=websocket')),
      `expected one Socket.IO WebSocket per tab, saw ${JSON.stringify(sockets)}`);
    // A Node client in the same room: both tabs show its message.
    const dave = await nodeClient({ name: 'dave' });
    const joined = await ack(dave, 'join', room);
    check(joined && joined.ok === true, `dave's join acked ${JSON.stringify(joined)}`);
    const sent = await ack(dave, 'message', { room, text: 'dave via node' });
    check(sent.ok === true && sent.message.name === 'dave' && sent.message.text === 'dave via node',
      `dave's message acked ${JSON.stringify(sent)}`);
    await waitText(alice, '#messages li.msg', 'dave via node', 'alice (from node)');
    await waitText(bob, '#messages li.msg', 'dave via node', 'bob (from node)');
    await presenceIs(alice, 'alice', ['alice', 'bob', 'dave']);
    dave.close();
    await presenceIs(alice, 'alice', ['alice', 'bob']);
    expected.push('dave: dave via node');

    // A late joiner gets the room's history, in order; its tab closing updates presence.
    const carol = await newTab(browser);
    await open(carol, 'carol', room, { polling, sockets });
    await waitFor(carol, (n) => document.querySelectorAll('#messages li.msg').length >= n, expected.length,
      `carol: history did not show the ${expected.length} messages`);
    const c = await messageText(carol);
    check(JSON.stringify(c) === JSON.stringify(expected), `carol's history ${JSON.stringify(c)}`);
    await presenceIs(bob, 'bob', ['alice', 'bob', 'carol']);
    await screenshot(alice, 'sio-chat-websocket');
    await carol.close();
    await presenceIs(bob, 'bob', ['alice', 'bob']);
  }
  await alice.close();
  await presenceIs(bob, 'bob', ['bob']);
  await bob.close();
  console.log(`sio_chat ${mode}: presence, typing, messages both ways` +
    (polling ? ', no WebSocket opened' : ', node client, history, leave on close'));
}

async function validation() {
  // The page with an empty name: the middleware's connect_error on screen.
  const eve = await newTab(browser);
  watchConsole(eve, 'eve');
  await eve.goto(`${base}/?name=&room=lobby`);
  await waitText(eve, '#error', 'refused: invalid name', 'empty name');
  // A name given in the page makes a new handshake that the middleware accepts.
  await eve.fill('#name', 'eve');
  await eve.click('#name-form button');
  await waitFor(eve, () => document.querySelector('#status.ok') && document.body.dataset.room === 'lobby', null,
    async () => `eve: not connected after renaming (status: ${await eve.textContent('#status')})`);
  check(await eve.isHidden('#error'), 'eve: the refusal is still shown after connecting');
  await presenceIs(eve, 'eve', ['eve']);
  await eve.close();

  for (const auth of [{ name: '   ' }, {}, { name: 42 }, { name: 'x'.repeat(25) }]) {
    const err = await nodeClient(auth, ['polling']).then(() => null, (e) => e);
    check(err && err.message === 'invalid name' && typeof err.data?.reason === 'string',
      `auth ${JSON.stringify(auth)}: expected connect_error "invalid name" with a reason, got ` +
      `${err ? `${err.message} ${JSON.stringify(err.data)}` : 'a connection'}`);
  }

  const v = await nodeClient({ name: '  víctor  ' });
  const history = new Promise((r) => v.once('history', r));
  check((await ack(v, 'join', 'test-websocket')).ok === true, 'víctor could not join test-websocket');
  const h = await withTimeout(history, 10000, 'history on join');
  const texts = h.messages.map((m) => m.text);
  check(h.room === 'test-websocket' && texts.length === 3 && texts[0].startsWith('hello from alice'),
    `history on join: ${JSON.stringify(h)}`);
  check(h.messages.every((m, i) => i === 0 || m.id > h.messages[i - 1].id), 'history not in id order');
  const ok = await ack(v, 'message', { room: 'test-websocket', text: 'x'.repeat(1000) });
  check(ok.ok === true && ok.message.name === 'víctor', `a 1000-character message: ${JSON.stringify(ok)}`);
  const refusals = [
    [{ room: 'test-websocket', text: 'x'.repeat(1001) }, 'longer than 1000'],
    [{ room: 'test-websocket', text: '  \n ' }, 'empty'],
    [{ room: 'test-websocket', text: 7 }, 'string'],
    [{ room: 'lobby', text: 'not joined' }, 'not in this room'],
    ['just text', 'string'],
  ];
  for (const [body, error] of refusals) {
    const r = await ack(v, 'message', body);
    check(r.ok === false && r.error.includes(error), `message ${JSON.stringify(body).slice(0, 60)}: ${JSON.stringify(r)}`);
  }
  for (const room of ['', 'a b', 'x'.repeat(33), 'ünï']) {
    const r = await ack(v, 'join', room);
    check(r.ok === false && r.error === 'invalid room name', `join ${JSON.stringify(room)}: ${JSON.stringify(r)}`);
  }
  check((await ack(v, 'leave', 'test-websocket')).ok === true, 'leave');
  const again = await ack(v, 'leave', 'test-websocket');
  check(again.ok === false, `second leave: ${JSON.stringify(again)}`);
  v.close();
  console.log('sio_chat validation: names, message length, rooms, membership');
}

try {
  await chatRound('websocket');
  await chatRound('polling');
  await validation();
} finally {
  for (const s of clients) s.close();
  await browser.close();
}
const code = await server.stop('SIGTERM');
check(code === 0, `sio_chat exited with ${code} after SIGTERM`);
done();
