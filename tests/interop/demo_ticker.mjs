// The live ticker demo (web/ticker.html: EventSource on /events) in headless Chromium against
// `duplex serve --demo`, through a TCP proxy of this test so that the test can cut the stream
// as a server or network would. The page must receive prices, reconnect on its own, send
// Last-Event-ID, and go on with no gap and no duplicate in the ticker's sequence numbers (what
// was published while it was away is replayed from the channel's history).
//
//   node demo_ticker.mjs DUPLEX
import net from 'node:net';
import { bound, check, importPeer, launchChromium, requireExecutable } from './support.mjs';
import { requireBundle, screenshot, startDuplex, watchConsole } from './demo_support.mjs';

const { chromium } = await importPeer('playwright-core');
const done = bound(100000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const server = await startDuplex(duplex, ['--demo']);
await requireBundle(server.base, 'ticker');

// 127.0.0.1:<proxy> -> duplex. dropAll() closes every open pair at once (both ends) and holds
// new connections for `holdMs` before they reach duplex, so that the ticker surely publishes
// while the page is away (what it then gets without a gap came from history).
const pairs = new Set();
const requests = [];  // the first bytes of each client connection (request heads)
let holdUntil = 0;
const proxy = net.createServer((client) => {
  client.pause();
  const pair = { client, upstream: null };
  pairs.add(pair);
  client.once('data', (d) => requests.push(d.toString('latin1')));
  const end = () => { client.destroy(); pair.upstream?.destroy(); pairs.delete(pair); };
  client.on('error', end).on('close', end);
  setTimeout(() => {
    if (client.destroyed) return;
    const upstream = pair.upstream = net.connect(server.port, '127.0.0.1');
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }, Math.max(0, holdUntil - Date.now()));
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyBase = `http://127.0.0.1:${proxy.address().port}`;
const dropAll = (holdMs = 0) => {
  holdUntil = Date.now() + holdMs;
  for (const p of pairs) { p.client.destroy(); p.upstream?.destroy(); }
};

const browser = await launchChromium(chromium);
const stats = (page) => page.evaluate(() => ({ ...window.duplexTicker, seqs: window.duplexTicker.seqs }));
try {
  const page = browser.page;
  watchConsole(page, 'ticker');
  await page.goto(`${proxyBase}/ticker.html`);
  await page.waitForFunction(() => window.duplexTicker.received >= 10, null, { timeout: 15000 })
    .catch(() => check(false, 'the ticker page received fewer than 10 prices in 15 s'));
  const before = await stats(page);
  check(before.opens === 1, `opens before the drop: ${before.opens}`);

  dropAll(1500);  // ~7 ticks at 5 per second published while the page is cut off
  await page.waitForFunction((n) => window.duplexTicker.opens >= 2 && window.duplexTicker.received >= n,
    before.received + 20, { timeout: 20000 })
    .catch(async () => check(false, `no resume after the drop: ${JSON.stringify(await stats(page))}`));
  const after = await stats(page);
  const resumed = requests.filter((r) => r.startsWith('GET /events') && /\r\nlast-event-id: *\S/i.test(r));
  check(resumed.length >= 1, `the reconnecting EventSource sent no Last-Event-ID:\n${requests.join('\n---\n')}`);
  check(after.gaps === 0 && after.dups === 0, `gaps ${after.gaps}, duplicates ${after.dups}`);
  for (let i = 1; i < after.seqs.length; ++i) {
    check(after.seqs[i] === after.seqs[i - 1] + 1, `seq ${after.seqs[i - 1]} then ${after.seqs[i]}`);
  }
  const status = await page.textContent('#status');
  check(status.includes('resumed'), `status after the drop: ${JSON.stringify(status)}`);
  await page.waitForTimeout(300);  // a frame of the chart
  await screenshot(page, 'demo-ticker');
  console.log(`ticker demo: ${after.received} prices, seq ${after.seqs[0]}..${after.seq}, ` +
    `resumed after a drop at seq ${before.seq} with no gap (Last-Event-ID sent)`);
} finally {
  await browser.close();
  dropAll();
  proxy.close();
}
const code = await server.stop('SIGTERM');
check(code === 0, `duplex exited with ${code} after SIGTERM`);
done();
