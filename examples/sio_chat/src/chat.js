// The sio_chat page: one socket.io-client connection to the page's own origin (the sio_chat
// binary serves both), the name in the handshake's auth, one room at a time. The server's event
// contract is described at the top of examples/sio_chat.cc.
//
// URL parameters: name, room, transport=polling (transports: ['polling']: the client never opens
// a WebSocket). For tests the page also reports its state on <body>: data-transport (the
// Engine.IO transport in use, after an upgrade too) and data-room (the room joined).
import { io } from 'socket.io-client';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const pollingOnly = params.get('transport') === 'polling';
const roomPattern = /^[A-Za-z0-9_-]{1,32}$/;
const defaultRooms = ['lobby', 'random', 'dev'];

let room = roomPattern.test(params.get('room') || '') ? params.get('room') : 'lobby';
let name = (params.get('name') ?? localStorage.getItem('duplex.sio_chat.name') ??
  `guest-${Math.floor(Math.random() * 9000 + 1000)}`).slice(0, 24);
let joined = '';                // the room the server confirmed, '' while (re)joining
let presenceVersion = 0;        // highest presence version seen for `room`
const shown = new Map();        // message id -> <li>, for the current room
const typing = new Map();       // socket id -> {name, until}
let lastTypingSent = 0;

const socket = io({
  auth: { name },
  transports: pollingOnly ? ['polling'] : ['polling', 'websocket'],
  upgrade: !pollingOnly,
});

function setStatus(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls || ''}`;
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

function setTransport() {
  const t = socket.io.engine ? socket.io.engine.transport.name : '';
  $('transport').textContent = t || '–';
  document.body.dataset.transport = t;
}

socket.on('connect', () => {
  showError('');
  setStatus(`connected as ${name}`, 'ok');
  setTransport();
  socket.io.engine.once('upgrade', setTransport);
  join(room);  // also after a reconnect: the server forgot our rooms
});

socket.on('connect_error', (err) => {
  const reason = err.data && err.data.reason ? ` (${err.data.reason})` : '';
  setStatus('not connected', 'bad');
  // A refusal by the server's middleware is final (socket.active is false): change the name.
  showError(socket.active ? `connection failed: ${err.message}` : `refused: ${err.message}${reason}`);
});

socket.on('disconnect', (reason) => {
  joined = '';
  document.body.dataset.room = '';
  setStatus(`disconnected (${reason})`, 'bad');
  setTransport();
});

socket.on('history', (h) => {
  if (!h || h.room !== room || !Array.isArray(h.messages)) return;
  for (const m of h.messages) addMessage(m);
  if (h.messages.length === 0 && shown.size === 0) systemLine(`# ${room}: no messages yet`, 'empty-room');
});

socket.on('message', (m) => {
  if (m && m.room === room) addMessage(m);
});

socket.on('presence', (p) => {
  if (!p || p.room !== room || !(p.version > presenceVersion) || !Array.isArray(p.members)) return;
  presenceVersion = p.version;
  const ul = $('presence');
  ul.replaceChildren();
  for (const member of p.members) {
    const li = document.createElement('li');
    li.textContent = member.name + (member.id === socket.id ? ' (you)' : '');
    li.dataset.id = member.id;
    ul.append(li);
  }
  for (const id of typing.keys()) if (!p.members.some((x) => x.id === id)) typing.delete(id);
  $('presence-count').textContent = String(p.members.length);
  renderTyping();
});

socket.on('typing', (t) => {
  if (!t || t.room !== room || t.id === socket.id) return;
  typing.set(t.id, { name: String(t.name), until: Date.now() + 3000 });
  renderTyping();
});

function addMessage(m) {
  if (!m || typeof m.id !== 'number' || typeof m.text !== 'string' || shown.has(m.id)) return;
  const empty = $('empty-room');
  if (empty) empty.remove();
  const li = document.createElement('li');
  li.className = m.from === socket.id ? 'msg mine' : 'msg';
  li.dataset.id = String(m.id);
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = String(m.name);
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  const time = document.createElement('span');
  time.className = 'time';
  time.textContent = new Date(m.time).toLocaleTimeString();
  li.append(time, who, text);
  // Ids grow across the server: keep their order whatever order the events came in.
  const list = $('messages');
  const after = [...list.querySelectorAll('li.msg')].find((el) => Number(el.dataset.id) > m.id);
  list.insertBefore(li, after || null);
  shown.set(m.id, li);
  list.scrollTop = list.scrollHeight;
  typing.delete(m.from);
  renderTyping();
}

function systemLine(text, id) {
  const li = document.createElement('li');
  li.className = 'system';
  li.textContent = text;
  if (id) li.id = id;
  $('messages').append(li);
}

function renderTyping() {
  const now = Date.now();
  const names = [];
  for (const [id, t] of typing) {
    if (t.until < now) typing.delete(id);
    else names.push(t.name);
  }
  $('typing').textContent = names.length === 0 ? ''
    : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}
setInterval(renderTyping, 500);

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  for (const r of defaultRooms.includes(room) ? defaultRooms : [...defaultRooms, room]) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `?${new URLSearchParams({ ...Object.fromEntries(params), room: r })}`;
    a.textContent = `# ${r}`;
    a.addEventListener('click', (ev) => {
      ev.preventDefault();
      switchRoom(r);
    });
    li.append(a);
    if (r === room) li.className = 'current';
    ul.append(li);
  }
  $('room-title').textContent = `# ${room}`;
}

function clearRoom() {
  shown.clear();
  typing.clear();
  presenceVersion = 0;
  $('messages').replaceChildren();
  $('presence').replaceChildren();
  $('presence-count').textContent = '0';
  renderTyping();
}

function join(next) {
  room = next;
  joined = '';
  clearRoom();
  renderRooms();
  socket.timeout(10000).emit('join', room, (err, res) => {
    if (err || !res || !res.ok) {
      showError(`cannot join #${next}: ${err ? err.message : (res && res.error)}`);
      return;
    }
    if (next !== room) return;  // switched again meanwhile
    joined = room;
    document.body.dataset.room = room;
  });
}

function switchRoom(next) {
  if (next === room) return;
  if (joined) socket.emit('leave', joined);
  params.set('room', next);
  history.replaceState(null, '', `?${params}`);
  join(next);
}

$('form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('text').value;
  if (!text.trim() || !joined) return;
  $('text').value = '';
  socket.timeout(10000).emit('message', { room: joined, text }, (err, res) => {
    if (err) showError(`message not sent: ${err.message}`);
    else if (!res || !res.ok) showError(`message refused: ${res && res.error}`);
    else addMessage(res.message);  // our own message comes back only in the ack
  });
});

$('text').addEventListener('input', () => {
  const now = Date.now();
  if (!joined || now - lastTypingSent < 1500) return;
  lastTypingSent = now;
  socket.volatile.emit('typing', joined);
});

$('room-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const r = $('room-name').value.trim();
  if (!roomPattern.test(r)) return showError('a room name is 1-32 letters, digits, _ or -');
  $('room-name').value = '';
  switchRoom(r);
});

// A new name needs a new handshake: the server reads it from auth on connect.
$('name-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  name = $('name').value.trim().slice(0, 24);
  localStorage.setItem('duplex.sio_chat.name', name);
  params.set('name', name);
  history.replaceState(null, '', `?${params}`);
  socket.auth = { name };
  socket.disconnect().connect();
});

$('polling').checked = pollingOnly;
$('polling').addEventListener('change', () => {
  if ($('polling').checked) params.set('transport', 'polling');
  else params.delete('transport');
  location.search = `?${params}`;
});

$('name').value = name;
renderRooms();
