// Measures the collaborative editor demo's keystroke-to-screen latency between two tabs: tab A
// types 200 characters (one every 20 ms, like a fast typist), tab B records, for each, the time
// from A's keystroke to B's textarea showing it (web/src/editor.js), and this prints p50/p99.
// A measurement, not a test: nothing is asserted (not registered with ctest).
//
//   node tests/interop/editor_latency.mjs build/release/apps/duplex/duplex [keystrokes]
import { importPeer, launchChromium, requireExecutable } from './support.mjs';
import { newTab, requireBundle, startDuplex } from './demo_support.mjs';

const { chromium } = await importPeer('playwright-core');
const duplex = requireExecutable(process.argv[2], 'duplex');
const keys = Number(process.argv[3] || 200);
const server = await startDuplex(duplex, ['--log-level', 'warn']);
await requireBundle(server.base, 'editor');
const browser = await launchChromium(chromium);
try {
  const a = browser.page;
  const b = await newTab(browser);
  for (const p of [a, b]) {
    await p.goto(`${server.base}/editor.html?doc=latency${process.pid}`);
    await p.waitForFunction(() => window.duplexEditor && window.duplexEditor.ready, null, { timeout: 15000 });
  }
  await a.focus('#doc');
  await a.keyboard.type('x'.repeat(keys), { delay: 20 });
  await b.waitForFunction((n) => window.duplexEditor.samples.length >= n, keys, { timeout: 30000 })
    .catch(() => {});
  const samples = await b.evaluate(() => window.duplexEditor.samples.slice());
  samples.sort((x, y) => x - y);
  const q = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  console.log(`editor keystroke-to-screen latency over ${samples.length}/${keys} keystrokes ` +
    `(A types, B shows): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${samples[samples.length - 1]} ms`);
} finally {
  await browser.close();
  await server.stop('SIGTERM');
}
