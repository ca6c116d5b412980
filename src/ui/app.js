// The broker's web UI. Every URL is relative to the page's <base>, which the broker sets to the
// X-Ingress-Path prefix, so the page works behind Home Assistant's ingress proxy and alone.
'use strict';

const state = {
  clients_version: -1,
  topics_seq: 0,
  events_seq: 0,
  bridges: '[]',
  topics: new Map(), // topic -> entry from /api/topics
  filter: '#',
  selected: null,
  expanded: new Set(),
  view: 'auto',
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function ago(ms) {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return new Date(ms).toLocaleString();
}

function confirm_action(text) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
  });
}

// ---- header
function show_status(s) {
  const stats = $('stats');
  stats.replaceChildren();
  const items = [
    ['Clients', s.clients_connected], ['Received', s.messages_received],
    ['Sent', s.messages_sent], ['Retained', s.retained_messages],
    ['Subscriptions', s.subscriptions], ['Dropped', s.dropped], ['Version', s.version],
  ];
  for (const [k, v] of items) stats.append(el('dt', {}, k), el('dd', {}, v));
}

// ---- clients
async function load_clients() {
  const data = await api('api/clients');
  const body = $('clients').tBodies[0];
  body.replaceChildren();
  for (const c of data.clients) {
    const button = el('button', {
      type: 'button', class: 'danger small',
      onclick: async () => {
        if (!(await confirm_action(`Disconnect client "${c.client_id}"?`))) return;
        try { await api('api/disconnect', { client_id: c.client_id }); } catch (e) { alert(e.message); }
      },
    }, 'Disconnect');
    if (!c.connected) button.disabled = true;
    const protocol = c.connected ? `MQTT ${c.protocol} / ${c.transport}` : 'offline';
    body.append(el('tr', { 'data-client-id': c.client_id, class: c.connected ? '' : 'offline' },
      el('td', { class: 'mono' }, c.client_id), el('td', {}, c.username),
      el('td', { class: 'mono' }, c.address), el('td', {}, protocol),
      el('td', {}, c.connected ? ago(c.since) : ''), el('td', { class: 'num' }, c.subscriptions),
      el('td', { class: 'num' }, c.queued + c.inflight), el('td', { class: 'num' }, c.messages_in),
      el('td', { class: 'num' }, c.messages_out), el('td', {}, button)));
  }
  $('clients-note').textContent = data.clients.length === 0 ? 'No client is connected.'
    : data.truncated ? `Showing the first ${data.clients.length} clients.` : '';
  state.clients_version = data.version;
}

// ---- topics
function bytes_of(entry) {
  if (entry.payload == null) return null;
  const raw = atob(entry.payload);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; ++i) out[i] = raw.charCodeAt(i);
  return out;
}

function as_text(bytes) {
  try { return new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { return null; }
}

function as_hex(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = Array.from(bytes.slice(i, i + 16), (b) => b.toString(16).padStart(2, '0'));
    lines.push(i.toString(16).padStart(6, '0') + '  ' + row.join(' '));
  }
  return lines.join('\n');
}

function render_payload(entry, view) {
  const bytes = bytes_of(entry);
  if (bytes === null) return { kind: 'none', text: `(${entry.size} bytes, not kept by the UI)` };
  const text = as_text(bytes);
  if (view === 'hex' || (view !== 'text' && text === null)) return { kind: 'hex', text: as_hex(bytes) };
  if (view !== 'text' && !entry.truncated) {
    try { return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2) }; } catch { /* text */ }
  }
  return { kind: 'text', text: text ?? '' };
}

function preview(entry) {
  if (entry.cleared) return '';
  const bytes = bytes_of(entry);
  if (bytes === null) return `${entry.size} bytes`;
  const text = as_text(bytes);
  if (text === null) return `${entry.size} bytes (binary)`;
  return text.length > 80 ? text.slice(0, 80) + '…' : text;
}

function build_tree() {
  const root = { children: new Map() };
  for (const entry of state.topics.values()) {
    if (entry.cleared) continue;
    let node = root;
    let path = '';
    for (const level of entry.topic.split('/')) {
      path = path === '' && node === root ? level : path + '/' + level;
      if (!node.children.has(level)) node.children.set(level, { name: level, path, children: new Map(), count: 0 });
      node = node.children.get(level);
      node.count += 1;
    }
    node.entry = entry;
  }
  return root;
}

function render_tree() {
  const root = build_tree();
  const expand_all = state.filter !== '#' || state.topics.size <= 30;
  const list = (node) => {
    const ul = el('ul', { role: 'group' });
    const names = [...node.children.keys()].sort();
    for (const name of names) {
      const child = node.children.get(name);
      const open = expand_all || state.expanded.has(child.path);
      const has_children = child.children.size > 0;
      const row = el('div', {
        class: 'node' + (state.selected === child.path ? ' selected' : ''),
        'data-topic': child.path,
        onclick: () => {
          if (has_children && !expand_all) {
            if (state.expanded.has(child.path)) state.expanded.delete(child.path);
            else state.expanded.add(child.path);
          }
          if (child.entry) state.selected = child.path;
          render_tree();
          render_detail();
        },
      },
      el('span', { class: 'twisty' }, has_children ? (open ? '▾' : '▸') : ''),
      el('span', { class: 'name' }, name === '' ? '(empty)' : name));
      if (child.entry) {
        if (child.entry.retained) row.append(el('span', { class: 'badge' }, 'retained'));
        row.append(el('span', { class: 'value' }, preview(child.entry)));
      } else if (has_children) {
        row.append(el('span', { class: 'count' }, child.count === 1 ? '1 topic' : `${child.count} topics`));
      }
      const li = el('li', { role: 'treeitem' }, row);
      if (has_children && open) li.append(list(child));
      ul.append(li);
    }
    return ul;
  };
  $('tree').replaceChildren(list(root));
}

function render_detail() {
  const detail = $('detail');
  const entry = state.selected && state.topics.get(state.selected);
  if (!entry || entry.cleared) {
    detail.replaceChildren(el('p', { class: 'note' }, 'Select a topic to see its last message.'));
    return;
  }
  const shown = render_payload(entry, state.view);
  const views = el('div', { class: 'views' });
  for (const v of ['auto', 'text', 'hex']) {
    views.append(el('button', {
      type: 'button', class: state.view === v ? 'active small' : 'small',
      onclick: () => { state.view = v; render_detail(); },
    }, v === 'auto' ? 'Auto (JSON)' : v === 'text' ? 'Text' : 'Hex'));
  }
  const actions = el('div', { class: 'row' },
    el('button', {
      type: 'button', class: 'small',
      onclick: () => {
        $('pub-topic').value = entry.topic;
        const text = as_text(bytes_of(entry) || new Uint8Array());
        $('pub-payload').value = text ?? '';
        $('pub-retain').checked = entry.retained;
      },
    }, 'Copy to publish form'));
  if (entry.retained) {
    actions.append(el('button', {
      type: 'button', class: 'danger small', id: 'delete-retained',
      onclick: async () => {
        if (!(await confirm_action(`Delete the retained message of "${entry.topic}"?`))) return;
        try { await api('api/delete-retained', { topic: entry.topic }); } catch (e) { alert(e.message); }
      },
    }, 'Delete retained message'));
  }
  detail.replaceChildren(
    el('h2', { class: 'mono' }, entry.topic),
    el('p', { class: 'meta' },
      `${entry.size} bytes · QoS ${entry.qos}${entry.retained ? ' · retained' : ''} · ` +
      `${entry.messages} ${entry.messages === 1 ? 'message' : 'messages'} · ${ago(entry.updated)}` +
      (entry.truncated ? ' · preview' : '')),
    views,
    el('pre', { class: 'payload ' + shown.kind, id: 'payload' }, shown.text),
    actions);
  if (entry.truncated && entry.payload != null && !entry.full) {
    // The list carries a preview; the whole payload comes on demand.
    api('api/topic?name=' + encodeURIComponent(entry.topic)).then((full) => {
      full.full = true;
      if (state.topics.has(full.topic)) state.topics.set(full.topic, full);
      if (state.selected === full.topic) render_detail();
    }).catch(() => {});
  }
}

async function load_topics(full) {
  const since = full ? 0 : state.topics_seq;
  const data = await api(`api/topics?filter=${encodeURIComponent(state.filter)}&since=${since}`);
  if (full) state.topics.clear();
  if (!full && data.truncated) return load_topics(true); // too much changed: start over
  for (const t of data.topics) state.topics.set(t.topic, t);
  state.topics_seq = data.seq;
  $('topics-note').textContent = data.truncated && full
    ? `Showing the first ${data.topics.length} topics: narrow the filter.` : '';
  render_tree();
  render_detail();
}

// ---- events
async function load_events() {
  const data = await api(`api/events?since=${state.events_seq}`);
  const body = $('events').tBodies[0];
  for (const e of data.events) {
    body.prepend(el('tr', { class: 'event ' + e.kind },
      el('td', {}, new Date(e.time).toLocaleString()), el('td', {}, e.kind.replace('_', ' ')),
      el('td', { class: 'mono' }, e.client_id), el('td', {}, e.text)));
  }
  while (body.rows.length > 500) body.deleteRow(-1);
  state.events_seq = data.last;
}

// ---- bridges
async function load_bridges() {
  const data = await api('api/bridges');
  $('bridges-box').hidden = data.bridges.length === 0;
  const body = $('bridges').tBodies[0];
  body.replaceChildren();
  for (const b of data.bridges) {
    body.append(el('tr', { 'data-bridge': b.name, class: 'bridge ' + b.state },
      el('td', { class: 'mono' }, b.name), el('td', {}, b.state), el('td', { class: 'mono' }, b.address),
      el('td', {}, ago(b.since)), el('td', {}, b.last_error),
      el('td', { class: 'num' }, b.messages_received), el('td', { class: 'num' }, b.messages_sent)));
  }
  state.bridges = JSON.stringify(data.bridges.map((b) => `${b.name}:${b.state}`));
}

// ---- live updates
// The broker pushes a status only when it changed: one that arrives during a refresh is kept and
// handled right after it, never dropped.
let refreshing = false;
let latest = null;
async function on_status(s) {
  show_status(s);
  latest = s;
  if (refreshing) return;
  refreshing = true;
  try {
    while (latest) {
      const now = latest;
      latest = null;
      if (now.clients_version !== state.clients_version) await load_clients();
      // Numbers that went back mean the broker restarted: start over.
      if (now.topics_seq < state.topics_seq) await load_topics(true);
      else if (now.topics_seq !== state.topics_seq) await load_topics(false);
      if (now.events_seq < state.events_seq) {
        $('events').tBodies[0].replaceChildren();
        state.events_seq = 0;
      }
      if (now.events_seq !== state.events_seq) await load_events();
      if (JSON.stringify(now.bridges ?? []) !== state.bridges) await load_bridges();
    }
  } catch (e) {
    console.warn('refresh failed', e);
  } finally {
    refreshing = false;
  }
}

let poll_timer = null;
function connect_live(delay_ms = 1000) {
  const url = new URL('ws', document.baseURI);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  const live = $('live');
  socket.onopen = () => {
    live.textContent = 'live';
    live.className = 'live on';
    clearInterval(poll_timer);
    poll_timer = null;
    delay_ms = 1000;
  };
  socket.onmessage = (event) => on_status(JSON.parse(event.data));
  socket.onclose = () => {
    live.textContent = 'reconnecting';
    live.className = 'live off';
    // Until the socket is back, ask every few seconds.
    if (!poll_timer) poll_timer = setInterval(() => api('api/status').then(on_status).catch(() => {}), 3000);
    setTimeout(() => connect_live(Math.min(delay_ms * 2, 30000)), delay_ms);
  };
}

// ---- wiring
for (const button of document.querySelectorAll('#tabs button')) {
  button.addEventListener('click', () => {
    for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b === button);
    for (const s of document.querySelectorAll('.tab')) s.classList.toggle('active', s.id === 'tab-' + button.dataset.tab);
  });
}

$('search').addEventListener('submit', (event) => {
  event.preventDefault();
  state.filter = $('filter').value.trim() || '#';
  load_topics(true).catch((e) => { $('topics-note').textContent = e.message; });
});

$('publish').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = $('pub-result');
  try {
    await api('api/publish', {
      topic: $('pub-topic').value,
      payload: $('pub-payload').value,
      qos: Number($('pub-qos').value),
      retain: $('pub-retain').checked,
    });
    result.textContent = 'Published.';
    result.className = 'note ok';
  } catch (e) {
    result.textContent = e.message;
    result.className = 'note error';
  }
});

api('api/options').then((o) => { $('options').textContent = JSON.stringify(o, null, 2); }).catch(() => {});
api('api/status').then(on_status).catch(() => {});
load_topics(true).catch(() => {});
connect_live();
