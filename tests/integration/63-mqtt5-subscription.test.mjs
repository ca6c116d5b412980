// MQTT 5.0 subscriptions and flow control: No Local, Retain As Published, Retain Handling 0/1/2,
// Subscription Identifiers (all matching ones on one copy), overlapping subscriptions at the
// highest QoS [MQTT-3.3.5-1], Receive Maximum both ways, Maximum Packet Size of the client, and
// topic aliases both ways. 02-subpub, 03-retain and 04-qos are the 3.1.1 twins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test_user, is_mosquitto } from '../support/broker.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type } from '../support/mqtt_bytes.mjs';
import {
  connect5,
  publish5,
  puback5,
  read_ack,
  read_connack,
  read_disconnect,
  read_publish,
  read_sub_ack,
  subscribe5,
  prop,
  all_of,
} from '../support/mqtt5_bytes.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';

const skip = is_mosquitto && 'our broker: not run against Mosquitto';
const login = { username: test_user.username, password: test_user.password };
let broker;
let counter = 0;

before(async () => {
  if (skip) return;
  broker = await start_broker_with_listeners({ kinds: ['ws'] });
});

after(async () => {
  await broker?.stop();
});

async function open5(properties = []) {
  counter += 1;
  const client = await raw_client.open(broker.port);
  client.send(connect5({ client_id: `sub5-${counter}`, properties, ...login }));
  assert.equal(read_connack(await client.expect(packet_type.connack)).reason, 0);
  return client;
}

async function sub5(client, filters, properties = [], id = 1) {
  client.send(subscribe5(id, filters, properties));
  return read_sub_ack(await client.expect(packet_type.suback)).reasons;
}

// Publishes `marker` from `client` itself (QoS 0) and collects what `client` receives before it.
async function until_marker(client, marker, ack = true) {
  client.send(publish5({ topic: marker, payload: 'marker' }));
  const seen = [];
  for (;;) {
    const p = await client.next_packet(3000, `the marker ${marker}`);
    if (p.type !== packet_type.publish) continue;
    const m = read_publish(p);
    if (m.topic === marker) return seen;
    if (ack && m.qos === 1) client.send(puback5(m.packet_id));
    seen.push(m);
  }
}

// QoS 1 and wait for PUBACK: routed before anything the test does next.
async function send_acked(client, fields) {
  counter += 1;
  const packet_id = (counter % 60000) + 1;
  client.send(publish5({ ...fields, qos: 1, packet_id }));
  const ack = read_ack(await client.expect(packet_type.puback));
  assert.equal(ack.packet_id, packet_id);
  return ack;
}

const NO_LOCAL = 0x04;
const RAP = 0x08;
const RH1 = 0x10;
const RH2 = 0x20;

test('No Local: a client does not get its own publishes back on that subscription', { skip }, async () => {
  const c = await open5();
  assert.deepEqual(await sub5(c, [['nl/own', 1 | NO_LOCAL], ['nl/marker', 0]]), [1, 0]);
  c.send(publish5({ topic: 'nl/own', payload: 'mine', qos: 1, packet_id: 1 }));
  assert.equal(read_ack(await c.expect(packet_type.puback)).reason, 0x10);
  const other = await open5();
  other.send(publish5({ topic: 'nl/own', payload: 'theirs', qos: 1, packet_id: 1 }));
  await other.expect(packet_type.puback);
  const got = await until_marker(c, 'nl/marker');
  assert.deepEqual(got.map((m) => m.payload.toString()), ['theirs']);
  c.destroy();
  other.destroy();
});

test('Retain As Published keeps RETAIN on live messages; without it RETAIN is cleared', { skip }, async () => {
  const c = await open5();
  await sub5(c, [['rap/kept', RAP], ['rap/cleared', 0], ['rap/marker', 0]]);
  const pub = await open5();
  await send_acked(pub, { topic: 'rap/kept', payload: 'a', retain: true });
  await send_acked(pub, { topic: 'rap/cleared', payload: 'b', retain: true });
  const got = await until_marker(c, 'rap/marker');
  assert.deepEqual(got.map((m) => [m.topic, m.retain]), [['rap/kept', true], ['rap/cleared', false]]);
  c.destroy();
  pub.destroy();
});

test('Retain Handling: 0 sends retained on every SUBSCRIBE, 1 only on a new one, 2 never', { skip }, async () => {
  const pub = await open5();
  pub.send(publish5({ topic: 'rh/t', payload: 'kept', retain: true, qos: 1, packet_id: 1 }));
  await pub.expect(packet_type.puback);
  const count = async (options, times) => {
    const c = await open5();
    await sub5(c, [['rh/marker', 0]]);
    // SUBACKs and retained PUBLISHes interleave: send every SUBSCRIBE, then count.
    for (let i = 0; i < times; i++) c.send(subscribe5(i + 2, [['rh/t', options]]));
    const got = await until_marker(c, 'rh/marker');
    c.destroy();
    return got.filter((m) => m.topic === 'rh/t' && m.retain).length;
  };
  assert.equal(await count(0, 2), 2);
  assert.equal(await count(RH1, 2), 1);
  assert.equal(await count(RH2, 2), 0);
  pub.destroy();
});

test('overlapping subscriptions: one copy at the highest QoS with every identifier', { skip }, async () => {
  const c = await open5();
  await sub5(c, [['ov/#', 0]], [['subscription_identifier', 7]], 1);
  await sub5(c, [['ov/+/x', 1]], [['subscription_identifier', 300]], 2);
  await sub5(c, [['ov/a/x', 2]], [], 3); // no identifier
  await sub5(c, [['ov/marker', 0]], [], 4);
  const pub = await open5();
  pub.send(publish5({ topic: 'ov/a/x', payload: 'once', qos: 2, packet_id: 1 }));
  await pub.expect(packet_type.pubrec);
  const got = await until_marker(c, 'ov/marker', false);
  assert.equal(got.length, 1, `${got.length} copies`);
  assert.equal(got[0].qos, 2);
  assert.deepEqual(all_of(got[0].properties, 'subscription_identifier').sort((a, b) => a - b), [7, 300]);
  c.destroy();
  pub.destroy();
});

test('a retained message carries the identifier of the subscription it answers', { skip }, async () => {
  const pub = await open5();
  pub.send(publish5({ topic: 'sid/retained', payload: 'r', retain: true, qos: 1, packet_id: 1 }));
  await pub.expect(packet_type.puback);
  const c = await open5();
  await sub5(c, [['sid/+', 1]], [['subscription_identifier', 42]]);
  const m = read_publish(await c.expect(packet_type.publish));
  assert.equal(m.retain, true);
  assert.deepEqual(all_of(m.properties, 'subscription_identifier'), [42]);
  c.destroy();
  pub.destroy();
});

test('a PUBLISH from a client with a subscription identifier is a protocol error', { skip }, async () => {
  const c = await open5();
  c.send(publish5({ topic: 'sid/bad', properties: [['subscription_identifier', 1]] }));
  const p = await c.next_packet(3000, 'DISCONNECT');
  assert.equal(p.type, packet_type.disconnect);
  assert.equal(read_disconnect(p).reason, 0x82);
  await c.wait_closed();
});

test('the broker keeps no more QoS 1 messages in flight than the client\'s Receive Maximum', { skip }, async () => {
  const c = await open5([['receive_maximum', 2]]);
  await sub5(c, [['rm/t', 1]]);
  const pub = await open5();
  for (let i = 1; i <= 5; i++) {
    pub.send(publish5({ topic: 'rm/t', payload: `m${i}`, qos: 1, packet_id: i }));
    await pub.expect(packet_type.puback);
  }
  const first = [read_publish(await c.expect(packet_type.publish)), read_publish(await c.expect(packet_type.publish))];
  // No third one while two wait for their PUBACK.
  await assert.rejects(c.next_packet(400, 'a third PUBLISH'), /timed out/);
  c.send(puback5(first[0].packet_id));
  const third = read_publish(await c.expect(packet_type.publish));
  assert.deepEqual([...first, third].map((m) => m.payload.toString()), ['m1', 'm2', 'm3']);
  c.destroy();
  pub.destroy();
});

test('a client exceeding the broker\'s Receive Maximum gets DISCONNECT 0x93', { skip }, async () => {
  const c = await open5();
  // 1000 QoS 2 publishes never released take the whole window; one more is one too many.
  const batch = [];
  for (let i = 1; i <= 1001; i++) batch.push(publish5({ topic: 'rm/flood', payload: 'x', qos: 2, packet_id: i }));
  c.send(Buffer.concat(batch));
  for (;;) {
    const p = await c.next_packet(5000, 'DISCONNECT 0x93');
    if (p.type === packet_type.pubrec) continue;
    assert.equal(p.type, packet_type.disconnect);
    assert.equal(read_disconnect(p).reason, 0x93);
    break;
  }
  await c.wait_closed();
});

test('a message larger than the client\'s Maximum Packet Size is skipped for that client only', { skip }, async () => {
  const small = await open5([['maximum_packet_size', 200]]);
  const big = await open5();
  await sub5(small, [['mps/#', 1], ['mps-marker/s', 0]]);
  await sub5(big, [['mps/#', 1], ['mps-marker/b', 0]]);
  const pub = await open5();
  pub.send(publish5({ topic: 'mps/large', payload: 'L'.repeat(500), qos: 1, packet_id: 1 }));
  await pub.expect(packet_type.puback);
  pub.send(publish5({ topic: 'mps/small', payload: 'tiny', qos: 1, packet_id: 2 }));
  await pub.expect(packet_type.puback);
  const at_small = await until_marker(small, 'mps-marker/s');
  assert.deepEqual(at_small.map((m) => m.topic), ['mps/small']);
  const at_big = await until_marker(big, 'mps-marker/b');
  assert.deepEqual(at_big.map((m) => m.topic), ['mps/large', 'mps/small']);
  small.destroy();
  big.destroy();
  pub.destroy();
});

test('topic aliases from the client: set once, then used alone', { skip }, async () => {
  const sub = await open5();
  await sub5(sub, [['alias/in/#', 0]]);
  const pub = await open5();
  await send_acked(pub, { topic: 'alias/in/long/topic', payload: 'one', properties: [['topic_alias', 3]] });
  await send_acked(pub, { topic: '', payload: 'two', properties: [['topic_alias', 3]] });
  const got = await until_marker(sub, 'alias/in/marker');
  assert.deepEqual(got.map((m) => [m.topic, m.payload.toString()]), [
    ['alias/in/long/topic', 'one'],
    ['alias/in/long/topic', 'two'],
  ]);
  assert.ok(got.every((m) => prop(m.properties, 'topic_alias') === undefined), 'alias forwarded');
  // An alias never set is a protocol error.
  pub.send(publish5({ topic: '', payload: 'x', properties: [['topic_alias', 4]] }));
  const p = await pub.next_packet(3000, 'DISCONNECT');
  assert.equal(read_disconnect(p).reason, 0x82);
  sub.destroy();
});

test('topic aliases from the client: the highest allowed one works; one used before any was set is refused', { skip }, async () => {
  const sub = await open5();
  await sub5(sub, [['alias/edge/#', 0]]);
  // The broker's Topic Alias Maximum is 10 (60-mqtt5-connect checks the CONNACK): 10 is allowed.
  const pub = await open5();
  await send_acked(pub, { topic: 'alias/edge/top', payload: 'one', properties: [['topic_alias', 10]] });
  await send_acked(pub, { topic: '', payload: 'two', properties: [['topic_alias', 10]] });
  const got = await until_marker(sub, 'alias/edge/marker');
  assert.deepEqual(got.map((m) => [m.topic, m.payload.toString()]), [
    ['alias/edge/top', 'one'],
    ['alias/edge/top', 'two'],
  ]);
  // A client that never set an alias has no table yet: using one is still a protocol error.
  const fresh = await open5();
  fresh.send(publish5({ topic: '', payload: 'x', properties: [['topic_alias', 1]] }));
  const p = await fresh.next_packet(3000, 'DISCONNECT');
  assert.equal(read_disconnect(p).reason, 0x82);
  fresh.destroy();
  sub.destroy();
  pub.destroy();
});

test('topic aliases towards a client that allows them: assigned by the broker', { skip }, async () => {
  const c = await open5([['topic_alias_maximum', 1]]);
  await sub5(c, [['alias/out/#', 0]]);
  const pub = await open5();
  for (const t of ['alias/out/a', 'alias/out/a', 'alias/out/b']) await send_acked(pub, { topic: t, payload: t });
  const got = await until_marker(c, 'alias/out/marker');
  assert.deepEqual(
    got.map((m) => [m.topic, prop(m.properties, 'topic_alias'), m.payload.toString()]),
    [
      ['alias/out/a', 1, 'alias/out/a'], // sets alias 1
      ['', 1, 'alias/out/a'], // uses it
      ['alias/out/b', undefined, 'alias/out/b'], // no alias left
    ],
  );
  c.destroy();
  pub.destroy();
});

test('MQTT.js over WebSocket with topic aliases and a subscription identifier', { skip }, async () => {
  const ws = { protocol: 'ws', path: '/mqtt', protocolVersion: 5 };
  const sub = await connect_mqtt_js(broker.ports.ws, { ...ws, properties: { topicAliasMaximum: 5 } });
  const pub = await connect_mqtt_js(broker.ports.ws, ws);
  await sub.client.subscribeAsync('alias/ws/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
  for (let i = 0; i < 3; i++) {
    await publish(pub.client, 'alias/ws/topic', `n${i}`, { qos: 1, properties: { topicAlias: 2 } });
  }
  for (let i = 0; i < 3; i++) {
    const m = await sub.inbox.wait_for((x) => x.payload === `n${i}`);
    assert.equal(m.topic, 'alias/ws/topic');
    assert.equal(m.properties.subscriptionIdentifier, 9);
  }
  await end(sub.client);
  await end(pub.client);
});

test('after a reconnect, resends of unacknowledged messages respect the new Receive Maximum', { skip }, async () => {
  const id = `rm-resend-${Date.now()}`;
  const connect_with = async (receive_maximum) => {
    const client = await raw_client.open(broker.port);
    client.send(connect5({
      client_id: id,
      clean: false,
      properties: [['session_expiry_interval', 60], ['receive_maximum', receive_maximum]],
      ...login,
    }));
    return { client, connack: read_connack(await client.expect(packet_type.connack)) };
  };
  const first = await connect_with(10);
  await sub5(first.client, [['rm/resend', 1]]);
  const pub = await open5();
  for (let i = 1; i <= 4; i++) await send_acked(pub, { topic: 'rm/resend', payload: `r${i}` });
  for (let i = 1; i <= 4; i++) await first.client.expect(packet_type.publish); // none acknowledged
  first.client.destroy();
  const again = await connect_with(2);
  assert.equal(again.connack.session_present, true);
  const resent = [read_publish(await again.client.expect(packet_type.publish)), read_publish(await again.client.expect(packet_type.publish))];
  assert.ok(resent.every((m) => m.dup));
  await assert.rejects(again.client.next_packet(400, 'a third resend'), /timed out/);
  again.client.send(puback5(resent[0].packet_id));
  const third = read_publish(await again.client.expect(packet_type.publish));
  assert.deepEqual([...resent, third].map((m) => m.payload.toString()), ['r1', 'r2', 'r3']);
  again.client.destroy();
  pub.destroy();
});
