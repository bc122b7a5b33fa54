// Chat demo: rooms are channels `chat.<room>` (default namespace: history and presence with no
// server config), the typing indicator and name announcements go to a side channel
// `chat.<room>.meta` so they never fill the room's history. Centrifugo client protocol through
// the `centrifuge` SDK, over WebSocket or, with the checkbox / ?transport=fallback, over the
// HTTP-streaming and SSE emulation (the SDK then opens no WebSocket at all).
//
// URL parameters: room, name, transport=fallback.
import { Centrifuge } from 'centrifuge';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const fallback = params.get('transport') === 'fallback';
const roomPattern = /^[A-Za-z0-9_-]{1,32}$/;
const defaultRooms = ['lobby', 'random', 'dev'];
let room = roomPattern.test(params.get('room') || '') ? params.get('room') : 'lobby';
let name = (params.get('name') || localStorage.getItem('duplex.chat.name') ||
  `guest-${Math.floor(Math.random() * 9000 + 1000)}`).slice(0, 24);

let myClient = '';
let sub = null;
let meta = null;
const names = new Map();       // client id -> display name (learned from messages and "hello")
const present = new Map();     // client id -> ClientInfo (presence of the current room)
const typing = new Map();      // client id -> time the indicator expires
const shown = new Set();       // offsets of the room's messages already on screen
let lastTypingSent = 0;

function url(path, scheme) {
  return `${scheme || location.protocol}//${location.host}${path}`;
}

const transports = fallback
  ? [{ transport: 'http_stream', endpoint: url('/connection/http_stream') },
    { transport: 'sse', endpoint: url('/connection/sse') }]
  : url('/connection/websocket', location.protocol === 'https:' ? 'wss:' : 'ws:');
const centrifuge = new Centrifuge(transports, { emulationEndpoint: url('/emulation') });

function setStatus(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls || ''}`;
}

centrifuge.on('connecting', (ctx) => setStatus(`connecting… (${ctx.reason})`, 'bad'));
centrifuge.on('disconnected', (ctx) => setStatus(`disconnected (${ctx.reason})`, 'bad'));
centrifuge.on('connected', (ctx) => {
  myClient = ctx.client;
  names.set(myClient, name);
  document.body.dataset.transport = ctx.transport;
  setStatus(`connected over ${ctx.transport}`, 'ok');
  renderPresence();
});

function who(client) {
  return names.get(client) || `guest ${client.slice(0, 6)}`;
}

function addMessage(offset, data, info) {
  if (offset && shown.has(offset)) return;  // history and the live stream may overlap
  if (offset) shown.add(offset);
  if (!data || typeof data !== 'object' || typeof data.text !== 'string') return;
  const empty = document.getElementById('empty-room');
  if (empty) empty.remove();
  const from = (info && info.client) || data.from || '';
  if (from && typeof data.name === 'string') names.set(from, data.name.slice(0, 24));
  const li = document.createElement('li');
  li.className = 'msg';
  li.dataset.offset = String(offset || 0);
  const w = document.createElement('span');
  w.className = 'who';
  w.textContent = typeof data.name === 'string' ? data.name.slice(0, 24) : who(from);
  const t = document.createElement('span');
  t.className = 'text';
  t.textContent = data.text;
  li.append(w, t);
  // Keep offset order: history can arrive after the first live messages.
  const list = $('messages');
  const after = [...list.children].find((el) => Number(el.dataset.offset) > (offset || Infinity));
  list.insertBefore(li, after || null);
  list.scrollTop = list.scrollHeight;
  typing.delete(from);
  renderTyping();
}

function systemLine(text) {
  const li = document.createElement('li');
  li.className = 'system';
  li.dataset.offset = String(Number.MAX_SAFE_INTEGER);
  li.textContent = text;
  $('messages').append(li);
  return li;
}

function renderPresence() {
  const ul = $('presence');
  ul.replaceChildren();
  for (const client of [...present.keys()].sort((a, b) => who(a).localeCompare(who(b)))) {
    const li = document.createElement('li');
    li.textContent = who(client) + (client === myClient ? ' (you)' : '');
    li.dataset.client = client;
    ul.append(li);
  }
  $('presence-count').textContent = String(present.size);
}

function renderTyping() {
  const now = Date.now();
  const names_ = [];
  for (const [client, until] of typing) {
    if (until < now) typing.delete(client);
    else names_.push(who(client));
  }
  $('typing').textContent = names_.length === 0 ? ''
    : `${names_.join(', ')} ${names_.length === 1 ? 'is' : 'are'} typing…`;
}
setInterval(renderTyping, 500);

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  const all = defaultRooms.includes(room) ? defaultRooms : [...defaultRooms, room];
  for (const r of all) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `?${new URLSearchParams({ ...Object.fromEntries(params), room: r })}`;
    a.textContent = `# ${r}`;
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      join(r);
    });
    li.append(a);
    if (r === room) li.className = 'current';
    ul.append(li);
  }
}

function publishMeta(data) {
  if (meta && meta.state === 'subscribed') meta.publish({ ...data, name, from: myClient }).catch(() => {});
}

function join(next) {
  if (sub) {
    sub.unsubscribe();
    centrifuge.removeSubscription(sub);
  }
  if (meta) {
    meta.unsubscribe();
    centrifuge.removeSubscription(meta);
  }
  room = next;
  params.set('room', room);
  history.replaceState(null, '', `?${params}`);
  shown.clear();
  present.clear();
  typing.clear();
  $('messages').replaceChildren();
  renderRooms();
  renderPresence();
  renderTyping();

  sub = centrifuge.newSubscription(`chat.${room}`);
  sub.on('publication', (ctx) => addMessage(ctx.offset, ctx.data, ctx.info));
  sub.on('join', (ctx) => {
    present.set(ctx.info.client, ctx.info);
    renderPresence();
  });
  sub.on('leave', (ctx) => {
    present.delete(ctx.info.client);
    typing.delete(ctx.info.client);
    renderPresence();
  });
  sub.on('subscribed', async () => {
    try {
      const [h, p] = await Promise.all([sub.history({ limit: 50, reverse: true }), sub.presence()]);
      for (const pub of h.publications.reverse()) addMessage(pub.offset, pub.data, pub.info);
      if (h.publications.length === 0 && !shown.size) systemLine(`# ${room}: no messages yet`).id = 'empty-room';
      for (const [client, info] of Object.entries(p.clients)) present.set(client, info);
      renderPresence();
    } catch (e) {
      systemLine(`could not load history/presence: ${e.message || e.code}`);
    }
  });
  sub.subscribe();

  // Side channel: "hello" on arrival (others answer "here" so names appear in the presence
  // list), "typing" at most every 2 s while typing. Not kept: nobody reads its history.
  meta = centrifuge.newSubscription(`chat.${room}.meta`);
  meta.on('publication', (ctx) => {
    const d = ctx.data || {};
    const from = (ctx.info && ctx.info.client) || d.from;
    if (!from || from === myClient) return;
    if (typeof d.name === 'string') names.set(from, d.name.slice(0, 24));
    if (d.type === 'typing') typing.set(from, Date.now() + 3000);
    if (d.type === 'hello') publishMeta({ type: 'here' });
    renderPresence();
    renderTyping();
  });
  meta.on('subscribed', () => publishMeta({ type: 'hello' }));
  meta.subscribe();
}

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = $('text').value.trim();
  if (!text || !sub) return;
  $('text').value = '';
  lastTypingSent = 0;
  try {
    await sub.publish({ text, name, from: myClient });
  } catch (e) {
    systemLine(`not sent: ${e.message || e.code}`);
  }
});

$('text').addEventListener('input', () => {
  const now = Date.now();
  if ($('text').value && now - lastTypingSent > 2000) {
    lastTypingSent = now;
    publishMeta({ type: 'typing' });
  }
});

$('room-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const r = $('room-name').value.trim();
  if (!roomPattern.test(r)) {
    $('room-name').setCustomValidity('letters, digits, _ and - (up to 32)');
    $('room-name').reportValidity();
    return;
  }
  $('room-name').value = '';
  join(r);
});
$('room-name').addEventListener('input', () => $('room-name').setCustomValidity(''));

$('name').value = name;
$('name').addEventListener('change', () => {
  name = $('name').value.trim().slice(0, 24) || name;
  localStorage.setItem('duplex.chat.name', name);
  names.set(myClient, name);
  publishMeta({ type: 'here' });
  renderPresence();
});

// The transport is fixed when the client is made: switching reloads with ?transport=.
$('fallback').checked = fallback;
$('fallback').addEventListener('change', () => {
  if ($('fallback').checked) params.set('transport', 'fallback');
  else params.delete('transport');
  location.search = `?${params}`;
});

renderRooms();
join(room);
centrifuge.connect();
