// Certificate renewal: the Let's Encrypt add-on rewrites fullchain.pem and privkey.pem in /ssl.
// The next TLS connections get the new certificate (the broker looks at the files at most every
// 2 s, on accept) without a restart, connections already open stay up, and files that do not
// work are logged and leave the previous certificate in service.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { is_mosquitto } from '../support/broker.mjs';
import { install_server_files, make_leaf, make_test_pki } from '../support/certs.mjs';
import { delay, wait_until } from '../support/deadline.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { served_certificate } from '../support/tls_probe.mjs';

const skip = is_mosquitto && 'our listeners and answers: not run against Mosquitto';
const reload_wait_ms = 8000;
let pki;
let broker;

before(async () => {
  if (skip) return;
  pki = make_test_pki();
  broker = await start_broker_with_listeners({ kinds: ['mqtts', 'wss'], ssl_dir: pki.ssl_dir });
});

after(async () => {
  await broker?.stop();
  pki?.cleanup();
});

const serve = (port) => served_certificate({ port, ca: pki.ca.cert });

// Connects again and again (each connection lets the broker look at the files) until `done`.
async function connect_until(port, done, what) {
  await wait_until(async () => done(await serve(port)), reload_wait_ms, what, 250);
}

function renewed_leaf(name) {
  return make_leaf(pki.keys, name, pki.ca, {
    common_name: `${name}.localhost`,
    usage: 'serverAuth',
  });
}

async function connect_existing(protocol, port) {
  const c = await connect_mqtt_js(port, {
    protocol,
    path: '/mqtt',
    servername: 'localhost',
    ca: fs.readFileSync(pki.ca.cert),
  });
  c.closes = 0;
  c.client.on('close', () => (c.closes += 1));
  await subscribe(c.client, ['reload/#'], 1);
  return c;
}

test(
  'a renewed certificate reaches new connections while open ones stay up',
  { skip },
  async () => {
    assert.equal((await serve(broker.ports.mqtts)).serial, pki.server.serial);
    const old_mqtts = await connect_existing('mqtts', broker.ports.mqtts);
    const old_wss = await connect_existing('wss', broker.ports.wss);

    const renewed = renewed_leaf('renewed');
    install_server_files(pki.ssl_dir, renewed, pki.ca);
    for (const port of [broker.ports.mqtts, broker.ports.wss]) {
      await connect_until(
        port,
        (c) => c.serial === renewed.serial,
        `the renewed certificate on ${port}`,
      );
      assert.equal((await serve(port)).subject_cn, 'renewed.localhost');
    }
    assert.match(
      broker.output,
      /TLS certificate reloaded from \S+fullchain\.pem: subject CN=renewed\.localhost/,
    );

    // The connections from before still carry messages, on their old TLS sessions.
    const fresh = await connect_mqtt_js(broker.ports.mqtts, {
      protocol: 'mqtts',
      servername: 'localhost',
      ca: fs.readFileSync(pki.ca.cert),
    });
    await publish(fresh.client, 'reload/after', 'still here', { qos: 1 });
    for (const old of [old_mqtts, old_wss]) {
      assert.equal((await old.inbox.wait_for_topic('reload/after')).payload, 'still here');
      assert.equal(old.closes, 0, 'an open connection was dropped by the reload');
      assert.equal(old.client.connected, true);
    }
    for (const c of [fresh, old_mqtts, old_wss]) await end(c.client);
  },
);

test(
  'broken new files are logged and the previous certificate stays in service',
  { skip },
  async () => {
    const before_break = (await serve(broker.ports.mqtts)).serial;
    const errors_before = broker.output.match(/cannot be used/g)?.length ?? 0;
    const errors_now = () => broker.output.match(/cannot be used/g)?.length ?? 0;

    // A certificate whose key is another one's: the pair does not match.
    const mismatched = renewed_leaf('mismatched');
    const stranger = renewed_leaf('stranger');
    install_server_files(pki.ssl_dir, { ...mismatched, key: stranger.key }, pki.ca);
    await connect_until(
      broker.ports.mqtts,
      () => errors_now() > errors_before,
      'the log line about the files',
    );
    assert.match(broker.output, /is not the key of the certificate/);
    assert.equal((await serve(broker.ports.mqtts)).serial, before_break);

    // Not PEM at all.
    fs.writeFileSync(path.join(pki.ssl_dir, 'fullchain.pem'), 'not a certificate\n');
    await connect_until(
      broker.ports.mqtts,
      () => errors_now() > errors_before + 1,
      'the second log line',
    );
    assert.equal((await serve(broker.ports.wss)).serial, before_break);
    // Files that stay broken are not tried (or logged) again on every connection.
    await delay(2500);
    await serve(broker.ports.mqtts);
    assert.equal(errors_now(), errors_before + 2);

    // Good files again: taken.
    const repaired = renewed_leaf('repaired');
    install_server_files(pki.ssl_dir, repaired, pki.ca);
    await connect_until(
      broker.ports.mqtts,
      (c) => c.serial === repaired.serial,
      'the repaired certificate',
    );
  },
);
