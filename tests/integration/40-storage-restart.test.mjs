// Durable storage across a clean restart: retained messages (Home Assistant discovery lives
// there), persistent sessions with queued QoS 1/2 messages, and QoS 2 flows cut mid-way.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish, subscribe, inbox } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';
import { wait_until } from '../support/deadline.mjs';

const { packet_type } = bytes;
// Our store only: Mosquitto's test configuration runs without persistence.
const skip = is_mosquitto ? 'the Mosquitto reference runs without persistence' : false;
const dirs = [];

function data_dir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-storage-'));
  dirs.push(dir);
  return dir;
}

after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function login(client_id, clean) {
  return { client_id, clean, username: test_user.username, password: test_user.password };
}

async function session(port, client_id, clean = false) {
  const { client, connack } = await raw_client.connect(port, login(client_id, clean));
  assert.equal(connack.return_code, 0);
  return { client, present: connack.session_present };
}

test('retained messages survive a restart, deleted ones stay deleted', { skip }, async () => {
  const dir = data_dir();
  let broker = await start_broker({ data_dir: dir });
  const pub = await connect_mqtt_js(broker.port);
  for (let i = 0; i < 50; i++) {
    await publish(pub.client, `homeassistant/sensor/s${i}/config`, `{"n":${i}}`, {
      qos: 1,
      retain: true,
    });
  }
  await publish(pub.client, 'homeassistant/sensor/s7/config', '', { qos: 1, retain: true });
  await end(pub.client);
  await broker.stop();
  assert.equal(broker.exit_status.code, 0);

  broker = await start_broker({ data_dir: dir });
  try {
    const sub = await connect_mqtt_js(broker.port);
    const box = new inbox(sub.client);
    await subscribe(sub.client, 'homeassistant/#', 1);
    await wait_until(() => box.messages.length >= 49, 5000, 'the 49 retained discovery messages');
    const seen = new Map(box.messages.map((m) => [m.topic, m.payload]));
    assert.equal(seen.size, 49);
    assert.ok(box.messages.every((m) => m.retain), 'delivered as retained [MQTT-3.3.1-8]');
    assert.equal(seen.has('homeassistant/sensor/s7/config'), false);
    assert.equal(seen.get('homeassistant/sensor/s42/config'), '{"n":42}');
    await end(sub.client);
  } finally {
    await broker.stop();
  }
});

test('a persistent session keeps its subscription and queued QoS 1 and 2 messages', { skip }, async () => {
  const dir = data_dir();
  let broker = await start_broker({ data_dir: dir });
  const first = await session(broker.port, 'durable-sub');
  first.client.send(bytes.subscribe(1, [['durable/#', 2]]));
  await first.client.expect(packet_type.suback);
  first.client.send(bytes.disconnect());
  await first.client.wait_closed();
  const pub = await connect_mqtt_js(broker.port);
  await publish(pub.client, 'durable/a', 'one', { qos: 1 });
  await publish(pub.client, 'durable/b', 'two', { qos: 2 });
  await end(pub.client);
  await broker.stop();

  broker = await start_broker({ data_dir: dir });
  try {
    const again = await session(broker.port, 'durable-sub');
    assert.equal(again.present, true, 'session present after the restart [MQTT-3.2.2-2]');
    const a = await again.client.expect(packet_type.publish);
    assert.deepEqual([a.topic, a.payload, a.qos], ['durable/a', 'one', 1]);
    again.client.send(bytes.puback(a.packet_id));
    const b = await again.client.expect(packet_type.publish);
    assert.deepEqual([b.topic, b.payload, b.qos], ['durable/b', 'two', 2]);
    again.client.send(bytes.pubrec(b.packet_id));
    await again.client.expect(packet_type.pubrel);
    again.client.send(bytes.pubcomp(b.packet_id));
    // The subscription itself came back too: a new message arrives.
    const pub2 = await connect_mqtt_js(broker.port);
    await publish(pub2.client, 'durable/c', 'three', { qos: 1 });
    const c = await again.client.expect(packet_type.publish);
    assert.equal(c.payload, 'three');
    await end(pub2.client);
  } finally {
    await broker.stop();
  }
});

test('QoS 2 flows cut mid-way continue after a restart', { skip }, async () => {
  const dir = data_dir();
  let broker = await start_broker({ data_dir: dir });
  const receiver = await session(broker.port, 'qos2-receiver');
  receiver.client.send(bytes.subscribe(1, [['flow/#', 2]]));
  await receiver.client.expect(packet_type.suback);
  const sender = await session(broker.port, 'qos2-sender');
  sender.client.send(bytes.publish({ topic: 'flow/x', payload: 'exactly once', qos: 2, packet_id: 33 }));
  await sender.client.expect(packet_type.pubrec);  // no PUBREL yet
  const p = await receiver.client.expect(packet_type.publish);
  receiver.client.send(bytes.pubrec(p.packet_id));  // no PUBCOMP yet
  await receiver.client.expect(packet_type.pubrel);
  await broker.stop();

  broker = await start_broker({ data_dir: dir });
  try {
    const r = await session(broker.port, 'qos2-receiver');
    assert.equal(r.present, true);
    const pubrel = await r.client.expect(packet_type.pubrel);
    assert.equal(pubrel.packet_id, p.packet_id, 'PUBREL resent for the same id [MQTT-4.4.0-1]');
    r.client.send(bytes.pubcomp(p.packet_id));

    const s = await session(broker.port, 'qos2-sender');
    // The sender resends its PUBLISH: still awaiting PUBREL, so it is not delivered again.
    s.client.send(bytes.publish({ topic: 'flow/x', payload: 'exactly once', qos: 2, packet_id: 33, dup: true }));
    await s.client.expect(packet_type.pubrec);
    s.client.send(bytes.pubrel(33));
    const comp = await s.client.expect(packet_type.pubcomp);
    assert.equal(comp.packet_id, 33);
    await r.client.ping();
    assert.equal(
      r.client.packets.filter((x) => x.type === packet_type.publish).length,
      0,
      'no second delivery [MQTT-4.3.3-2]',
    );
  } finally {
    await broker.stop();
  }
});
