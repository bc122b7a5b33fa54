// The collaborative editor demo (web/editor.html, Yjs over a Centrifugo channel) in headless
// Chromium against `duplex serve`: tab A types 200 'a' while tab B types 200 'b', at the same
// time; both must end with the same 400 characters. Then late joiners catch up: one while A and
// B are open (history + their answers), one after every tab closed (history alone).
//
//   node demo_editor.mjs DUPLEX
import { bound, check, importPeer, launchChromium, requireExecutable } from './support.mjs';
import { newTab, requireBundle, screenshot, startDuplex, watchConsole } from './demo_support.mjs';

const { chromium } = await importPeer('playwright-core');
const done = bound(110000);
const duplex = requireExecutable(process.argv[2], 'duplex');

const server = await startDuplex(duplex);
await requireBundle(server.base, 'editor');
const browser = await launchChromium(chromium);
const docName = `test${process.pid}`;
const text = (page) => page.evaluate(() => window.duplexEditor.text());

async function open(page, label) {
  watchConsole(page, label);
  await page.goto(`${server.base}/editor.html?doc=${docName}`);
  await page.waitForFunction(() => window.duplexEditor && window.duplexEditor.ready, null,
    { timeout: 15000 }).catch(() => check(false, `${label}: editor never got in sync`));
  await page.waitForSelector('#status.ok', { timeout: 5000 });
}

async function waitForText(page, want, label) {
  await page.waitForFunction((w) => window.duplexEditor.text() === w
    && document.getElementById('doc').value === w, want, { timeout: 20000 })
    .catch(async () => check(false, `${label}: text is ${JSON.stringify(await text(page))}`));
}

try {
  const a = browser.page;
  const b = await newTab(browser);
  await open(a, 'A');
  await open(b, 'B');

  await Promise.all([
    a.focus('#doc').then(() => a.keyboard.type('a'.repeat(200), { delay: 5 })),
    b.focus('#doc').then(() => b.keyboard.type('b'.repeat(200), { delay: 5 })),
  ]);
  // Converged: both tabs hold the same 400 characters, 200 of each.
  await a.waitForFunction(() => window.duplexEditor.text().length === 400, null, { timeout: 20000 })
    .catch(async () => check(false, `A has ${(await text(a)).length} characters, expected 400`));
  const final = await text(a);
  check((final.match(/a/g) || []).length === 200 && (final.match(/b/g) || []).length === 200,
    `A's text is not 200 a + 200 b: ${JSON.stringify(final)}`);
  await waitForText(b, final, 'B');
  await waitForText(a, final, 'A (textarea)');

  const lat = await b.evaluate(() => window.duplexEditor.samples.length);
  check(lat > 0, 'B measured no keystroke latency from A');
  await screenshot(a, 'demo-editor');

  // Late joiner with peers online.
  const c = await newTab(browser);
  await open(c, 'C');
  await waitForText(c, final, 'C (joined late)');

  // Late joiner with nobody online: the channel's history alone (snapshots + updates).
  await a.close();
  await b.close();
  await c.close();
  const d = await newTab(browser);
  await open(d, 'D');
  await waitForText(d, final, 'D (joined after every tab closed)');
  console.log(`editor demo: 2 x 200 concurrent keystrokes converged to 400 chars; late joiners caught up (${lat} latency samples)`);
} finally {
  await browser.close();
}
const code = await server.stop('SIGTERM');
check(code === 0, `duplex exited with ${code} after SIGTERM`);
done();
