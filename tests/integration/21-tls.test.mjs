// MQTT over TLS (mqtts): real certificates made by the test (tests/support/certs.mjs), real
// clients (mosquitto_pub/sub with --cafile, MQTT.js, openssl s_client); TLS 1.2 and 1.3 only,
// forward-secret AEAD suites only, our order of suites; a client that never starts its handshake
// is dropped at the deadline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { is_mosquitto, test_user } from '../support/broker.mjs';
import { make_test_pki } from '../support/certs.mjs';
import { child_program, run_program } from '../support/child_process.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { s_client, served_certificate } from '../support/tls_probe.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { wait_until } from '../support/deadline.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const skip = is_mosquitto && 'our listeners and answers: not run against Mosquitto';
let pki;
let broker;

before(async () => {
  if (skip) return;
  pki = make_test_pki();
  broker = await start_broker_with_listeners({ kinds: ['mqtts'], ssl_dir: pki.ssl_dir });
});

after(async () => {
  await broker?.stop();
  pki?.cleanup();
});

function mosquitto_args(extra) {
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(broker.ports.mqtts),
    '--cafile',
    pki.ca.cert,
    '-u',
    test_user.username,
    '-P',
    test_user.password,
    ...extra,
  ];
}

test(
  'mosquitto_pub and mosquitto_sub with --cafile: retained and live messages',
  { skip },
  async () => {
    let r = await run_program(
      'mosquitto_pub',
      mosquitto_args(['-t', 'tls/kept', '-m', 'kept', '-r', '-q', '1']),
      5000,
    );
    assert.equal(r.code, 0, r.describe);
    const sub = new child_program(
      'mosquitto_sub',
      mosquitto_args(['-t', 'tls/#', '-v', '-q', '1', '-C', '2', '-W', '10', '-i', 'tls-sub']),
    );
    try {
      await sub.wait_for_output(/^tls\/kept kept$/, 5000, 'the retained message');
      // The subscription is in place once the retained message arrived.
      r = await run_program(
        'mosquitto_pub',
        mosquitto_args(['-t', 'tls/live', '-m', 'live', '-q', '1']),
        5000,
      );
      assert.equal(r.code, 0, r.describe);
      await sub.wait_for_output(/^tls\/live live$/, 5000, 'the live message');
      assert.equal((await sub.wait_exit(5000)).code, 0, sub.describe());
    } finally {
      sub.kill();
    }
  },
);

test('MQTT.js over mqtts:// with the CA publishes and receives', { skip }, async () => {
  const tls_options = {
    protocol: 'mqtts',
    ca: fs.readFileSync(pki.ca.cert),
    servername: 'localhost',
  };
  const c = await connect_mqtt_js(broker.ports.mqtts, tls_options);
  await subscribe(c.client, ['tls/js'], 1);
  await publish(c.client, 'tls/js', 'secret', { qos: 1 });
  assert.equal((await c.inbox.wait_for_topic('tls/js')).payload, 'secret');
  await end(c.client);
});

test('the listener serves the certificate chain from the ssl dir', { skip }, async () => {
  const served = await served_certificate({ port: broker.ports.mqtts, ca: pki.ca.cert });
  assert.equal(served.serial, pki.server.serial);
  assert.equal(served.subject_cn, 'localhost');
});

test('TLS 1.1 is refused by the server with a protocol_version alert', { skip }, async () => {
  const r = await s_client({ port: broker.ports.mqtts, version: 'tls1_1', ca: pki.ca.cert });
  assert.notEqual(r.code, 0, r.output);
  assert.equal(r.alert, 70, `expected alert 70 (protocol_version) from the server:\n${r.output}`);
  assert.equal(r.cipher, null);
});

for (const [version, protocol] of [
  ['tls1_2', 'TLSv1.2'],
  ['tls1_3', 'TLSv1.3'],
]) {
  test(`${protocol} is accepted`, { skip }, async () => {
    const r = await s_client({ port: broker.ports.mqtts, version, ca: pki.ca.cert });
    assert.equal(r.code, 0, r.output);
    assert.equal(r.protocol, protocol, r.output);
    assert.match(r.output, /Verify return code: 0 \(ok\)/);
  });
}

for (const cipher of ['ECDHE-ECDSA-AES128-SHA', 'AES128-GCM-SHA256']) {
  test(`TLS 1.2 without forward secrecy or AEAD (${cipher}) is refused`, { skip }, async () => {
    const r = await s_client({
      port: broker.ports.mqtts,
      version: 'tls1_2',
      cipher,
      ca: pki.ca.cert,
    });
    assert.notEqual(r.code, 0, r.output);
    assert.equal(r.alert, 40, `expected alert 40 (handshake_failure):\n${r.output}`);
  });
}

test("TLS 1.2 picks the server's preferred suite, not the client's first", { skip }, async () => {
  const r = await s_client({
    port: broker.ports.mqtts,
    version: 'tls1_2',
    cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256',
    ca: pki.ca.cert,
  });
  assert.equal(r.code, 0, r.output);
  assert.equal(r.cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256', r.output);
});

test('the plain MQTT listener runs next to the TLS one', { skip }, async () => {
  const c = await connect_mqtt_js(broker.ports.mqtt);
  await end(c.client);
});

test('plain MQTT sent to the TLS port is refused at once, with a log line', { skip }, async () => {
  const client = await raw_client.open(broker.ports.mqtts);
  client.send(bytes.connect({ client_id: 'plain-on-tls', ...test_user }));
  await client.wait_closed(3000);
  await wait_until(
    () => /mqtts: handshake with 127\.0\.0\.1:\d+ failed: TLS handshake: /.test(broker.output),
    3000,
    'the log line about the failed handshake',
  );
});

test(
  'a client that connects and never starts TLS is dropped at the 10 s deadline',
  { skip, timeout: 20000 },
  async () => {
    const socket = net.createConnection({ host: '127.0.0.1', port: broker.ports.mqtts });
    socket.on('error', () => {});
    const opened = Date.now();
    await new Promise((resolve) => socket.once('connect', resolve));
    await new Promise((resolve) => socket.once('close', resolve));
    const after_ms = Date.now() - opened;
    assert.ok(after_ms >= 9000 && after_ms < 13000, `closed after ${after_ms} ms`);
  },
);
