// A bridge over TLS to a real Mosquitto, with certificates made by the test: the remote's
// certificate is checked against bridge_cafile (a wrong CA is refused, a wrong host name too
// unless bridge_insecure), and a client certificate goes along when the remote demands one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { is_mosquitto } from '../support/broker.mjs';
import {
  anonymous,
  bridge_connected,
  start_bridged_broker,
  until_flowing,
} from '../support/bridges.mjs';
import { make_leaf, make_test_pki } from '../support/certs.mjs';
import { start_remote_mosquitto } from '../support/remote_mosquitto.mjs';
import { connect_mqtt_js, end, subscribe } from '../support/mqtt_client.mjs';
import { free_tcp_port } from '../support/free_port.mjs';
import { wait_until } from '../support/deadline.mjs';

const skip = is_mosquitto ? 'bridges from the customize folder are ours' : false;
process.setMaxListeners(64);
const cleanups = [];
const pki = skip ? null : make_test_pki();
if (pki) cleanups.push(() => pki.cleanup());

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function start_tls_remote(server = pki.server, require_certificate = false) {
  const tls_port = await free_tcp_port();
  const remote = await start_remote_mosquitto({
    tls: { port: tls_port, ca: pki.ca.cert, cert: server.cert, key: server.key, require_certificate },
  });
  cleanups.push(() => remote.stop());
  return { remote, tls_port };
}

const tls_conf = (name, host, port, extra) => `connection ${name}
address ${host}:${port}
topic out/# out 1 local/ remote/
restart_timeout 1
${extra}
`;

async function assert_flows(broker, remote) {
  const remote_sub = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(remote_sub.client, 'remote/out/#', 1);
  const local_pub = await connect_mqtt_js(broker.port);
  await until_flowing(local_pub.client, 'local/out/probe', remote_sub.inbox, 'remote/out/probe');
  for (const c of [remote_sub, local_pub]) await end(c.client);
}

test('TLS with the remote checked against bridge_cafile', { skip }, async () => {
  const { remote, tls_port } = await start_tls_remote();
  const broker = await start_bridged_broker(
    tls_conf('t1', '127.0.0.1', tls_port, `bridge_cafile ${pki.ca.cert}`),
    cleanups,
  );
  await bridge_connected(broker, 't1');
  await assert_flows(broker, remote);
});

test('a remote certificate from another CA is refused, with the reason in the log', { skip }, async () => {
  const { tls_port } = await start_tls_remote();
  const broker = await start_bridged_broker(
    tls_conf('t2', '127.0.0.1', tls_port, `bridge_cafile ${pki.rogue_ca.cert}`),
    cleanups,
  );
  await wait_until(
    () => /bridge t2: cannot connect to 127\.0\.0\.1:\d+: TLS handshake: .*certificate verify failed/.test(broker.output),
    10000,
    `the refusal\n${broker.output}`,
  );
  assert.doesNotMatch(broker.output, /bridge t2: connected/);
});

test('a certificate for another host is refused unless bridge_insecure', { skip }, async () => {
  const elsewhere = make_leaf(pki.keys, 'elsewhere', pki.ca, {
    common_name: 'elsewhere.example',
    usage: 'serverAuth',
    names: 'DNS:elsewhere.example',
  });
  const { remote, tls_port } = await start_tls_remote(elsewhere);
  const strict = await start_bridged_broker(
    tls_conf('t3', '127.0.0.1', tls_port, `bridge_cafile ${pki.ca.cert}`),
    cleanups,
  );
  await wait_until(
    () => /bridge t3: cannot connect to 127\.0\.0\.1:\d+: TLS handshake: .*hostname mismatch/.test(strict.output) ||
      /bridge t3: cannot connect .*IP address mismatch/.test(strict.output),
    10000,
    `the host name refusal\n${strict.output}`,
  );
  assert.doesNotMatch(strict.output, /bridge t3: connected/);
  const insecure = await start_bridged_broker(
    tls_conf('t4', '127.0.0.1', tls_port, `bridge_cafile ${pki.ca.cert}\nbridge_insecure true`),
    cleanups,
  );
  await bridge_connected(insecure, 't4');
  await assert_flows(insecure, remote);
});

test('a client certificate goes along when the remote requires one', { skip }, async () => {
  const { remote, tls_port } = await start_tls_remote(pki.server, true);
  const without = await start_bridged_broker(
    tls_conf('t5', 'localhost', tls_port, `bridge_cafile ${pki.ca.cert}`),
    cleanups,
  );
  const broker = await start_bridged_broker(
    tls_conf('t6', 'localhost', tls_port,
      `bridge_cafile ${pki.ca.cert}\nbridge_certfile ${pki.client.cert}\nbridge_keyfile ${pki.client.key}\nbridge_tls_version tlsv1.2`),
    cleanups,
  );
  await bridge_connected(broker, 't6');
  await assert_flows(broker, remote);
  await wait_until(() => /bridge t5: cannot connect to localhost:\d+/.test(without.output), 10000,
    `the bridge without a client certificate to fail\n${without.output}`);
  assert.doesNotMatch(without.output, /bridge t5: connected/);
});

test('an unreadable bridge_cafile is named in the log and the broker serves', { skip }, async () => {
  const broker = await start_bridged_broker(
    tls_conf('t7', '127.0.0.1', 1, 'bridge_cafile /nonexistent/ca.pem'),
    cleanups,
  );
  await wait_until(() => /bridge t7: bridge_cafile \/nonexistent\/ca\.pem: .*; the bridge is not started/.test(broker.output),
    5000, `the error\n${broker.output}`);
  const c = await connect_mqtt_js(broker.port);
  await end(c.client);
});
