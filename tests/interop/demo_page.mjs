// The demo pages of `duplex serve` in headless Chromium (Debian's, driven by playwright-core):
// the index links every demo; the echo page, served by duplex itself (static files), opens its
// WebSocket to /echo, and a message typed into the form comes back. Also checks /health and a
// 404.
//
//   node demo_page.mjs DUPLEX
import { bound, check, importPeer, launchChromium, requireExecutable, startListening } from './support.mjs';
import { screenshot } from './demo_support.mjs';

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
  // The index lists every demo; the echo demo is its own page.
  await page.goto(`${base}/`);
  check((await page.title()).startsWith('duplex'), `index title ${JSON.stringify(await page.title())}`);
  const links = await page.$$eval('ul.demos a', (as) => as.map((a) => a.getAttribute('href')));
  for (const want of ['/chat.html', '/editor.html', '/ticker.html', '/echo.html']) {
    check(links.includes(want), `index links ${JSON.stringify(links)} lack ${want}`);
  }
  await screenshot(page, 'demo-index');
  await page.goto(`${base}/echo.html`);
  await page.waitForSelector('.status.ok', { timeout: 10000 });
  const status = await page.textContent('#status');
  check(status.includes('permessage-deflate'), `status line ${JSON.stringify(status)}`);
  for (const text of ['hello duplex', 'ünïcödé ✓']) {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
    await page.waitForFunction((t) => [...document.querySelectorAll('li.in')]
      .some((li) => li.textContent === `← ${t}`), text, { timeout: 10000 });
  }
  await screenshot(page, 'demo-echo');
  console.log('demo page: index links every demo; two messages typed and echoed');
} finally {
  await browser.close();
}
const code = await server.stop('SIGTERM');
check(code === 0, `duplex exited with ${code} after SIGTERM`);
done();
