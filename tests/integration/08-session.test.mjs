// Persistent sessions (clean session 0): subscriptions and undelivered QoS 1/2 messages survive a
// reconnect, unacknowledged ones are resent with DUP [MQTT-4.4.0-1]; clean session 1 discards all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const { packet_type } = bytes;
let broker;
let publisher;

before(async () => {
  broker = await start_broker();
  publisher = await connect_mqtt_js(broker.port);
});

after(async () => {
  if (publisher) await end(publisher.client);
  await broker?.stop();
});

function login(client_id, clean) {
  return { client_id, clean, username: test_user.username, password: test_user.password };
}

async function connect_session(client_id, clean) {
  const { client, connack } = await raw_client.connect(broker.port, login(client_id, clean));
  assert.equal(connack.return_code, 0);
  return { client, session_present: connack.session_present };
}

async function subscribe_raw(client, filter, qos) {
  client.send(bytes.subscribe(1, [[filter, qos]]));
  await client.expect(packet_type.suback);
}

// DISCONNECT, then wait until the broker has closed its side: the session is offline after that.
async function disconnect(client) {
  client.send(bytes.disconnect());
  client.socket.end();
  await client.wait_closed();
}

// Ends a persistent session so that it does not linger in the broker.
async function discard_session(client_id) {
  const { client } = await connect_session(client_id, true);
  await disconnect(client);
}

test('a persistent session keeps its subscription across a reconnect', async () => {
  const first = await connect_session('keep-sub', false);
  assert.equal(first.session_present, false, 'a new session');
  await subscribe_raw(first.client, 'session/keep', 1);
  await disconnect(first.client);

  const again = await connect_session('keep-sub', false);
  // [MQTT-3.2.2-2]
  assert.equal(again.session_present, true);
  await publish(publisher.client, 'session/keep', 'still subscribed', { qos: 1 });
  const p = await again.client.expect(packet_type.publish);
  assert.equal(p.payload, 'still subscribed');
  again.client.send(bytes.puback(p.packet_id));
  await disconnect(again.client);
  await discard_session('keep-sub');
});

test('QoS 1 and 2 messages published while offline are delivered on reconnect', async () => {
  const first = await connect_session('offline', false);
  await subscribe_raw(first.client, 'session/offline', 2);
  await disconnect(first.client);
  for (let i = 0; i < 3; i++) {
    await publish(publisher.client, 'session/offline', `queued ${i}`, { qos: 1 });
  }
  await publish(publisher.client, 'session/offline', 'queued at 2', { qos: 2 });

  const again = await connect_session('offline', false);
  assert.equal(again.session_present, true);
  const got = [];
  while (got.length < 4) {
    const p = await again.client.next_packet(3000, 'the queued messages');
    if (p.type === packet_type.pubrel) {
      // The QoS 2 flow's PUBREL may come before or after the next PUBLISH.
      again.client.send(bytes.pubcomp(p.body.readUInt16BE(0)));
      continue;
    }
    assert.equal(p.type, packet_type.publish);
    const m = bytes.decode_publish(p);
    got.push(m);
    again.client.send(m.qos === 1 ? bytes.puback(m.packet_id) : bytes.pubrec(m.packet_id));
  }
  // Order is kept per topic and QoS [MQTT-4.6.0-6].
  assert.deepEqual(
    got.filter((m) => m.qos === 1).map((m) => m.payload),
    ['queued 0', 'queued 1', 'queued 2'],
  );
  assert.deepEqual(
    got.filter((m) => m.qos === 2).map((m) => m.payload),
    ['queued at 2'],
  );
  await disconnect(again.client);
  await discard_session('offline');
});

test('an unacknowledged QoS 1 delivery is resent with DUP=1 after reconnect', async () => {
  const first = await connect_session('no-ack', false);
  await subscribe_raw(first.client, 'session/noack', 1);
  await publish(publisher.client, 'session/noack', 'ack me', { qos: 1 });
  const original = await first.client.expect(packet_type.publish);
  assert.equal(original.dup, false);
  // Gone without PUBACK and without DISCONNECT.
  first.client.destroy();
  await first.client.wait_closed();

  const again = await connect_session('no-ack', false);
  assert.equal(again.session_present, true);
  const resent = await again.client.expect(packet_type.publish);
  assert.equal(resent.payload, 'ack me');
  assert.equal(resent.dup, true);
  assert.equal(resent.qos, 1);
  assert.equal(resent.packet_id, original.packet_id);
  again.client.send(bytes.puback(resent.packet_id));
  // Settled now: a third connection gets nothing.
  await disconnect(again.client);
  const third = await connect_session('no-ack', false);
  await third.client.ping();
  assert.equal(third.client.packets.length, 0);
  await disconnect(third.client);
  await discard_session('no-ack');
});

test('a QoS 2 delivery interrupted after PUBREC resumes with PUBREL after reconnect', async () => {
  const first = await connect_session('no-comp', false);
  await subscribe_raw(first.client, 'session/nocomp', 2);
  await publish(publisher.client, 'session/nocomp', 'twice?', { qos: 2 });
  const p = await first.client.expect(packet_type.publish);
  first.client.send(bytes.pubrec(p.packet_id));
  const pubrel = await first.client.expect(packet_type.pubrel);
  assert.equal(pubrel.packet_id, p.packet_id);
  first.client.destroy();
  await first.client.wait_closed();

  const again = await connect_session('no-comp', false);
  // [MQTT-4.4.0-1] the PUBREL is resent, not the PUBLISH.
  const resent = await again.client.expect(packet_type.pubrel);
  assert.equal(resent.packet_id, p.packet_id);
  again.client.send(bytes.pubcomp(p.packet_id));
  await again.client.ping();
  await disconnect(again.client);
  await discard_session('no-comp');
});

test('clean session 1 discards the stored session', async () => {
  const first = await connect_session('cleaned', false);
  await subscribe_raw(first.client, 'session/cleaned', 1);
  await disconnect(first.client);

  const clean = await connect_session('cleaned', true);
  // [MQTT-3.2.2-1] clean session 1 always answers session present 0.
  assert.equal(clean.session_present, false);
  await disconnect(clean.client);

  await publish(publisher.client, 'session/cleaned', 'nobody listens', { qos: 1 });
  const after_clean = await connect_session('cleaned', false);
  assert.equal(after_clean.session_present, false);
  // Queued messages would come right after CONNACK, ahead of the PINGRESP.
  await after_clean.client.ping();
  assert.equal(after_clean.client.packets.length, 0);
  await disconnect(after_clean.client);
  await discard_session('cleaned');
});

test('a clean session 1 connection leaves no session behind', async () => {
  const first = await connect_session('transient', true);
  await subscribe_raw(first.client, 'session/transient', 1);
  await disconnect(first.client);
  const again = await connect_session('transient', false);
  assert.equal(again.session_present, false);
  await disconnect(again.client);
  await discard_session('transient');
});
