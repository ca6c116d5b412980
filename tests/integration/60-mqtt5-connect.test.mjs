// MQTT 5.0 CONNECT and CONNACK, and the broker's own DISCONNECT: what CONNACK announces, the reason
// codes of refused logins, the reason of every server DISCONNECT, and log lines that name the
// protocol version and the reason in words. 01-connect is the 3.1.1 twin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type, packet } from '../support/mqtt_bytes.mjs';
import {
  connect5,
  read_connack,
  read_disconnect,
  prop,
  publish5,
} from '../support/mqtt5_bytes.mjs';
import { wait_until } from '../support/deadline.mjs';
import { connect_mqtt_js, end } from '../support/mqtt_client.mjs';

const skip = is_mosquitto && 'our CONNACK properties and log lines: not run against Mosquitto';
const login = { username: test_user.username, password: test_user.password };
let broker;

before(async () => {
  if (skip) return;
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

async function connect_raw(fields) {
  const client = await raw_client.open(broker.port);
  client.send(connect5(fields));
  const connack = read_connack(await client.expect(packet_type.connack));
  return { client, connack };
}

async function expect_disconnect(client, ms = 3000) {
  const p = await client.next_packet(ms, 'DISCONNECT from the broker');
  assert.equal(p.type, packet_type.disconnect, `packet type ${p.type}, not DISCONNECT`);
  const d = read_disconnect(p);
  await client.wait_closed();
  return d;
}

test('CONNACK announces the broker limits and features truthfully', { skip }, async () => {
  const { client, connack } = await connect_raw({ client_id: 'v5-caps', ...login });
  assert.equal(connack.reason, 0);
  assert.equal(connack.session_present, false);
  const p = connack.properties;
  assert.equal(prop(p, 'receive_maximum'), 1000);
  assert.equal(prop(p, 'maximum_packet_size'), 16 * 1024 * 1024);
  assert.equal(prop(p, 'topic_alias_maximum'), 10);
  assert.equal(prop(p, 'retain_available'), 1);
  assert.equal(prop(p, 'wildcard_subscription_available'), 1);
  assert.equal(prop(p, 'subscription_identifier_available'), 1);
  assert.equal(prop(p, 'shared_subscription_available'), 1);
  assert.equal(prop(p, 'assigned_client_identifier'), undefined, 'the client chose its id');
  assert.equal(prop(p, 'server_keep_alive'), undefined, 'keep-alive 60 is not cut');
  client.destroy();
});

test('an empty client id gets an Assigned Client Identifier', { skip }, async () => {
  const { client, connack } = await connect_mqtt_js(broker.port, { protocolVersion: 5, clientId: '' });
  assert.match(connack.properties?.assignedClientIdentifier ?? '', /^auto-[0-9a-f]{16}$/);
  await end(client);
});

test('an empty client id without Clean Start is accepted too, with its assigned id', { skip }, async () => {
  // 5.0 drops 3.1.1's rule that refused this with return code 2 [MQTT-3.1.3-7].
  const { client, connack } = await connect_raw({ clean: false, ...login });
  assert.equal(connack.reason, 0);
  assert.match(prop(connack.properties, 'assigned_client_identifier') ?? '', /^auto-[0-9a-f]{16}$/);
  client.destroy();
});

test('a wrong password is refused with 0x86, anonymous with 0x87', { skip }, async () => {
  const bad = await connect_raw({ client_id: 'v5-bad', username: test_user.username, password: 'x' });
  assert.equal(bad.connack.reason, 0x86);
  await bad.client.wait_closed();
  const anon = await connect_raw({ client_id: 'v5-anon' });
  assert.equal(anon.connack.reason, 0x87);
  await anon.client.wait_closed();
  await wait_until(
    () => /\[v5-bad\] connection refused: bad user name or password.*MQTT 5\.0, reason 0x86 bad user name or password/.test(broker.output),
    2000,
    'the refusal logged with the version and reason in words',
  );
});

test('MQTT.js sees the refusal reason of a 5.0 CONNACK', { skip }, async () => {
  await assert.rejects(
    connect_mqtt_js(broker.port, { protocolVersion: 5, password: 'wrong' }),
    (error) => error.code === 0x86,
  );
});

test('an Authentication Method the broker does not offer is refused with 0x8C', { skip }, async () => {
  const { client, connack } = await connect_raw({
    client_id: 'v5-auth',
    ...login,
    properties: [['authentication_method', 'SCRAM-SHA-1']],
  });
  assert.equal(connack.reason, 0x8c);
  await client.wait_closed();
});

test('an invalid will topic is refused with 0x90 in CONNACK', { skip }, async () => {
  const { client, connack } = await connect_raw({
    client_id: 'v5-will-topic',
    ...login,
    will: { topic: 'a/+/b', payload: 'x' },
  });
  assert.equal(connack.reason, 0x90);
  await client.wait_closed();
});

test('a will whose payload is not UTF-8 under format indicator 1 is refused with 0x99', { skip }, async () => {
  const { client, connack } = await connect_raw({
    client_id: 'v5-will-utf8',
    ...login,
    will: { topic: 'w/t', payload: Buffer.from([0xc3, 0x28]), properties: [['payload_format_indicator', 1]] },
  });
  assert.equal(connack.reason, 0x99);
  await client.wait_closed();
});

test('a takeover sends DISCONNECT 0x8E to the old connection', { skip }, async () => {
  const first = await connect_raw({ client_id: 'v5-takeover', ...login });
  assert.equal(first.connack.reason, 0);
  const second = await connect_raw({ client_id: 'v5-takeover', ...login });
  assert.equal(second.connack.reason, 0);
  const d = await expect_disconnect(first.client);
  assert.equal(d.reason, 0x8e);
  await second.client.ping();
  second.client.destroy();
  await wait_until(
    () => /\[v5-takeover\] disconnected: taken over .*reason 0x8E session taken over\) \[MQTT 5\.0\]/.test(broker.output),
    2000,
    'the takeover logged with its reason in words',
  );
});

test('a keep-alive timeout sends DISCONNECT 0x8D', { skip }, async () => {
  const { client } = await connect_raw({ client_id: 'v5-keepalive', keepalive: 1, ...login });
  const started = Date.now();
  const d = await expect_disconnect(client, 4000);
  assert.equal(d.reason, 0x8d);
  assert.ok(Date.now() - started >= 1000, 'not before the keep-alive passed');
});

test('a packet over the maximum packet size gets DISCONNECT 0x95', { skip }, async () => {
  const { client } = await connect_raw({ client_id: 'v5-large', ...login });
  // A PUBLISH header announcing 17 MiB: refused before its body arrives.
  client.send(Buffer.from([0x30, 0x80, 0x80, 0xc4, 0x08]));
  const d = await expect_disconnect(client);
  assert.equal(d.reason, 0x95);
});

test('a malformed packet gets DISCONNECT 0x81', { skip }, async () => {
  const { client } = await connect_raw({ client_id: 'v5-malformed', ...login });
  client.send(packet(0x36, Buffer.from([0, 1, 0x61, 0, 1, 0]))); // QoS 3
  const d = await expect_disconnect(client);
  assert.equal(d.reason, 0x81);
});

test('a second CONNECT is a protocol error: DISCONNECT 0x82', { skip }, async () => {
  const { client } = await connect_raw({ client_id: 'v5-twice', ...login });
  client.send(connect5({ client_id: 'v5-twice', ...login }));
  const d = await expect_disconnect(client);
  assert.equal(d.reason, 0x82);
});

test('a topic alias of 0 or above the maximum gets DISCONNECT 0x94', { skip }, async () => {
  for (const alias of [11, 0]) {
    const { client } = await connect_raw({ client_id: `v5-alias-${alias}`, ...login });
    client.send(publish5({ topic: 'a', properties: [['topic_alias', alias]] }));
    const d = await expect_disconnect(client);
    assert.equal(d.reason, 0x94, `alias ${alias}`);
  }
});

test('the connected line names the protocol version and the session expiry', { skip }, async () => {
  const { client } = await connect_raw({
    client_id: 'v5-logline',
    clean: false,
    properties: [['session_expiry_interval', 120]],
    ...login,
  });
  await wait_until(
    () => /\[v5-logline\] connected from .*\(MQTT 5\.0, user 'test-user', keep-alive 60 s, session expiry 120 s\)/.test(broker.output),
    2000,
    'the connected line',
  );
  client.destroy();
});

test('SIGTERM sends DISCONNECT 0x8B to 5.0 clients before closing', { skip }, async () => {
  const own = await start_broker();
  try {
    const client = await raw_client.open(own.port);
    client.send(connect5({ client_id: 'v5-sigterm', ...login }));
    assert.equal(read_connack(await client.expect(packet_type.connack)).reason, 0);
    const stopped = own.stop();
    const d = await expect_disconnect(client, 5000);
    assert.equal(d.reason, 0x8b);
    assert.deepEqual(await stopped, { code: 0, signal: null });
  } finally {
    if (own.running) await own.stop();
  }
});
