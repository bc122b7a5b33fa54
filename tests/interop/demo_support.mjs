// Shared parts of the demo page tests (demo_*.mjs): `duplex serve` with the built demo pages,
// extra Chromium tabs, screenshots into build/screenshots/ (not committed), /metrics reads.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { check, fail, startListening } from './support.mjs';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

// Starts `duplex serve` on a free port of 127.0.0.1; resolves with {port, base, stop}.
export async function startDuplex(duplex, extra = []) {
  const server = await startListening([duplex, 'serve', '--port', '0', '--host', '127.0.0.1',
    '--threads', '2', ...extra]);
  return { ...server, base: `http://127.0.0.1:${server.port}` };
}

// The page scripts are esbuild bundles made by the build (web/build.mjs, target web_bundle);
// a build without web/'s npm packages serves stubs instead: say so plainly.
export async function requireBundle(base, page) {
  const r = await fetch(`${base}/js/${page}.js`);
  check(r.status === 200, `${base}/js/${page}.js answered ${r.status}: the demo bundle is not built ` +
    '(cmake target web_bundle, scripts/deps.sh build)');
  const text = await r.text();
  if (text.includes('was not built')) {
    fail(`/js/${page}.js is the stub bundle: web/node_modules is missing (run scripts/deps.sh build)`);
  }
}

// Another tab in the browser of launchChromium (support.mjs). New tabs start at their own
// about:blank like the first one (no page.goto('about:blank'): see launchChromium).
export async function newTab(browser) {
  return browser.page.context().newPage();
}

// Reports browser-side errors in the test output: a broken page script shows up here first.
export function watchConsole(page, label) {
  page.on('pageerror', (e) => console.log(`[${label}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[${label}] ${m.type()}: ${m.text()}`);
  });
}

export async function screenshot(page, name) {
  const dir = `${repoRoot}build/screenshots`;
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

// The value of one Prometheus sample of /metrics, e.g. metric(base, 'duplex_connections_by_transport',
// {transport: 'http_stream'}); undefined when the series is absent.
export async function metric(base, name, labels = {}) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[3] || '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w))) return Number(m[4]);
  }
  return undefined;
}
