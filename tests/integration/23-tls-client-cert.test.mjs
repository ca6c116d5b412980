// require_certificate: the TLS listeners verify client certificates against cafile (default: the
// certfile's chain) and refuse the handshake without one, or with one from another CA; the right
// one is let through to MQTT (where the login still applies).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { is_mosquitto, test_user } from '../support/broker.mjs';
import { make_test_pki } from '../support/certs.mjs';
import { run_program } from '../support/child_process.mjs';
import { wait_until } from '../support/deadline.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';

const skip = is_mosquitto && 'our listeners and answers: not run against Mosquitto';
let pki;
let broker; // cafile: ca.pem
let broker_default_ca; // cafile unset: the CA comes from fullchain.pem

before(async () => {
  if (skip) return;
  pki = make_test_pki();
  const options = { logins: [test_user], require_certificate: true };
  broker = await start_broker_with_listeners({
    options: { ...options, cafile: 'ca.pem' },
    kinds: ['mqtts', 'wss'],
    ssl_dir: pki.ssl_dir,
  });
  broker_default_ca = await start_broker_with_listeners({
    options,
    kinds: ['mqtts'],
    ssl_dir: pki.ssl_dir,
  });
});

after(async () => {
  await broker?.stop();
  await broker_default_ca?.stop();
  pki?.cleanup();
});

function mosquitto_pub(port, topic, identity) {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '--cafile',
    pki.ca.cert,
    '-u',
    test_user.username,
    '-P',
    test_user.password,
    '-t',
    topic,
    '-m',
    'hello',
    '-q',
    '1',
  ];
  if (identity) args.push('--cert', identity.cert, '--key', identity.key);
  return run_program('mosquitto_pub', args, 5000);
}

const js_options = (protocol, identity) => ({
  protocol,
  path: '/mqtt',
  servername: 'localhost',
  ca: fs.readFileSync(pki.ca.cert),
  ...(identity ? { cert: fs.readFileSync(identity.cert), key: fs.readFileSync(identity.key) } : {}),
});

async function log_shows(b, pattern) {
  await wait_until(() => pattern.test(b.output), 3000, `a log line matching ${pattern}`);
}

test('mosquitto_pub with a client certificate signed by cafile is accepted', { skip }, async () => {
  const watcher = await connect_mqtt_js(broker.ports.mqtts, js_options('mqtts', pki.client));
  await subscribe(watcher.client, ['cert/ok'], 1);
  const r = await mosquitto_pub(broker.ports.mqtts, 'cert/ok', pki.client);
  assert.equal(r.code, 0, r.describe);
  assert.equal((await watcher.inbox.wait_for_topic('cert/ok')).payload, 'hello');
  await end(watcher.client);
});

test(
  'mosquitto_pub without a client certificate is refused in the handshake',
  { skip },
  async () => {
    const r = await mosquitto_pub(broker.ports.mqtts, 'cert/none');
    assert.notEqual(r.code, 0, r.describe);
    await log_shows(
      broker,
      /mqtts: handshake with \S+ failed: TLS handshake: peer did not return a certificate/,
    );
  },
);

test(
  'mosquitto_pub with a certificate from another CA is refused in the handshake',
  { skip },
  async () => {
    const r = await mosquitto_pub(broker.ports.mqtts, 'cert/rogue', pki.rogue_client);
    assert.notEqual(r.code, 0, r.describe);
    await log_shows(
      broker,
      new RegExp(
        'mqtts: handshake with \\S+ failed: TLS handshake: certificate verify failed ' +
          '\\(client certificate: unable to get local issuer certificate\\)',
      ),
    );
  },
);

test('the server certificate alone is no client certificate', { skip }, async () => {
  // Signed by the right CA, but for serverAuth only: OpenSSL's purpose check refuses it.
  const r = await mosquitto_pub(broker.ports.mqtts, 'cert/server-as-client', pki.server);
  assert.notEqual(r.code, 0, r.describe);
  await log_shows(broker, /client certificate: unsuitable certificate purpose/);
});

test(
  'over wss the right client certificate is accepted and none is refused',
  { skip },
  async () => {
    const c = await connect_mqtt_js(broker.ports.wss, js_options('wss', pki.client));
    await subscribe(c.client, ['cert/wss'], 0);
    await publish(c.client, 'cert/wss', 'through', { qos: 0 });
    assert.equal((await c.inbox.wait_for_topic('cert/wss')).payload, 'through');
    await end(c.client);
    await assert.rejects(connect_mqtt_js(broker.ports.wss, js_options('wss'), 3000));
    await assert.rejects(
      connect_mqtt_js(broker.ports.wss, js_options('wss', pki.rogue_client), 3000),
    );
    await log_shows(broker, /wss: handshake with \S+ failed: TLS handshake: /);
  },
);

test('MQTT.js over mqtts without a client certificate is refused', { skip }, async () => {
  await assert.rejects(connect_mqtt_js(broker.ports.mqtts, js_options('mqtts'), 3000));
});

test(
  'without a cafile option the CAs in certfile verify client certificates',
  { skip },
  async () => {
    let r = await mosquitto_pub(broker_default_ca.ports.mqtts, 'cert/default', pki.client);
    assert.equal(r.code, 0, r.describe);
    r = await mosquitto_pub(broker_default_ca.ports.mqtts, 'cert/default', pki.rogue_client);
    assert.notEqual(r.code, 0, r.describe);
    r = await mosquitto_pub(broker_default_ca.ports.mqtts, 'cert/default');
    assert.notEqual(r.code, 0, r.describe);
  },
);
