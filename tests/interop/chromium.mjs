// Headless Chromium (Debian's, driven by playwright-core) -> our echo_server. In about:blank the
// page's own WebSocket round-trips 1,000 messages alternating text and binary (ArrayBuffer),
// then 1 MiB of each, checking every echo. Chromium offers permessage-deflate, so the
// negotiated extension is asserted too.
//
//   node chromium.mjs ECHO_SERVER
import {
  bound, check, importPeer, launchChromium, requireExecutable, startListening,
} from './support.mjs';

const { chromium } = await importPeer('playwright-core');
const done = bound(120000);
const echoServer = requireExecutable(process.argv[2], 'echo_server');

// Runs inside the page. Returns a summary; never throws, so failures come back as data.
async function pageTest({ url, count, big }) {
  const fill = (n, seed) => {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; ++i) bytes[i] = (seed * 31 + (i % 251) * 7) & 0xff;
    return bytes.buffer;
  };
  const text = (n, seed) => {
    let s = `#${seed} héllo ✓ 𝄞 `;
    while (s.length < n) s += s;
    return s.slice(0, n);
  };
  const same = (a, b) => {
    if (typeof a === 'string') return a === b;
    if (!(b instanceof ArrayBuffer) || a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a), y = new Uint8Array(b);
    for (let i = 0; i < x.length; ++i) if (x[i] !== y[i]) return false;
    return true;
  };
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const inbox = [];
  let wake = null;
  let closed = null;
  ws.onmessage = (e) => { inbox.push(e.data); if (wake) { wake(); wake = null; } };
  ws.onclose = (e) => { closed = e.code; if (wake) { wake(); wake = null; } };
  const next = async () => {
    while (!inbox.length) {
      if (closed !== null) throw new Error(`closed with ${closed}`);
      await new Promise((r) => { wake = r; });
    }
    return inbox.shift();
  };
  try {
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error('WebSocket error before open'));
    });
    const messages = [];
    for (let i = 0; i < count; ++i) {
      const size = [1, 16, 125, 126, 1000, 70000][i % 6];
      messages.push(i % 2 ? fill(size, i) : text(size, i));
    }
    messages.push(text(big, 1), fill(big, 2));
    let matched = 0;
    const mismatches = [];
    for (const [i, m] of messages.entries()) {
      ws.send(m);
      const echo = await next();
      if (same(m, echo)) ++matched; else if (mismatches.length < 5) mismatches.push(i);
    }
    const extensions = ws.extensions;
    ws.close(1000, 'done');
    while (closed === null) await new Promise((r) => { wake = r; });
    return { total: messages.length, matched, mismatches, extensions, closeCode: closed };
  } catch (e) {
    return { error: String(e) };
  }
}

const server = await startListening([echoServer, '--port', '0', '--host', '127.0.0.1']);
const browser = await launchChromium(chromium);
try {
  const page = browser.page;
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  const result = await page.evaluate(pageTest,
    { url: `ws://127.0.0.1:${server.port}/echo`, count: 1000, big: 1 << 20 });
  check(!result.error, `in the page: ${result.error} ${consoleLines.join(' | ')}`);
  check(result.total === 1002 && result.matched === result.total,
    `${result.matched} of ${result.total} echoes matched (first mismatches: ${result.mismatches})`);
  check(result.extensions.includes('permessage-deflate'),
    `Chromium offers permessage-deflate, yet negotiated ${JSON.stringify(result.extensions)}`);
  check(result.closeCode === 1000, `close code ${result.closeCode}, expected 1000`);
  console.log(`chromium: ${result.matched}/${result.total} echoes matched, extensions: ${result.extensions}`);
} finally {
  await browser.close();
}
const code = await server.stop('SIGTERM');
check(code === 0, `echo_server exited with ${code} after SIGTERM`);
done();
