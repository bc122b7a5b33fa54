// Opens a WebSocket to /echo on the same host and shows every message that comes back.
(() => {
  const status = document.getElementById('status');
  const log = document.getElementById('log');
  const form = document.getElementById('form');
  const input = document.getElementById('text');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let ws;
  let retry = 250;

  function line(cls, text) {
    const li = document.createElement('li');
    li.className = cls;
    li.textContent = text;
    log.prepend(li);
  }

  function connect() {
    ws = new WebSocket(`${scheme}//${location.host}/echo`);
    ws.onopen = () => {
      retry = 250;
      status.textContent = `connected (${ws.extensions || 'no extensions'})`;
      status.className = 'status ok';
    };
    ws.onmessage = (ev) => line('in', `← ${ev.data}`);
    ws.onclose = (ev) => {
      status.textContent = `closed (${ev.code}); reconnecting…`;
      status.className = 'status bad';
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!input.value || ws.readyState !== WebSocket.OPEN) return;
    ws.send(input.value);
    line('out', `→ ${input.value}`);
    input.value = '';
  });
  connect();
})();
