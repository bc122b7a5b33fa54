// Collaborative editor demo: one Y.Doc (Yjs CRDT) per document, bound to a <textarea>, kept in
// sync through the channel `editor.<doc>` (default namespace: history 100) with the Centrifugo
// protocol (`centrifuge` SDK over WebSocket). Messages (publication data, JSON):
//   {t:"u",    from, u: base64 update, ts}   a local edit; ts = the keystroke's wall-clock time
//   {t:"sync", from, sv: base64 state vector} a joiner asks the others for what it lacks
//   {t:"state",from, to, u: base64 update}    an answer to "sync": the diff against that vector
//   {t:"snap", from, u: base64 full state}    written every SNAP_EVERY updates, so that the
//                                              channel's history always holds a full state
// Late joiners catch up from history (the last snapshot and every update after it; Yjs applies
// updates in any order and twice without harm) and from the peers' "state" answers.
// Latency: each "u" carries the sender's keystroke time; the receiver measures after it has
// put the new text into its textarea (same machine, same clock, so tabs compare directly).
//
// URL parameters: doc (default "doc1").
import { Centrifuge } from 'centrifuge';
import * as Y from 'yjs';

const SNAP_EVERY = 30;  // history keeps 100: at least three snapshots in it
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const docName = /^[A-Za-z0-9_-]{1,32}$/.test(params.get('doc') || '') ? params.get('doc') : 'doc1';
$('docname').textContent = docName;

const doc = new Y.Doc();
const ytext = doc.getText('text');
const me = String(doc.clientID);
const area = $('doc');
let shownText = '';           // what the textarea shows, as far as the binding knows
let keyTime = 0;              // wall-clock time of the keystroke being turned into an update
let sinceSnap = 0;
const samples = [];           // keystroke -> screen latencies, ms
const peers = new Set();
// For the tests and tools/editor_latency.mjs.
window.duplexEditor = { samples, text: () => ytext.toString(), ready: false, applied: 0 };

function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; ++i) out[i] = s.charCodeAt(i);
  return out;
}

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
const centrifuge = new Centrifuge(`${scheme}//${location.host}/connection/websocket`);
const sub = centrifuge.newSubscription(`editor.${docName}`);

function setStatus(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls || ''}`;
}
centrifuge.on('connecting', (ctx) => setStatus(`connecting… (${ctx.reason})`, 'bad'));
centrifuge.on('disconnected', (ctx) => setStatus(`disconnected (${ctx.reason})`, 'bad'));

function send(data) {
  sub.publish({ ...data, from: me }).catch((e) => setStatus(`publish failed: ${e.message || e.code}`, 'bad'));
}

// Local edits: the textarea's new value against what it showed, as one replace at the first
// difference (an input event is one insertion, deletion or replacement of a single range).
area.addEventListener('beforeinput', () => { keyTime = Date.now(); });
area.addEventListener('input', () => {
  const next = area.value;
  const prev = shownText;
  let start = 0;
  while (start < prev.length && start < next.length && prev[start] === next[start]) ++start;
  let endPrev = prev.length;
  let endNext = next.length;
  while (endPrev > start && endNext > start && prev[endPrev - 1] === next[endNext - 1]) {
    --endPrev;
    --endNext;
  }
  shownText = next;
  doc.transact(() => {
    if (endPrev > start) ytext.delete(start, endPrev - start);
    if (endNext > start) ytext.insert(start, next.slice(start, endNext));
  }, 'local');
});

doc.on('update', (update, origin) => {
  if (origin !== 'local') return;
  send({ t: 'u', u: toBase64(update), ts: keyTime || Date.now() });
  keyTime = 0;
});

// Remote edits: rewrite the textarea and move the selection with the edit's delta, so the
// local caret stays where the user was typing.
ytext.observe((event) => {
  if (event.transaction.origin === 'local') return;
  let { selectionStart: s, selectionEnd: e } = area;
  let pos = 0;
  for (const op of event.delta) {
    if (op.retain) pos += op.retain;
    else if (op.insert) {
      const n = op.insert.length;
      if (pos <= s) s += n;
      if (pos <= e) e += n;
      pos += n;
    } else if (op.delete) {
      const n = op.delete;
      if (pos < s) s -= Math.min(n, s - pos);
      if (pos < e) e -= Math.min(n, e - pos);
    }
  }
  shownText = ytext.toString();
  const focused = document.activeElement === area;
  area.value = shownText;
  if (focused) area.setSelectionRange(s, e);
});

function record(ms) {
  samples.push(ms);
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  $('lat-last').textContent = String(ms);
  $('lat-p50').textContent = String(q(0.5));
  $('lat-p99').textContent = String(q(0.99));
  $('lat-n').textContent = String(samples.length);
}

function apply(u) {
  Y.applyUpdate(doc, fromBase64(u), 'remote');
  window.duplexEditor.applied += 1;
}

function handle(data, live) {
  if (!data || typeof data !== 'object' || typeof data.from !== 'string') return;
  const remote = data.from !== me;
  if (remote && live) {
    peers.add(data.from);
    $('peers').textContent = `${peers.size} other editor${peers.size === 1 ? '' : 's'} seen`;
  }
  try {
    if (data.t === 'u' && typeof data.u === 'string') {
      if (remote) {
        apply(data.u);
        if (live && typeof data.ts === 'number') record(Date.now() - data.ts);
      }
      if (++sinceSnap >= SNAP_EVERY && !remote && live) {
        sinceSnap = 0;
        send({ t: 'snap', u: toBase64(Y.encodeStateAsUpdate(doc)) });
      }
    } else if ((data.t === 'snap' || data.t === 'state') && typeof data.u === 'string') {
      if (data.t === 'snap') sinceSnap = 0;
      if (remote) apply(data.u);
    } else if (data.t === 'sync' && remote && live && typeof data.sv === 'string') {
      const diff = Y.encodeStateAsUpdate(doc, fromBase64(data.sv));
      if (diff.length > 2) send({ t: 'state', to: data.from, u: toBase64(diff) });
    }
  } catch (e) {
    console.warn('editor: bad message ignored', e);
  }
}

sub.on('publication', (ctx) => handle(ctx.data, true));
sub.on('subscribed', async (ctx) => {
  setStatus('subscribed; catching up…', '');
  try {
    const h = await sub.history({ limit: 100 });
    // All of it: a snapshot may lack an update published just before it by another tab, and
    // Yjs ignores what it already has.
    for (const p of h.publications) handle(p.data, false);
  } catch (e) {
    setStatus(`history failed: ${e.message || e.code}`, 'bad');
  }
  send({ t: 'sync', sv: toBase64(Y.encodeStateVector(doc)) });
  window.duplexEditor.ready = true;
  setStatus(`in sync (${ctx.wasRecovering ? 'recovered' : 'joined'})`, 'ok');
});

sub.subscribe();
centrifuge.connect();
