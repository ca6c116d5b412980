// QoS 0, 1 and 2 in both directions: the acknowledgement flows with their packet ids, exactly-once
// for QoS 2, and delivery at no more than the subscription's QoS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const { packet_type } = bytes;
let broker;

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

function raw_login(client_id) {
  return { client_id, username: test_user.username, password: test_user.password };
}

// A raw client subscribed to `filter` at `qos`, SUBACK checked.
async function raw_subscriber(client_id, filter, qos) {
  const client = await raw_client.connect_accepted(broker.port, raw_login(client_id));
  client.send(bytes.subscribe(1, [[filter, qos]]));
  const suback = await client.expect(packet_type.suback);
  assert.deepEqual([...suback.body], [0, 1, qos]);
  return client;
}

test('SUBACK grants each requested QoS', async () => {
  const c = await connect_mqtt_js(broker.port);
  assert.deepEqual(await subscribe(c.client, ['grant/0'], 0), [0]);
  assert.deepEqual(await subscribe(c.client, ['grant/1'], 1), [1]);
  assert.deepEqual(await subscribe(c.client, ['grant/2'], 2), [2]);
  await end(c.client);
});

for (const qos of [0, 1, 2]) {
  test(`QoS ${qos} round trip between MQTT.js clients`, async () => {
    const sub = await connect_mqtt_js(broker.port);
    const pub = await connect_mqtt_js(broker.port);
    await subscribe(sub.client, [`qos/${qos}`], qos);
    await publish(pub.client, `qos/${qos}`, `at ${qos}`, { qos });
    const m = await sub.inbox.wait_for_topic(`qos/${qos}`);
    assert.equal(m.payload, `at ${qos}`);
    assert.equal(m.qos, qos);
    if (qos > 0) assert.ok(m.message_id > 0, 'a QoS > 0 delivery has a non-zero packet id');
    await end(sub.client);
    await end(pub.client);
  });
}

test('a QoS 1 PUBLISH is answered by PUBACK with its packet id', async () => {
  const client = await raw_client.connect_accepted(broker.port, raw_login('raw-q1-pub'));
  client.send(bytes.publish({ topic: 'qos/raw1', payload: 'x', qos: 1, packet_id: 0x1234 }));
  const puback = await client.expect(packet_type.puback);
  assert.equal(puback.packet_id, 0x1234);
  assert.equal(puback.flags, 0);
  client.destroy();
});

test('a QoS 2 PUBLISH runs PUBREC, PUBREL, PUBCOMP with its packet id', async () => {
  const client = await raw_client.connect_accepted(broker.port, raw_login('raw-q2-pub'));
  client.send(bytes.publish({ topic: 'qos/raw2', payload: 'x', qos: 2, packet_id: 0x0102 }));
  const pubrec = await client.expect(packet_type.pubrec);
  assert.equal(pubrec.packet_id, 0x0102);
  client.send(bytes.pubrel(0x0102));
  const pubcomp = await client.expect(packet_type.pubcomp);
  assert.equal(pubcomp.packet_id, 0x0102);
  client.destroy();
});

test('a QoS 1 delivery carries a packet id and is settled by PUBACK', async () => {
  const sub = await raw_subscriber('raw-q1-sub', 'qos/deliver1', 1);
  const pub = await connect_mqtt_js(broker.port);
  await publish(pub.client, 'qos/deliver1', 'one', { qos: 1 });
  const p = await sub.expect(packet_type.publish);
  assert.equal(p.qos, 1);
  assert.equal(p.dup, false);
  assert.notEqual(p.packet_id, 0);
  assert.equal(p.payload, 'one');
  sub.send(bytes.puback(p.packet_id));
  await sub.ping();
  sub.destroy();
  await end(pub.client);
});

test('a QoS 2 delivery runs PUBLISH, PUBREC, PUBREL, PUBCOMP to the subscriber', async () => {
  const sub = await raw_subscriber('raw-q2-sub', 'qos/deliver2', 2);
  const pub = await connect_mqtt_js(broker.port);
  await publish(pub.client, 'qos/deliver2', 'two', { qos: 2 });
  const p = await sub.expect(packet_type.publish);
  assert.equal(p.qos, 2);
  assert.notEqual(p.packet_id, 0);
  sub.send(bytes.pubrec(p.packet_id));
  const pubrel = await sub.expect(packet_type.pubrel);
  // [MQTT-3.6.1-1] PUBREL carries the flags 0010.
  assert.equal(pubrel.flags, 0x2);
  assert.equal(pubrel.packet_id, p.packet_id);
  sub.send(bytes.pubcomp(p.packet_id));
  await sub.ping();
  assert.equal(sub.packets.length, 0, 'nothing more after the flow');
  sub.destroy();
  await end(pub.client);
});

test('in-flight QoS 1 deliveries to one subscriber have distinct packet ids', async () => {
  // [MQTT-2.3.1-2]
  const sub = await raw_subscriber('raw-ids', 'qos/ids', 1);
  const pub = await connect_mqtt_js(broker.port);
  for (let i = 0; i < 5; i++) await publish(pub.client, 'qos/ids', `m${i}`, { qos: 1 });
  const received = [];
  for (let i = 0; i < 5; i++) received.push(await sub.expect(packet_type.publish));
  assert.deepEqual(
    received.map((p) => p.payload),
    ['m0', 'm1', 'm2', 'm3', 'm4'],
  );
  const ids = received.map((p) => p.packet_id);
  assert.equal(new Set(ids).size, 5, `packet ids ${ids}`);
  assert.ok(ids.every((id) => id > 0));
  for (const id of ids) sub.send(bytes.puback(id));
  await sub.ping();
  sub.destroy();
  await end(pub.client);
});

test('a QoS 2 PUBLISH resent with DUP before PUBREL is delivered once', async () => {
  const sub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['qos/once'], 2);
  const pub = await raw_client.connect_accepted(broker.port, raw_login('raw-once'));
  const first = { topic: 'qos/once', payload: 'only once', qos: 2, packet_id: 7 };
  pub.send(bytes.publish(first));
  assert.equal((await pub.expect(packet_type.pubrec)).packet_id, 7);
  // The sender did not see PUBREC in time and resends [MQTT-4.3.3-2]: same id, DUP set.
  pub.send(bytes.publish({ ...first, dup: true }));
  assert.equal((await pub.expect(packet_type.pubrec)).packet_id, 7);
  pub.send(bytes.pubrel(7));
  assert.equal((await pub.expect(packet_type.pubcomp)).packet_id, 7);
  // A second QoS 2 message from the same sender marks the end: order is kept [MQTT-4.6.0-3].
  pub.send(bytes.publish({ topic: 'qos/once', payload: 'marker', qos: 2, packet_id: 8 }));
  assert.equal((await pub.expect(packet_type.pubrec)).packet_id, 8);
  pub.send(bytes.pubrel(8));
  assert.equal((await pub.expect(packet_type.pubcomp)).packet_id, 8);
  await sub.inbox.wait_for((m) => m.payload === 'marker', 5000, 'the marker');
  assert.deepEqual(
    sub.inbox.on_topic('qos/once').map((m) => m.payload),
    ['only once', 'marker'],
  );
  pub.destroy();
  await end(sub.client);
});

test('delivery QoS is the lower of the publication and the subscription QoS', async () => {
  const subs = {};
  for (const qos of [0, 1, 2]) {
    subs[qos] = await connect_mqtt_js(broker.port);
    await subscribe(subs[qos].client, ['qos/down/+'], qos);
  }
  const pub = await connect_mqtt_js(broker.port);
  for (const pub_qos of [0, 1, 2]) {
    await publish(pub.client, `qos/down/${pub_qos}`, `published at ${pub_qos}`, { qos: pub_qos });
  }
  for (const sub_qos of [0, 1, 2]) {
    for (const pub_qos of [0, 1, 2]) {
      const m = await subs[sub_qos].inbox.wait_for_topic(`qos/down/${pub_qos}`);
      const why = `published ${pub_qos}, subscribed ${sub_qos}`;
      assert.equal(m.qos, Math.min(pub_qos, sub_qos), why);
    }
  }
  for (const s of Object.values(subs)) await end(s.client);
  await end(pub.client);
});
