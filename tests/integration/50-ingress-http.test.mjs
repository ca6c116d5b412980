// The ingress port without a browser: GET /metrics parsed by the Prometheus reference parser
// (python3-prometheus-client) with values checked against the traffic sent here; the JSON API's
// actions; who may use the port inside the add-on; the bounds on requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { is_mosquitto, test_user } from '../support/broker.mjs';
import { run_program } from '../support/child_process.mjs';
import { wait_until, with_deadline } from '../support/deadline.mjs';
import { fake_supervisor } from '../support/fake_supervisor.mjs';
import { start_broker_with_ingress } from '../support/ingress.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { http_exchange, ws_open } from '../support/ws_client.mjs';

const skip = is_mosquitto ? 'Mosquitto has no ingress port' : false;
const parser = fileURLToPath(new URL('../support/parse_metrics.py', import.meta.url));
// Debian's python3 with Debian's prometheus-client, not a venv's.
const python = process.env.MQTT_TEST_PYTHON || '/usr/bin/python3';
const wait_ms = 10000;

let broker;

before(async () => {
  if (skip) return;
  broker = await start_broker_with_ingress({ ws: true });
});

after(async () => {
  await broker?.stop();
});

// The samples of one scrape, through the reference parser: {families, value(name, labels)}.
async function scrape(url = `${broker.ingress_url}/metrics`) {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const parsed = await new Promise((resolve, reject) => {
    import('node:child_process').then(({ execFile }) => {
      const child = execFile(python, [parser], { timeout: 30000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`the Prometheus parser refused /metrics: ${stderr}\n${text}`));
        else resolve(JSON.parse(stdout));
      });
      child.stdin.end(text);
    });
  });
  const value = (name, labels = {}) => {
    const found = parsed.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    assert.equal(found.length, 1, `one sample ${name} ${JSON.stringify(labels)}`);
    return found[0].value;
  };
  return { ...parsed, value, text };
}

// One unlabelled sample read straight from the text: cheap enough to poll (the parser, a
// Python process, checks the format in the assertions).
async function sample_now(url, name) {
  const text = await (await fetch(url)).text();
  const match = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return match ? Number(match[1]) : undefined;
}

async function post(path, body, content_type = 'application/json', base = broker.ingress_url) {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': content_type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

test('/metrics follows the Prometheus conventions', { skip }, async () => {
  const m = await scrape();
  for (const sample of m.samples) {
    assert.match(sample.name, /^mqtt_broker_[a-z0-9_]+$/);
    if (m.families[sample.name.replace(/_total$/, '')] === 'counter') {
      assert.match(sample.name, /_total$/, `counter ${sample.name}`);
    }
  }
  // Counters are named for their unit where they have one (bytes), and nothing is in kilobytes.
  assert.doesNotMatch(m.text, /_kb|_kilobytes|_ms\b/);
  assert.ok(m.value('mqtt_broker_store_size_bytes') >= 0);
});

test('/metrics counts the connections, messages, bytes, retained messages and refusals sent here', { skip }, async () => {
  // The broker's own retained $SYS topics appear at its first tick: counted from after it.
  await wait_until(
    async () => (await sample_now(`${broker.ingress_url}/metrics`, 'mqtt_broker_retained_messages')) > 0,
    wait_ms, 'the $SYS topics', 100);
  const before_traffic = await scrape();
  const sub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['metrics/#'], 1);
  const over_ws = await connect_mqtt_js(broker.ws_port, { protocol: 'ws', path: '/mqtt' });
  const v31 = await connect_mqtt_js(broker.port, { protocolId: 'MQIsdp', protocolVersion: 3 });
  const payload = 'x'.repeat(100);
  for (let i = 0; i < 5; ++i) await publish(over_ws.client, 'metrics/plain', payload, { qos: 1 });
  await publish(v31.client, 'metrics/kept/1', payload, { qos: 1, retain: true });
  await publish(v31.client, 'metrics/kept/2', payload, { qos: 1, retain: true });
  await wait_until(() => sub.inbox.messages.length === 7, wait_ms, 'the subscriber to get all 7');
  const refused = await run_program('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(broker.port), '-u', test_user.username, '-P', 'wrong',
    '-t', 't', '-m', 'm',
  ], wait_ms);
  assert.notEqual(refused.code, 0);

  const m = await scrape();
  const delta = (name, labels) => m.value(name, labels) - before_traffic.value(name, labels);
  assert.equal(m.value('mqtt_broker_connections', { transport: 'mqtt', protocol: '3.1.1' }), 1);
  assert.equal(m.value('mqtt_broker_connections', { transport: 'mqtt', protocol: '3.1' }), 1);
  assert.equal(m.value('mqtt_broker_connections', { transport: 'ws', protocol: '3.1.1' }), 1);
  assert.equal(m.value('mqtt_broker_connections', { transport: 'wss', protocol: '3.1.1' }), 0);
  assert.equal(delta('mqtt_broker_messages_received_total'), 7);
  assert.equal(delta('mqtt_broker_messages_sent_total'), 7);
  // Every message crossed twice: 7 PUBLISH packets of at least 100 payload bytes each way.
  assert.ok(delta('mqtt_broker_received_bytes_total') >= 700 + 5 * 14);
  assert.ok(delta('mqtt_broker_sent_bytes_total') >= 700 + 5 * 14);
  assert.ok(delta('mqtt_broker_received_bytes_total') < 4000);
  assert.equal(delta('mqtt_broker_retained_messages'), 2);
  assert.equal(delta('mqtt_broker_subscriptions'), 1);
  assert.equal(m.value('mqtt_broker_queued_messages'), 0);
  assert.equal(m.value('mqtt_broker_dropped_messages_total'), 0);
  assert.equal(delta('mqtt_broker_events_total', { kind: 'login_refused' }), 1);
  // The store writes behind (within about a second): the retained messages reach the disk.
  await wait_until(
    async () => (await sample_now(`${broker.ingress_url}/metrics`, 'mqtt_broker_store_written_bytes_total')) >
      before_traffic.value('mqtt_broker_store_written_bytes_total') + 200,
    wait_ms,
    'the store to write the retained messages',
    100,
  );
  for (const c of [sub, over_ws, v31]) await end(c.client);
});

test('the API publishes, lists, deletes retained messages and disconnects clients', { skip }, async () => {
  const sub = await connect_mqtt_js(broker.port, { clientId: 'api-sub' });
  await subscribe(sub.client, ['api/#'], 1);
  const sent = await post('/api/publish', { topic: 'api/t', payload: 'from the API', qos: 1, retain: true });
  assert.equal(sent.status, 200, sent.body);
  const got = await sub.inbox.wait_for_topic('api/t');
  assert.equal(got.payload, 'from the API');

  const topics = await (await fetch(`${broker.ingress_url}/api/topics?filter=api%2F%23`)).json();
  assert.deepEqual(topics.topics.map((t) => [t.topic, t.retained, Buffer.from(t.payload, 'base64').toString()]),
    [['api/t', true, 'from the API']]);

  assert.equal((await post('/api/delete-retained', { topic: 'api/t' })).status, 200);
  const cleared = await sub.inbox.wait_for((m) => m.topic === 'api/t' && m.payload === '');
  assert.equal(cleared.payload, '');
  assert.equal((await post('/api/delete-retained', { topic: 'api/t' })).status, 404);

  const bad = await post('/api/publish', { topic: 'api/+', payload: 'x' });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /invalid topic name/);
  assert.equal((await post('/api/publish', { topic: '$SYS/x', payload: 'x' })).status, 400);

  const closed = new Promise((resolve) => sub.client.once('close', resolve));
  assert.equal((await post('/api/disconnect', { client_id: 'api-sub' })).status, 200);
  await with_deadline(closed, wait_ms, 'the broker to close api-sub');
  assert.equal((await post('/api/disconnect', { client_id: 'api-sub' })).status, 404);
  sub.client.end(true);
});

test('requests are bounded: header, body, content type, connections', { skip }, async () => {
  const big_header = await fetch(`${broker.ingress_url}/api/status`, {
    headers: { 'x-filler': 'a'.repeat(16 * 1024) },
  }).catch((error) => ({ status: 'closed', error }));
  assert.ok(big_header.status === 431 || big_header.status === 'closed', String(big_header.status));
  const big_body = await post('/api/publish', JSON.stringify({ topic: 't', payload: 'a'.repeat(512 * 1024) }))
    .catch(() => ({ status: 'closed' }));
  assert.ok(big_body.status === 413 || big_body.status === 'closed', String(big_body.status));
  // Not JSON: a form post from another site is refused before anything happens.
  assert.equal((await post('/api/publish', 'topic=t&payload=x', 'application/x-www-form-urlencoded')).status, 415);
  assert.equal((await fetch(`${broker.ingress_url}/api/nothing`)).status, 404);

  // Past 32 open connections a new one is closed at once; the others still work after.
  const idle = [];
  for (let i = 0; i < 32; ++i) {
    const s = net.connect(broker.ingress_port, '127.0.0.1');
    await new Promise((resolve) => s.once('connect', resolve));
    idle.push(s);
  }
  const extra = net.connect(broker.ingress_port, '127.0.0.1');
  const extra_closed = new Promise((resolve) => extra.once('close', resolve));
  extra.on('error', () => {});
  await with_deadline(extra_closed, wait_ms, 'the 33rd connection to be closed');
  for (const s of idle) s.destroy();
  await wait_until(async () => {
    try {
      return (await fetch(`${broker.ingress_url}/api/status`)).status === 200;
    } catch {
      return false;
    }
  }, wait_ms, 'the port to serve again');
  const m = await scrape();
  for (const limit of ['connections', 'header_size', 'body_size']) {
    assert.ok(m.value('mqtt_broker_ui_limit_hits_total', { limit }) >= 1, limit);
  }
});

test('the live-update WebSocket pushes the status, and at most 8 are open at once', { skip }, async () => {
  const open = [];
  try {
    for (let i = 0; i < 8; ++i) {
      const ws = await ws_open({ port: broker.ingress_port, path: '/ws', protocols: [] });
      assert.equal(ws.status, 101);
      open.push(ws.connection);
    }
    const frame = await open[0].wait_frame(() => true, wait_ms, 'a status frame');
    const status = JSON.parse(frame.payload.toString());
    assert.equal(typeof status.topics_seq, 'number');
    const ninth = await ws_open({ port: broker.ingress_port, path: '/ws', protocols: [] });
    assert.equal(ninth.status, 503);
    assert.equal((await ws_open({ port: broker.ingress_port, path: '/other', protocols: [] })).status, 404);
  } finally {
    for (const c of open) c.destroy();
  }
  const m = await scrape();
  assert.equal(m.value('mqtt_broker_ui_limit_hits_total', { limit: 'websockets' }), 1);
});

test('/metrics and the events show the connection limits: max_connections and connect_timeout', { skip }, async () => {
  const limited = await start_broker_with_ingress({
    options: { logins: [test_user], max_connections: 2, connect_timeout: 1 },
  });
  const sockets = [];
  try {
    const url = `${limited.ingress_url}/metrics`;
    for (let i = 0; i < 2; ++i) {
      const s = net.connect(limited.port, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((resolve) => s.once('connect', resolve));
      sockets.push(s); // says nothing: no CONNECT
    }
    await wait_until(async () => (await sample_now(url, 'mqtt_broker_open_connections')) === 2,
      wait_ms, 'two open connections');
    const third = net.connect(limited.port, '127.0.0.1');
    third.on('error', () => {});
    sockets.push(third);
    await with_deadline(new Promise((resolve) => third.once('close', resolve)), wait_ms,
      'the third connection to be refused');
    // Both silent sockets are closed at connect_timeout (1 s).
    await wait_until(
      async () => (await sample_now(url, 'mqtt_broker_limit_connect_timeouts_total')) === 2,
      wait_ms, 'two connect timeouts', 100);
    const m = await scrape(url);
    assert.equal(m.value('mqtt_broker_limit_refused_connections_total'), 1);
    assert.equal(m.value('mqtt_broker_max_connections'), 2);
    assert.equal(m.value('mqtt_broker_open_connections'), 0);
    const events = await (await fetch(`${limited.ingress_url}/api/events`)).json();
    const texts = events.events.filter((e) => e.kind === 'limit').map((e) => e.text).join('\n');
    assert.match(texts, /max_connections/);
    assert.match(texts, /no CONNECT within/);
    const options = await (await fetch(`${limited.ingress_url}/api/options`)).json();
    assert.equal(options.options.max_connections, 2);
  } finally {
    for (const s of sockets) s.destroy();
    await limited.stop();
  }
});

test('inside the add-on only the ingress proxy may use the UI; /metrics stays readable', { skip }, async () => {
  const supervisor = await fake_supervisor.start();
  const addon = await start_broker_with_ingress({ env: supervisor.env() });
  try {
    // Tests connect from 127.0.0.1, not from the Supervisor's 172.30.32.2.
    for (const path of ['/', '/api/clients', '/app.js']) {
      assert.equal((await fetch(addon.ingress_url + path)).status, 403, path);
    }
    assert.equal((await post('/api/publish', { topic: 'a', payload: 'b' }, 'application/json',
      addon.ingress_url)).status, 403);
    const upgrade = await http_exchange({
      port: addon.ingress_port,
      request: 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    });
    assert.equal(upgrade.status, 403);
    const metrics = await fetch(`${addon.ingress_url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /mqtt_broker_connections/);
  } finally {
    await addon.stop();
    await supervisor.close();
  }
});
