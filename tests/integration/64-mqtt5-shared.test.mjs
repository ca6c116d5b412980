// Shared subscriptions "$share/<group>/<filter>" [MQTT-4.8.2]: each message to one member of a
// group, in turn; every group and every ordinary subscriber gets its own copy; a member whose
// session ends hands its unacknowledged QoS 1/2 messages to another member; no retained messages
// on a shared SUBSCRIBE; 3.1.1 and 5.0 members, TCP and WebSocket, share one group.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
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
} from '../support/mqtt5_bytes.mjs';
import { wait_until } from '../support/deadline.mjs';
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
  client.send(connect5({ client_id: `share-${counter}`, properties, ...login }));
  assert.equal(read_connack(await client.expect(packet_type.connack)).reason, 0);
  return client;
}

async function sub5(client, filters, id = 1) {
  client.send(subscribe5(id, filters));
  return read_sub_ack(await client.expect(packet_type.suback)).reasons;
}

async function publish_all(topic, payloads, qos = 1) {
  const pub = await open5();
  let id = 0;
  for (const payload of payloads) {
    id += 1;
    pub.send(publish5({ topic, payload, qos, packet_id: id }));
    await pub.expect(packet_type.puback);
  }
  pub.destroy();
}

// Every PUBLISH that arrives within `ms` of quiet, acknowledged when `ack`.
async function drain(client, ms = 300, ack = true) {
  const got = [];
  for (;;) {
    let p;
    try {
      p = await client.next_packet(ms, 'more');
    } catch {
      return got;
    }
    if (p.type !== packet_type.publish) continue;
    const m = read_publish(p);
    if (ack && m.qos === 1) client.send(puback5(m.packet_id));
    got.push(m.payload.toString());
  }
}

test('a shared group delivers each message to one member, in turn', { skip }, async () => {
  const a = await open5();
  const b = await open5();
  const plain = await open5();
  assert.deepEqual(await sub5(a, [['$share/g1/sh/turn', 1]]), [1]);
  assert.deepEqual(await sub5(b, [['$share/g1/sh/turn', 1]]), [1]);
  assert.deepEqual(await sub5(plain, [['sh/turn', 1]]), [1]);
  const payloads = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
  await publish_all('sh/turn', payloads);
  const [at_a, at_b, at_plain] = await Promise.all([drain(a), drain(b), drain(plain)]);
  assert.equal(at_a.length, 3, `a got ${at_a}`);
  assert.equal(at_b.length, 3, `b got ${at_b}`);
  assert.deepEqual([...at_a, ...at_b].sort(), payloads);
  assert.deepEqual(at_plain, payloads, 'an ordinary subscriber still gets every message');
  for (const c of [a, b, plain]) c.destroy();
});

test('two groups on one filter each get every message once', { skip }, async () => {
  const x = await open5();
  const y = await open5();
  await sub5(x, [['$share/left/sh/two', 1]]);
  await sub5(y, [['$share/right/sh/two', 1]]);
  await publish_all('sh/two', ['a', 'b', 'c']);
  const [at_x, at_y] = await Promise.all([drain(x), drain(y)]);
  assert.deepEqual(at_x, ['a', 'b', 'c']);
  assert.deepEqual(at_y, ['a', 'b', 'c']);
  x.destroy();
  y.destroy();
});

test('a member that leaves hands its unacknowledged QoS 1 messages to another member', { skip }, async () => {
  const leaving = await open5();
  await sub5(leaving, [['$share/g2/sh/handover', 1]]);
  await publish_all('sh/handover', ['h1', 'h2']);
  // It gets both (it is the only member) and acknowledges neither.
  assert.deepEqual(await drain(leaving, 300, false), ['h1', 'h2']);
  const staying = await open5();
  await sub5(staying, [['$share/g2/sh/handover', 1]]);
  leaving.destroy(); // session expiry 0: its session ends with the connection
  const got = [];
  await wait_until(
    async () => {
      got.push(...(await drain(staying, 200)));
      return got.length >= 2;
    },
    3000,
    'the handed-over messages',
  );
  assert.deepEqual(got, ['h1', 'h2']);
  staying.destroy();
});

test('a shared SUBSCRIBE gets no retained messages', { skip }, async () => {
  const pub = await open5();
  pub.send(publish5({ topic: 'sh/retained', payload: 'kept', retain: true, qos: 1, packet_id: 1 }));
  await pub.expect(packet_type.puback);
  const s = await open5();
  await sub5(s, [['$share/g3/sh/retained', 1]]);
  assert.deepEqual(await drain(s), []);
  pub.send(publish5({ topic: 'sh/retained', payload: 'live', qos: 1, packet_id: 2 }));
  await pub.expect(packet_type.puback);
  assert.deepEqual(await drain(s), ['live']);
  s.destroy();
  pub.destroy();
});

test('No Local on a shared subscription is a protocol error (0x82)', { skip }, async () => {
  const c = await open5();
  c.send(subscribe5(1, [['$share/g4/sh/nl', 0x04 | 1]]));
  const p = await c.next_packet(3000, 'DISCONNECT');
  assert.equal(p.type, packet_type.disconnect);
  assert.equal(read_disconnect(p).reason, 0x82);
  await c.wait_closed();
});

test('a 3.1.1 member over WebSocket and a 5.0 member share one group', { skip }, async () => {
  const old = await connect_mqtt_js(broker.ports.ws, { protocol: 'ws', path: '/mqtt', protocolVersion: 4 });
  const v5 = await connect_mqtt_js(broker.port, { protocolVersion: 5 });
  await subscribe(old.client, ['$share/mixed/sh/mixed'], 1);
  await subscribe(v5.client, ['$share/mixed/sh/mixed'], 1);
  const payloads = ['1', '2', '3', '4'];
  for (const p of payloads) await publish(v5.client, 'sh/mixed', p, { qos: 1 });
  await wait_until(
    () => old.inbox.messages.length + v5.inbox.messages.length === 4,
    3000,
    'all four messages',
  );
  assert.equal(old.inbox.messages.length, 2);
  assert.equal(v5.inbox.messages.length, 2);
  const all = [...old.inbox.messages, ...v5.inbox.messages].map((m) => m.payload).sort();
  assert.deepEqual(all, payloads);
  await end(old.client);
  await end(v5.client);
});

test('a shared subscription of a lasting session survives a restart', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt5-shared-restart-'));
  let own = await start_broker({ data_dir: dir });
  try {
    const connect_member = async () => {
      const client = await raw_client.open(own.port);
      client.send(connect5({
        client_id: 'shared-lasting',
        clean: false,
        properties: [['session_expiry_interval', 3600]],
        ...login,
      }));
      return { client, connack: read_connack(await client.expect(packet_type.connack)) };
    };
    const first = await connect_member();
    first.client.send(subscribe5(1, [['$share/keep/sh/restart', 1]]));
    assert.deepEqual(read_sub_ack(await first.client.expect(packet_type.suback)).reasons, [1]);
    first.client.destroy();
    await own.stop();
    own = await start_broker({ data_dir: dir });
    // The only member is offline: a QoS 1 message waits in its session.
    const pub = await raw_client.open(own.port);
    pub.send(connect5({ client_id: 'shared-pub', ...login }));
    await pub.expect(packet_type.connack);
    pub.send(publish5({ topic: 'sh/restart', payload: 'after restart', qos: 1, packet_id: 1 }));
    assert.equal(read_ack(await pub.expect(packet_type.puback)).reason, 0);
    pub.destroy();
    const back = await connect_member();
    assert.equal(back.connack.session_present, true);
    const m = read_publish(await back.client.expect(packet_type.publish));
    assert.equal(m.payload.toString(), 'after restart');
    back.client.destroy();
  } finally {
    await own.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
