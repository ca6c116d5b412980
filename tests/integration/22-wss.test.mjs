// MQTT over WebSocket over TLS (wss): the TLS rules of 21-tls and the WebSocket rules of
// 20-websocket together, on the wss port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { is_mosquitto, test_user } from '../support/broker.mjs';
import { make_test_pki } from '../support/certs.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { s_client, served_certificate } from '../support/tls_probe.mjs';
import { http_exchange, opcode, ws_open } from '../support/ws_client.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const skip = is_mosquitto && 'our listeners and answers: not run against Mosquitto';
const login = { username: test_user.username, password: test_user.password };
let pki;
let broker;
let tls_options;

before(async () => {
  if (skip) return;
  pki = make_test_pki();
  tls_options = { ca: fs.readFileSync(pki.ca.cert) };
  broker = await start_broker_with_listeners({ kinds: ['wss'], ssl_dir: pki.ssl_dir });
});

after(async () => {
  await broker?.stop();
  pki?.cleanup();
});

const over_wss = (path) => ({ protocol: 'wss', path, servername: 'localhost', ...tls_options });

for (const path of ['/', '/mqtt']) {
  test(
    `MQTT.js over wss:// on ${path} with the CA gets retained and live messages`,
    { skip },
    async () => {
      const topic = `wss/path${path === '/' ? 'root' : 'mqtt'}`;
      const pub = await connect_mqtt_js(broker.ports.wss, over_wss(path));
      await publish(pub.client, topic, 'kept', { retain: true, qos: 1 });
      const sub = await connect_mqtt_js(broker.ports.wss, over_wss(path));
      await subscribe(sub.client, [topic], 1);
      const retained = await sub.inbox.wait_for_topic(topic);
      assert.equal(retained.payload, 'kept');
      assert.equal(retained.retain, true);
      await publish(pub.client, topic, 'live', { qos: 1 });
      assert.equal((await sub.inbox.wait_for((m) => m.payload === 'live')).retain, false);
      await end(pub.client);
      await end(sub.client);
    },
  );
}

test('wss serves the same certificate, TLS 1.2 and 1.3 only', { skip }, async () => {
  const served = await served_certificate({ port: broker.ports.wss, ca: pki.ca.cert });
  assert.equal(served.serial, pki.server.serial);
  const old = await s_client({ port: broker.ports.wss, version: 'tls1_1', ca: pki.ca.cert });
  assert.equal(old.alert, 70, old.output);
  const modern = await s_client({ port: broker.ports.wss, version: 'tls1_3', ca: pki.ca.cert });
  assert.equal(modern.protocol, 'TLSv1.3', modern.output);
});

test('packets split over frames and packed into one frame work over wss', { skip }, async () => {
  const opened = await ws_open({ port: broker.ports.wss, tls_options });
  assert.equal(opened.status, 101);
  assert.equal(opened.headers['sec-websocket-protocol'], 'mqtt');
  const ws = opened.connection;
  const client = new raw_client(ws);
  const connect = bytes.connect({ client_id: 'wss-frames', ...login });
  ws.send_frame({ op: opcode.binary, payload: connect.subarray(0, 5), fin: false });
  ws.send_frame({ op: opcode.continuation, payload: connect.subarray(5), fin: true });
  assert.equal((await client.expect(bytes.packet_type.connack)).return_code, 0);
  ws.send_frame({
    op: opcode.binary,
    payload: Buffer.concat([
      bytes.subscribe(1, [['wss/packed', 0]]),
      bytes.publish({ topic: 'wss/packed', payload: 'both' }),
    ]),
  });
  await client.expect(bytes.packet_type.suback);
  assert.equal((await client.expect(bytes.packet_type.publish)).payload, 'both');
  client.destroy();
});

test('a text frame over wss closes with 1003', { skip }, async () => {
  const { connection: ws } = await ws_open({ port: broker.ports.wss, tls_options });
  const client = new raw_client(ws);
  client.send(bytes.connect({ client_id: 'wss-text', ...login }));
  await client.expect(bytes.packet_type.connack);
  ws.send_frame({ op: opcode.text, payload: Buffer.from('text') });
  const close = await ws.wait_frame((f) => f.op === opcode.close, 3000, 'a close frame');
  assert.equal(close.payload.readUInt16BE(0), 1003);
  // No close frame back from this client: the broker waits for one only so long (2 s).
  await ws.wait_closed(4000);
});

test('a plain HTTPS GET is answered 426 and closed', { skip }, async () => {
  const answer = await http_exchange({
    port: broker.ports.wss,
    tls_options: { ...tls_options },
    request: 'GET /mqtt HTTP/1.1\r\nHost: localhost\r\n\r\n',
  });
  assert.equal(answer.status, 426, answer.raw);
  assert.ok(answer.closed_after_ms < 2000, `closed after ${answer.closed_after_ms} ms`);
});

test(
  'SIGTERM with clients on every listener, some mid-handshake, exits 0 within seconds',
  { skip },
  async () => {
    const b = await start_broker_with_listeners({
      kinds: ['ws', 'mqtts', 'wss'],
      ssl_dir: pki.ssl_dir,
    });
    const sockets = [];
    try {
      const js_wss = await connect_mqtt_js(b.ports.wss, over_wss('/mqtt'));
      const js_mqtts = await connect_mqtt_js(b.ports.mqtts, {
        protocol: 'mqtts',
        servername: 'localhost',
        ...tls_options,
      });
      // Never answers the close frame the broker sends at shutdown.
      const { connection: silent_ws } = await ws_open({ port: b.ports.ws });
      const silent_client = new raw_client(silent_ws);
      silent_client.send(bytes.connect({ client_id: 'shutdown-silent', ...login }));
      await silent_client.expect(bytes.packet_type.connack);
      // Connected, handshake never started.
      for (const port of [b.ports.mqtts, b.ports.wss, b.ports.ws]) {
        const s = net.createConnection({ host: '127.0.0.1', port });
        s.on('error', () => {});
        sockets.push(s);
        await new Promise((resolve) => s.once('connect', resolve));
      }
      const started = Date.now();
      const status = await b.stop();
      assert.deepEqual(status, { code: 0, signal: null });
      assert.ok(Date.now() - started < 4000, `exit took ${Date.now() - started} ms`);
      assert.doesNotMatch(b.output, /did not close within/);
      js_wss.client.end(true);
      js_mqtts.client.end(true);
    } finally {
      for (const s of sockets) s.destroy();
      if (b.running) await b.stop();
    }
  },
);
