// MQTT 5.0 publishing: properties forwarded unchanged (user properties in order, response topic,
// correlation data, content type, payload format indicator), the reason codes of PUBACK, PUBREC,
// SUBACK and UNSUBACK, 3.1.1 and 5.0 clients sharing topics, and the real 5.0 clients:
// MQTT.js (TCP and WebSocket), mosquitto_pub/mosquitto_sub -V mqttv5 -D, paho-mqtt MQTTv5.
// 02-subpub and 11-clients are the 3.1.1 twins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test_user, is_mosquitto } from '../support/broker.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type } from '../support/mqtt_bytes.mjs';
import {
  connect5,
  publish5,
  read_ack,
  read_connack,
  read_disconnect,
  read_publish,
  read_sub_ack,
  subscribe5,
  unsubscribe5,
  all_of,
  prop,
} from '../support/mqtt5_bytes.mjs';
import { child_program, run_program } from '../support/child_process.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';

const skip = is_mosquitto && 'our listeners: not run against Mosquitto';
const login = { username: test_user.username, password: test_user.password };
const paho_script = fileURLToPath(new URL('../support/paho_client.py', import.meta.url));
const python = process.env.MQTT_TEST_PYTHON || '/usr/bin/python3';
const program_deadline_ms = 8000;
let broker;
let counter = 0;

before(async () => {
  if (skip) return;
  broker = await start_broker_with_listeners({
    options: { logins: [test_user], acl: [{ username: test_user.username, topic: 'open/#', access: 'readwrite' }, { username: test_user.username, topic: 'v5/#', access: 'readwrite' }, { username: test_user.username, topic: 'mixed/#', access: 'readwrite' }, { username: test_user.username, topic: 'cli/#', access: 'readwrite' }] },
    kinds: ['ws'],
  });
});

after(async () => {
  await broker?.stop();
});

async function raw5(extra = {}) {
  counter += 1;
  const client = await raw_client.open(broker.port);
  client.send(connect5({ client_id: `raw5-${counter}`, ...login, ...extra }));
  const connack = read_connack(await client.expect(packet_type.connack));
  assert.equal(connack.reason, 0);
  return client;
}

async function suback_of(client, id, filters, properties = []) {
  client.send(subscribe5(id, filters, properties));
  return read_sub_ack(await client.expect(packet_type.suback));
}

const forwarded = [
  ['payload_format_indicator', 1],
  ['content_type', 'application/json'],
  ['response_topic', 'v5/reply/here'],
  ['correlation_data', Buffer.from([0, 1, 2, 0xff])],
  ['user_property', ['b', '2']],
  ['user_property', ['a', '1']],
  ['user_property', ['b', 'again']],
];

test('every forwarded property reaches a 5.0 subscriber unchanged and in order', { skip }, async () => {
  const sub = await raw5();
  assert.deepEqual((await suback_of(sub, 1, [['v5/props', 1]])).reasons, [1]);
  const pub = await raw5();
  pub.send(publish5({ topic: 'v5/props', payload: '{"x":1}', qos: 1, packet_id: 5, properties: forwarded }));
  const ack = read_ack(await pub.expect(packet_type.puback));
  assert.deepEqual(ack, { packet_id: 5, reason: 0 });
  const got = read_publish(await sub.expect(packet_type.publish));
  assert.equal(got.payload.toString(), '{"x":1}');
  assert.deepEqual(got.properties, forwarded);
  sub.destroy();
  pub.destroy();
});

test('QoS 0 copies, encoded once for every 5.0 subscriber, carry the properties too', { skip }, async () => {
  const subs = [await raw5(), await raw5()];
  for (const sub of subs) assert.deepEqual((await suback_of(sub, 1, [['v5/props0', 0]])).reasons, [0]);
  const pub = await raw5();
  const big = 'B'.repeat(2000); // large enough to be shared, not copied, on the way out
  for (const payload of ['small', big]) {
    pub.send(publish5({ topic: 'v5/props0', payload, properties: forwarded }));
    for (const sub of subs) {
      const got = read_publish(await sub.expect(packet_type.publish));
      assert.equal(got.qos, 0);
      assert.equal(got.payload.toString(), payload);
      assert.deepEqual(got.properties, forwarded);
    }
  }
  for (const c of [...subs, pub]) c.destroy();
});

test('a 3.1.1 subscriber gets a 5.0 publish without properties; a 5.0 one gets 3.1.1 publishes', { skip }, async () => {
  const old = await connect_mqtt_js(broker.port, { protocolVersion: 4 });
  const v5 = await connect_mqtt_js(broker.port, { protocolVersion: 5 });
  await subscribe(old.client, ['mixed/+'], 1);
  await subscribe(v5.client, ['mixed/+'], 1);
  await publish(v5.client, 'mixed/from5', 'five', { qos: 1, properties: { userProperties: { k: 'v' } } });
  await publish(old.client, 'mixed/from311', 'three', { qos: 1 });
  const at_old = await old.inbox.wait_for_topic('mixed/from5');
  assert.equal(at_old.payload, 'five');
  assert.equal(at_old.properties, undefined);
  const at_v5 = await v5.inbox.wait_for_topic('mixed/from311');
  assert.equal(at_v5.payload, 'three');
  assert.deepEqual(at_v5.properties ?? {}, {});
  const own = await v5.inbox.wait_for_topic('mixed/from5');
  assert.deepEqual({ ...own.properties.userProperties }, { k: "v" });
  await end(old.client);
  await end(v5.client);
});

test('invalid UTF-8 under payload format indicator 1 is refused with 0x99 and not delivered', { skip }, async () => {
  const sub = await raw5();
  await suback_of(sub, 1, [['v5/utf8', 1]]);
  const pub = await raw5();
  const bad = Buffer.from([0x61, 0xff, 0xfe]);
  pub.send(publish5({ topic: 'v5/utf8', payload: bad, qos: 1, packet_id: 1, properties: [['payload_format_indicator', 1]] }));
  assert.equal(read_ack(await pub.expect(packet_type.puback)).reason, 0x99);
  pub.send(publish5({ topic: 'v5/utf8', payload: bad, qos: 2, packet_id: 2, properties: [['payload_format_indicator', 1]] }));
  assert.equal(read_ack(await pub.expect(packet_type.pubrec)).reason, 0x99);
  // The same bytes without the indicator are just binary.
  pub.send(publish5({ topic: 'v5/utf8', payload: bad, qos: 1, packet_id: 3 }));
  assert.equal(read_ack(await pub.expect(packet_type.puback)).reason, 0);
  const got = read_publish(await sub.expect(packet_type.publish));
  assert.deepEqual(got.payload, bad);
  assert.equal(prop(got.properties, 'payload_format_indicator'), undefined);
  sub.destroy();
  pub.destroy();
});

test('PUBACK and PUBREC say 0x10 when nobody subscribes, 0x87 when the ACL denies', { skip }, async () => {
  const pub = await raw5();
  pub.send(publish5({ topic: 'v5/nobody/here', qos: 1, packet_id: 1 }));
  assert.deepEqual(read_ack(await pub.expect(packet_type.puback)), { packet_id: 1, reason: 0x10 });
  pub.send(publish5({ topic: 'v5/nobody/here', qos: 2, packet_id: 2 }));
  assert.deepEqual(read_ack(await pub.expect(packet_type.pubrec)), { packet_id: 2, reason: 0x10 });
  pub.send(publish5({ topic: 'closed/topic', qos: 1, packet_id: 3 }));
  assert.deepEqual(read_ack(await pub.expect(packet_type.puback)), { packet_id: 3, reason: 0x87 });
  pub.destroy();
});

test('SUBACK gives a reason per filter: granted QoS, 0x87 ACL, 0x8F invalid filter or share name', { skip }, async () => {
  const sub = await raw5();
  const ack = await suback_of(sub, 7, [
    ['v5/ok', 2],
    ['closed/#', 1],
    ['v5/bad#', 0],
    ['$share/group/v5/x', 1],
    ['$share/gr+oup/v5/x', 1],
    ['$share/group', 1],
  ]);
  assert.equal(ack.packet_id, 7);
  assert.deepEqual(ack.reasons, [2, 0x87, 0x8f, 1, 0x8f, 0x8f]);
  await sub.ping();
  sub.destroy();
});

// "v5/deep/x/x/...": `levels` levels in all. The broker takes at most 201 (as Mosquitto).
const deep = (levels) => ['v5', 'deep', ...Array(levels - 2).fill('x')].join('/');

test('201 topic levels work end to end; 202 get SUBACK 0x8F and PUBLISH DISCONNECT 0x90', { skip }, async () => {
  const sub = await raw5();
  const ack = await suback_of(sub, 3, [[deep(201), 1], [deep(202), 1], [`${deep(200)}/#`, 0], [`${deep(201)}/#`, 0]]);
  assert.deepEqual(ack.reasons, [1, 0x8f, 0, 0x8f]);
  const pub = await raw5();
  pub.send(publish5({ topic: deep(201), payload: Buffer.from('deepest'), qos: 1, packet_id: 1 }));
  assert.equal(read_ack(await pub.expect(packet_type.puback)).reason, 0);
  const got = read_publish(await sub.expect(packet_type.publish));
  assert.equal(got.topic, deep(201));
  assert.equal(got.payload.toString(), 'deepest');
  pub.send(publish5({ topic: deep(202), payload: Buffer.from('too deep'), qos: 0 }));
  const p = await pub.next_packet(3000, 'DISCONNECT from the broker');
  assert.equal(p.type, packet_type.disconnect, `packet type ${p.type}, not DISCONNECT`);
  assert.equal(read_disconnect(p).reason, 0x90);
  await pub.wait_closed();
  // The subscriber got nothing of it and is still served.
  await sub.ping();
  sub.destroy();
});

test('UNSUBACK says 0x00 for a subscription that existed and 0x11 for one that did not', { skip }, async () => {
  const sub = await raw5();
  await suback_of(sub, 1, [['v5/unsub', 0]]);
  sub.send(unsubscribe5(2, ['v5/unsub', 'v5/never']));
  const ack = read_sub_ack(await sub.expect(packet_type.unsuback));
  assert.deepEqual(ack.reasons, [0, 0x11]);
  sub.destroy();
});

test('MQTT.js 5.0 over WebSocket round-trips user properties and a response topic', { skip }, async () => {
  const ws = { protocol: 'ws', path: '/mqtt', protocolVersion: 5 };
  const sub = await connect_mqtt_js(broker.ports.ws, ws);
  const pub = await connect_mqtt_js(broker.ports.ws, ws);
  await subscribe(sub.client, ['v5/ws'], 1);
  const properties = {
    userProperties: { first: '1', second: ['2', '3'] },
    responseTopic: 'v5/ws/reply',
    correlationData: Buffer.from('corr'),
    contentType: 'text/plain',
  };
  await publish(pub.client, 'v5/ws', 'over websocket', { qos: 1, properties });
  const got = await sub.inbox.wait_for_topic('v5/ws');
  assert.equal(got.payload, 'over websocket');
  assert.deepEqual({ ...got.properties.userProperties }, properties.userProperties);
  assert.equal(got.properties.responseTopic, 'v5/ws/reply');
  assert.equal(got.properties.correlationData.toString(), 'corr');
  assert.equal(got.properties.contentType, 'text/plain');
  await end(sub.client);
  await end(pub.client);
});

function cli_args(port = broker.port) {
  return ['-h', '127.0.0.1', '-p', String(port), '-u', login.username, '-P', login.password, '-V', 'mqttv5'];
}

test('mosquitto_pub -D properties reach mosquitto_sub -V mqttv5', { skip }, async () => {
  const topic = 'cli/v5';
  const sub = new child_program('stdbuf', [
    '-oL', 'mosquitto_sub', ...cli_args(), '-t', topic, '-q', '1', '-C', '1', '-W', '6', '-d',
    '-F', 'MESSAGE %t %p|%P|%R|%C|%E',
  ]);
  try {
    await sub.wait_for_output(/SUBACK/, program_deadline_ms, 'the SUBACK');
    const result = await run_program('mosquitto_pub', [
      ...cli_args(), '-t', topic, '-q', '1', '-m', 'hi five',
      '-D', 'publish', 'user-property', 'room', 'kitchen',
      '-D', 'publish', 'response-topic', 'cli/v5/reply',
      '-D', 'publish', 'content-type', 'text/plain',
      '-D', 'publish', 'message-expiry-interval', '300',
    ], program_deadline_ms);
    assert.equal(result.code, 0, result.describe);
    const line = await sub.wait_for_output(/^MESSAGE /, program_deadline_ms, 'the message');
    const [, rest] = line.split('MESSAGE cli/v5 ');
    const [payload, user, response, content, expiry] = rest.split('|');
    assert.equal(payload, 'hi five');
    assert.equal(user, 'room:kitchen');
    assert.equal(response, 'cli/v5/reply');
    assert.equal(content, 'text/plain');
    assert.ok(Number(expiry) > 295 && Number(expiry) <= 300, `expiry ${expiry}`);
    assert.equal((await sub.wait_exit(program_deadline_ms)).code, 0, sub.describe());
  } finally {
    sub.kill();
  }
});

test('mosquitto_pub -V mqttv5 with a wrong password is refused', { skip }, async () => {
  const result = await run_program('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(broker.port), '-u', login.username, '-P', 'wrong',
    '-V', 'mqttv5', '-t', 'cli/refused', '-m', 'x',
  ], program_deadline_ms);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /bad user name or password/i);
});

test('paho-mqtt with MQTTv5 round-trips a message with its properties', { skip }, async () => {
  const result = await run_program(python, [
    paho_script, '--port', String(broker.port), '--username', login.username,
    '--password', login.password, '--protocol', '5', '--client-id', 'paho-v5',
    '--topic', 'cli/paho5', '--payload', 'from paho 5',
  ], program_deadline_ms);
  assert.equal(result.code, 0, `paho client failed\n${result.describe}`);
  const out = JSON.parse(result.stdout.trim());
  assert.equal(out.connack, 0);
  assert.deepEqual(out.granted, [1]);
  assert.equal(out.received.payload, 'from paho 5');
  assert.deepEqual(out.received.properties, {
    user: [['origin', 'paho'], ['order', '2']],
    response_topic: 'cli/paho5/reply',
    correlation_data: 'req-7',
    content_type: 'text/plain',
  });
});
