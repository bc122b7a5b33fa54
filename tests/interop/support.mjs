// Common parts of the Node interop tests: peers that may be missing, processes that print
// `listening on N`, assertions and a hard time bound. Peers come from tests/interop/node_modules
// (pinned in package-lock.json, installed by `scripts/deps.sh test`); they are imported
// dynamically so that a missing one is reported as a skip instead of a module-load crash.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, connect as tcpConnect } from 'node:net';
import { createInterface } from 'node:readline';
import { readFileSync, existsSync, accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SKIP = 77;  // ctest SKIP_RETURN_CODE

const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

export function check(cond, message) {
  if (!cond) fail(message);
}

// A real peer is not installed: skip, except in CI where every peer must be there.
export function peerMissing(what) {
  if ((process.env.CI || '').toLowerCase() === 'true') {
    console.error(`FAIL: CI=true and the interop peer is missing: ${what} (run scripts/deps.sh test)`);
    process.exit(1);
  }
  console.log(`SKIP: interop peer missing: ${what} (run scripts/deps.sh test)`);
  process.exit(SKIP);
}

export async function importPeer(name) {
  try {
    return await import(name);
  } catch (e) {
    peerMissing(`npm package ${name} (${e.code || e.message})`);
  }
}

export function requireExecutable(path, what) {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    fail(`${what} not found or not executable: ${JSON.stringify(path)}`);
  }
  return path;
}

// The whole test must end within `ms`: a hang is a failure, not a stuck ctest.
export function bound(ms) {
  const start = Date.now();
  setTimeout(() => fail(`test did not finish within ${ms / 1000}s`), ms).unref();
  return () => console.log(`ok (${((Date.now() - start) / 1000).toFixed(1)}s)`);
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Starts a server that prints `listening on <port>` and resolves with {port, stop}. stderr is
// inherited so sanitizer reports show up in the test's output. stop(signal) resolves with the
// exit code (or the signal name) and kills the process if it does not exit within 15 s.
export async function startListening(argv, timeoutMs = 20000) {
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig)));
  const lines = createInterface({ input: proc.stdout });
  const port = await withTimeout(new Promise((resolve, reject) => {
    lines.once('line', (line) => {
      const m = /^listening on (\d+)$/.exec(line.trim());
      if (m) resolve(Number(m[1]));
      else reject(new Error(`expected 'listening on N', got ${JSON.stringify(line)}`));
    });
    exited.then((code) => reject(new Error(`exited (${code}) before listening`)));
  }), timeoutMs, `${argv[0]} listening`).catch((e) => fail(`${argv[0]}: ${e.message}`));
  lines.on('line', (line) => console.log(`[server] ${line}`));
  const stop = async (signal = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    const code = await withTimeout(exited, 15000, `${argv[0]} exit after ${signal}`)
      .catch((e) => { proc.kill('SIGKILL'); fail(e.message); });
    children.delete(proc);
    return code;
  };
  return { port, stop, proc };
}

// Runs a program to completion and resolves with {code, stdout}; kills it after timeoutMs.
export function run(argv, timeoutMs = 60000) {
  return new Promise((resolve) => {
    const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(proc);
    let stdout = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => { stdout += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      fail(`${argv.join(' ')} did not finish within ${timeoutMs} ms`);
    }, timeoutMs);
    proc.on('close', (code, sig) => {
      clearTimeout(timer);
      children.delete(proc);
      resolve({ code: code ?? sig, stdout });
    });
  });
}

// The JSON object on echo_client's last stdout line.
export function lastJsonLine(stdout, what) {
  const lines = stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    fail(`${what}: last line is not JSON: ${JSON.stringify(lines[lines.length - 1])}`);
  }
}

// Stops echo_server with SIGTERM, expects exit 0, returns its --stats-file JSON.
export async function stopAndReadStats(server, statsFile) {
  const code = await server.stop('SIGTERM');
  check(code === 0, `echo_server exited with ${code} after SIGTERM (expected 0)`);
  check(existsSync(statsFile), `echo_server wrote no --stats-file ${statsFile}`);
  const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  for (const k of ['connections', 'messages_in', 'messages_out', 'compressed_frames_in',
    'compressed_frames_out']) {
    check(Number.isInteger(stats[k]), `stats file lacks integer ${k}: ${JSON.stringify(stats)}`);
  }
  return stats;
}

// Deterministic message bodies: valid UTF-8 text with multi-byte characters, and bytes.
export function textMessage(size, seed) {
  const pieces = ['héllo ', 'wörld ', '✓ ', '𝄞 ', `#${seed} `, 'plain ascii '];
  let out = '';
  let n = 0;
  for (let i = seed; n < size; ++i) {
    let p = pieces[i % pieces.length];
    let b = Buffer.byteLength(p);
    if (n + b > size) { p = 'x'.repeat(size - n); b = size - n; }
    out += p;
    n += b;
  }
  return out;
}

export function binaryMessage(size, seed) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; ++i) b[i] = (seed * 31 + (i % 251) * 7) & 0xff;
  return b;
}

// Headless Chromium (Debian's; DUPLEX_CHROMIUM overrides the path) in a fresh profile, with the
// flags this machine needs (no background networking: its connections are refused here).
// Resolves with {page, close}; close() ends the browser and removes the profile.
export async function launchChromium(chromium) {
  const browserPath = process.env.DUPLEX_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(browserPath)) peerMissing(`Chromium at ${browserPath}`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'duplex-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browserPath,
    headless: true,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  }).catch((e) => {
    rmSync(userDataDir, { recursive: true, force: true });
    fail(`cannot start Chromium (${browserPath}): ${e.message}`);
  });
  // The first tab's initial about:blank. Not page.goto('about:blank'): Chromium's Local Network
  // Access checks then treat the page as public and block ws://127.0.0.1
  // (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
  const page = context.pages()[0] ?? await context.newPage();
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { page, close };
}

// An HS256 JWT (RFC 7519) with `claims`, signed with `secret`: connection and subscription
// tokens as the backend of a duplex deployment would make them.
export function hs256Token(claims, secret) {
  const b64url = (s) => Buffer.from(s).toString('base64url');
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// A TCP proxy on 127.0.0.1 in front of `targetPort` whose connections can be cut (cut():
// destroy them and refuse new ones until restore()), to break a client's transport without
// its knowledge, and whose target can be switched (switchTo(port): new connections go there,
// open ones stay where they are).
export async function cuttableProxy(targetPort) {
  const sockets = new Set();
  let accepting = true;
  let target = targetPort;
  const srv = createServer((down) => {
    if (!accepting) { down.destroy(); return; }
    const up = tcpConnect(target, '127.0.0.1');
    sockets.add(down); sockets.add(up);
    down.pipe(up); up.pipe(down);
    const drop = () => { down.destroy(); up.destroy(); sockets.delete(down); sockets.delete(up); };
    down.on('error', drop); up.on('error', drop); down.on('close', drop); up.on('close', drop);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: srv.address().port,
    cut() { accepting = false; for (const s of sockets) s.destroy(); sockets.clear(); },
    restore() { accepting = true; },
    switchTo(port) { target = port; },
    close() { srv.close(); for (const s of sockets) s.destroy(); },
  };
}
