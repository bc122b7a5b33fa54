// The chat demo page (web/chat.html, centrifuge SDK) in headless Chromium against `duplex
// serve`: two tabs in one room see each other in the presence list and the typing indicator,
// exchange messages both ways, and a third tab gets both from history on join.
//
//   node demo_chat.mjs DUPLEX              over WebSocket (the SDK's default)
//   node demo_chat.mjs DUPLEX --fallback   ?transport=fallback: HTTP-streaming/SSE emulation;
//                                          no tab may open a WebSocket, and /metrics must count
//                                          the connections under their fallback transport
import { bound, check, importPeer, launchChromium, requireExecutable } from './support.mjs';
import { metric, newTab, requireBundle, screenshot, startDuplex, watchConsole } from './demo_support.mjs';

const { chromium } = await importPeer('playwright-core');
const done = bound(110000);
const duplex = requireExecutable(process.argv[2], 'duplex');
const fallback = process.argv.includes('--fallback');
const mode = fallback ? 'fallback' : 'websocket';

const server = await startDuplex(duplex);
await requireBundle(server.base, 'chat');
const browser = await launchChromium(chromium);
const sockets = [];
const messageText = (page) => page.$$eval('#messages li.msg', (lis) => lis.map((li) =>
  `${li.querySelector('.who').textContent}: ${li.querySelector('.text').textContent}`));

async function open(page, name) {
  watchConsole(page, name);
  page.on('websocket', (ws) => sockets.push(`${name} ${ws.url()}`));
  const q = new URLSearchParams({ room: 'demo-test', name });
  if (fallback) q.set('transport', 'fallback');
  await page.goto(`${server.base}/chat.html?${q}`);
  await page.waitForSelector('#status.ok', { timeout: 15000 });
  const transport = await page.evaluate(() => document.body.dataset.transport);
  if (fallback) {
    check(['http_stream', 'sse'].includes(transport), `${name}: fallback forced but connected over ${transport}`);
  } else {
    check(transport === 'websocket', `${name}: connected over ${transport}, expected websocket`);
  }
  return transport;
}

async function waitText(page, selector, text, what) {
  await page.waitForFunction(([s, t]) => [...document.querySelectorAll(s)]
    .some((el) => el.textContent.includes(t)), [selector, text], { timeout: 10000 })
    .catch(() => check(false, `${what}: no ${selector} containing ${JSON.stringify(text)}`));
}

try {
  const alice = browser.page;
  const bob = await newTab(browser);
  const transport = await open(alice, 'alice');
  await open(bob, 'bob');

  // Presence: both tabs list both names (names come from the side channel's hello/here).
  for (const [page, who] of [[alice, 'alice'], [bob, 'bob']]) {
    await page.waitForFunction(() => document.getElementById('presence-count').textContent === '2',
      null, { timeout: 10000 }).catch(() => check(false, `${who}: presence count never reached 2`));
    await waitText(page, '#presence li', 'alice', `${who}'s presence list`);
    await waitText(page, '#presence li', 'bob', `${who}'s presence list`);
  }

  // Typing indicator, then messages both ways.
  await alice.type('#text', 'hel');
  await waitText(bob, '#typing', 'alice is typing', 'bob');
  await alice.fill('#text', 'hello from alice ✓');
  await alice.press('#text', 'Enter');
  await waitText(bob, '#messages li.msg', 'hello from alice ✓', 'bob');
  await bob.fill('#text', 'hi from bob');
  await bob.press('#text', 'Enter');
  await waitText(alice, '#messages li.msg', 'hi from bob', 'alice');
  await waitText(bob, '#messages li.msg', 'hi from bob', 'bob (own message back)');
  const a = await messageText(alice);
  const b = await messageText(bob);
  check(JSON.stringify(a) === JSON.stringify(['alice: hello from alice ✓', 'bob: hi from bob']),
    `alice sees ${JSON.stringify(a)}`);
  check(JSON.stringify(a) === JSON.stringify(b), `bob sees ${JSON.stringify(b)}, alice ${JSON.stringify(a)}`);

  // A late joiner gets both messages from history, in order.
  const carol = await newTab(browser);
  await open(carol, 'carol');
  await carol.waitForFunction(() => document.querySelectorAll('#messages li.msg').length >= 2,
    null, { timeout: 10000 }).catch(() => check(false, 'carol: history did not show the 2 messages'));
  const c = await messageText(carol);
  check(JSON.stringify(c) === JSON.stringify(a), `carol's history ${JSON.stringify(c)}`);
  await waitText(alice, '#presence-count', '3', 'alice (carol joined)');

  if (fallback) {
    check(sockets.length === 0, `fallback forced, but WebSockets were opened: ${sockets.join(', ')}`);
    const n = await metric(server.base, 'duplex_connections_by_transport', { transport });
    check(n !== undefined, `/metrics has no duplex_connections_by_transport{transport="${transport}"}`);
    check(n >= 3, `duplex_connections_by_transport{transport="${transport}"} = ${n}, expected >= 3`);
  } else {
    check(sockets.some((s) => s.includes('/connection/websocket')), `no WebSocket seen: ${sockets}`);
  }
  await screenshot(alice, `demo-chat-${mode}`);
  console.log(`chat demo (${mode}, ${transport}): presence, typing, messages both ways, history`);
} finally {
  await browser.close();
}
const code = await server.stop('SIGTERM');
check(code === 0, `duplex exited with ${code} after SIGTERM`);
done();
