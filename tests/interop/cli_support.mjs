// What the command-line client tests share (cli.mjs, cli_restart.mjs): a `duplex ws|sub|pub`
// process whose stdout and stderr lines are recorded, bounded waits on them, and a check that
// a `duplex sub` printed every publication of a channel once and in order.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { check, fail, withTimeout } from './support.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(cond, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const procs = new Set();
process.on('exit', () => { for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); });

// Starts `duplex <args...>`. stdin is a pipe (write()/end()); stdout and stderr are recorded line
// by line; stderr is also echoed with a tag (sanitizer reports must show in the test output).
// exited resolves with the exit code, or the signal name.
export function cli(duplex, args, tag = args[0]) {
  const proc = spawn(duplex, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  procs.add(proc);
  const out = [];
  const err = [];
  createInterface({ input: proc.stdout }).on('line', (l) => out.push(l));
  createInterface({ input: proc.stderr }).on('line', (l) => { err.push(l); console.log(`[${tag}] ${l}`); });
  proc.stdin.on('error', () => {});  // the process may exit before reading everything
  const exited = new Promise((resolve) => proc.on('close', (code, sig) => { procs.delete(proc); resolve(code ?? sig); }));
  return {
    proc, out, err, exited,
    write: (s) => proc.stdin.write(s),
    end: () => proc.stdin.end(),
    kill: (sig = 'SIGTERM') => proc.kill(sig),
    exit: (ms = 15000) => withTimeout(exited, ms, `duplex ${args.join(' ')} exit`).catch((e) => fail(e.message)),
  };
}

// Runs `duplex <args...>` to completion with stdin closed: {code, out, err}.
export async function cliRun(duplex, args, ms = 30000) {
  const c = cli(duplex, args);
  c.end();
  const code = await c.exit(ms);
  return { code, out: c.out, err: c.err };
}

// The JSON lines a `duplex sub` printed for `channel`, parsed; any line that is not
// {"channel","offset","data"} fails the test.
export function publicationsOf(sub, channel) {
  return sub.out.map((l, i) => {
    let p;
    try { p = JSON.parse(l); } catch { fail(`sub stdout line ${i} is not JSON: ${JSON.stringify(l)}`); }
    check(typeof p.channel === 'string' && Number.isInteger(p.offset) && 'data' in p && Object.keys(p).length === 3,
      `sub stdout line ${i}: ${l}`);
    return p;
  }).filter((p) => p.channel === channel);
}

// Every one of `expected` (data values, in publish order) printed exactly once, in order, with
// offsets increasing by one.
export function checkExactlyOnceInOrder(sub, channel, expected) {
  const got = publicationsOf(sub, channel);
  const data = got.map((p) => JSON.stringify(p.data));
  const want = expected.map((d) => JSON.stringify(d));
  if (data.length !== want.length || data.some((d, i) => d !== want[i])) {
    const firstBad = data.findIndex((d, i) => d !== want[i]);
    fail(`${channel}: sub printed ${data.length} publications, expected ${want.length}; first difference at ` +
      `${firstBad}: got ${data[firstBad]} want ${want[firstBad]}`);
  }
  for (let i = 1; i < got.length; i++) {
    check(got[i].offset === got[i - 1].offset + 1, `${channel}: offsets ${got[i - 1].offset} then ${got[i].offset}`);
  }
  return got;
}
