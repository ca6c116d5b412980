// Will messages: published on any loss of the connection but a DISCONNECT [MQTT-3.1.2-8],
// discarded after DISCONNECT [MQTT-3.1.2-10], retained when asked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { delay } from '../support/deadline.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

let broker;

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

function with_will(client_id, will, extra = {}) {
  return {
    client_id,
    username: test_user.username,
    password: test_user.password,
    will,
    ...extra,
  };
}

async function will_watcher(filter) {
  const sub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, [filter], 2);
  return sub;
}

test('the will is published when the connection drops without DISCONNECT', async () => {
  const sub = await will_watcher('will/drop');
  const client = await raw_client.connect_accepted(
    broker.port,
    with_will('will-drop', { topic: 'will/drop', payload: 'gone', qos: 1 }),
  );
  client.destroy();
  const m = await sub.inbox.wait_for_topic('will/drop');
  assert.equal(m.payload, 'gone');
  assert.equal(m.qos, 1);
  assert.equal(m.retain, false);
  await end(sub.client);
});

test('the will is published when the keep-alive expires', async () => {
  const sub = await will_watcher('will/keepalive');
  const client = await raw_client.connect_accepted(
    broker.port,
    with_will('will-keepalive', { topic: 'will/keepalive', payload: 'silent' }, { keepalive: 1 }),
  );
  // Keep-alive 1 s is enforced at 1.5 s [MQTT-3.1.2-24]; 06-keepalive checks the timing.
  // Mosquitto 2.0 checks keep-alive on a coarse timer and closes such a client after ~6 s.
  await client.wait_closed(is_mosquitto ? 8000 : 4000, 'the broker to close the silent client');
  const m = await sub.inbox.wait_for_topic('will/keepalive', 2000);
  assert.equal(m.payload, 'silent');
  await end(sub.client);
});

test('the will is published when the broker closes for a protocol error', async () => {
  const sub = await will_watcher('will/error');
  const client = await raw_client.connect_accepted(
    broker.port,
    with_will('will-error', { topic: 'will/error', payload: 'broken' }),
  );
  // QoS 3 is malformed [MQTT-3.3.1-4].
  client.send(Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]));
  await client.wait_closed();
  const m = await sub.inbox.wait_for_topic('will/error');
  assert.equal(m.payload, 'broken');
  await end(sub.client);
});

test('the will is not published after DISCONNECT', async () => {
  const sub = await will_watcher('will/clean/#');
  const client = await raw_client.connect_accepted(
    broker.port,
    with_will('will-clean', { topic: 'will/clean/x', payload: 'must not appear' }),
  );
  client.send(bytes.disconnect());
  client.socket.end();
  await client.wait_closed();
  await publish(sub.client, 'will/clean/marker', 'marker');
  await sub.inbox.wait_for_topic('will/clean/marker');
  // A will sent late by a broken broker would still be in flight: give it a moment to show.
  await delay(200);
  assert.deepEqual(sub.inbox.on_topic('will/clean/x'), []);
  await end(sub.client);
});

test('a will with RETAIN is kept as a retained message', async () => {
  const sub = await will_watcher('will/retained');
  const client = await raw_client.connect_accepted(
    broker.port,
    with_will('will-retain', { topic: 'will/retained', payload: 'last words', retain: true }),
  );
  client.destroy();
  const live = await sub.inbox.wait_for_topic('will/retained');
  assert.equal(live.payload, 'last words');
  await end(sub.client);
  const later = await connect_mqtt_js(broker.port);
  await subscribe(later.client, ['will/retained'], 1);
  const kept = await later.inbox.wait_for_topic('will/retained');
  assert.equal(kept.payload, 'last words');
  assert.equal(kept.retain, true);
  await end(later.client);
});
