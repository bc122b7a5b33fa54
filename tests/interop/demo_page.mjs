// The demo page of `duplex serve` in headless Chromium (Debian's, driven by playwright-core):
// the page is served by duplex itself (static files), opens its WebSocket to /echo, and a
// message typed into the form comes back. Also checks /health and a 404.
//
//   node demo_page.mjs DUPLEX
import { bound, check, importPeer, launchChromium, requireExecutable, startListening } from './support.mjs';

const { chromium } = await importPeer('playwright-core');
const done = bound(100000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const server = await startListening([duplex, 'serve', '--port', '0', '--host', '127.0.0.1', '--threads', '1']);
const base = `http://127.0.0.1:${server.port}`;
const health = await fetch(`${base}/health`);
check(health.status === 200 && (await health.text()).trim() === 'ok', `/health answered ${health.status}`);
const missing = await fetch(`${base}/no-such-page`);
check(missing.status === 404, `/no-such-page answered ${missing.status}, expected 404`);

const browser = await launchChromium(chromium);
try {
  const page = browser.page;
  await page.goto(`${base}/`);
  await page.waitForSelector('.status.ok', { timeout: 10000 });
  const status = await page.textContent('#status');
  check(status.includes('permessage-deflate'), `status line ${JSON.stringify(status)}`);
  for (const text of ['hello duplex', 'ünïcödé ✓']) {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
    await page.waitForFunction((t) => [...document.querySelectorAll('li.in')]
      .some((li) => li.textContent === `← ${t}`), text, { timeout: 10000 });
  }
  console.log('demo page: two messages typed and echoed');
} finally {
  await browser.close();
}
const code = await server.stop('SIGTERM');
check(code === 0, `duplex exited with ${code} after SIGTERM`);
done();
