// MQTT 5.0 sessions and expiry: Session Expiry Interval (0, finite, changed on DISCONNECT, kept
// across a restart), Clean Start, Message Expiry counted down while queued (also across a restart)
// and on retained messages, Will Delay Interval, will properties, DISCONNECT 0x04.
// 05-will, 08-session and 40-storage-restart are the 3.1.1 twins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type } from '../support/mqtt_bytes.mjs';
import {
  connect5,
  disconnect5,
  publish5,
  puback5,
  read_connack,
  read_disconnect,
  read_publish,
  read_sub_ack,
  subscribe5,
  prop,
  all_of,
} from '../support/mqtt5_bytes.mjs';
import { delay } from '../support/deadline.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';

const skip = is_mosquitto && 'timings of our tick: not run against Mosquitto';
const login = { username: test_user.username, password: test_user.password };
const dirs = [];
let broker;

before(async () => {
  if (skip) return;
  broker = await start_broker_with_listeners({ kinds: ['ws'] });
});

after(async () => {
  await broker?.stop();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function open5(client_id, { expiry, clean = false, will, port = broker.port, properties = [] } = {}) {
  const client = await raw_client.open(port);
  const props = [...properties];
  if (expiry !== undefined) props.push(['session_expiry_interval', expiry]);
  client.send(connect5({ client_id, clean, will, properties: props, ...login }));
  const connack = read_connack(await client.expect(packet_type.connack));
  assert.equal(connack.reason, 0);
  return { client, present: connack.session_present };
}

async function subscribe_qos1(client, filter) {
  client.send(subscribe5(1, [[filter, 1]]));
  assert.deepEqual(read_sub_ack(await client.expect(packet_type.suback)).reasons, [1]);
}

async function publish_qos1(topic, payload, properties = [], retain = false) {
  const { client } = await open5(`pub-${Date.now()}-${Math.random()}`, { clean: true });
  client.send(publish5({ topic, payload, qos: 1, packet_id: 1, properties, retain }));
  await client.expect(packet_type.puback);
  client.send(disconnect5());
  await client.wait_closed();
}

async function goodbye(client, properties = [], reason = 0) {
  client.send(disconnect5(reason, properties));
  await client.wait_closed();
}

// Nothing on `client` until a marker published on `marker` arrives: returns what came before it.
async function before_marker(client, marker) {
  await publish_qos1(marker, 'marker');
  const seen = [];
  for (;;) {
    const p = await client.next_packet(3000, 'the marker');
    if (p.type !== packet_type.publish) continue;
    const m = read_publish(p);
    if (m.qos > 0) client.send(puback5(m.packet_id));
    if (m.topic === marker) return seen;
    seen.push(m);
  }
}

test('session expiry 0 ends the session with its connection, even without Clean Start', { skip }, async () => {
  const first = await open5('s5-zero');
  await subscribe_qos1(first.client, 's5/zero');
  await goodbye(first.client);
  const again = await open5('s5-zero');
  assert.equal(again.present, false);
  again.client.destroy();
});

test('a finite session expiry keeps the session and its messages, then ends it', { skip }, async () => {
  const first = await open5('s5-finite', { expiry: 2 });
  await subscribe_qos1(first.client, 's5/finite');
  await goodbye(first.client);
  await publish_qos1('s5/finite', 'while away');
  const back = await open5('s5-finite', { expiry: 1 });
  assert.equal(back.present, true);
  const m = read_publish(await back.client.expect(packet_type.publish));
  assert.equal(m.payload.toString(), 'while away');
  back.client.send(puback5(m.packet_id));
  await goodbye(back.client);
  await delay(2300); // 1 s expiry, checked every second
  const late = await open5('s5-finite', { expiry: 1 });
  assert.equal(late.present, false);
  late.client.destroy();
});

test('Clean Start discards a session that has not expired', { skip }, async () => {
  const first = await open5('s5-clean', { expiry: 600 });
  await subscribe_qos1(first.client, 's5/clean');
  await goodbye(first.client);
  await publish_qos1('s5/clean', 'gone with the session');
  const fresh = await open5('s5-clean', { expiry: 600, clean: true });
  assert.equal(fresh.present, false);
  // A message still queued in the old session would arrive before the marker.
  await subscribe_qos1(fresh.client, 's5/clean-marker');
  assert.deepEqual(await before_marker(fresh.client, 's5/clean-marker'), []);
  fresh.client.destroy();
});

test('DISCONNECT may shorten the session expiry to 0, which ends the session', { skip }, async () => {
  const first = await open5('s5-shorten', { expiry: 600 });
  await subscribe_qos1(first.client, 's5/shorten');
  await goodbye(first.client, [['session_expiry_interval', 0]]);
  const again = await open5('s5-shorten', { expiry: 600 });
  assert.equal(again.present, false);
  again.client.destroy();
});

test('DISCONNECT setting an expiry after CONNECT said 0 is a protocol error (0x82)', { skip }, async () => {
  const first = await open5('s5-lengthen');
  first.client.send(disconnect5(0, [['session_expiry_interval', 60]]));
  const p = await first.client.next_packet(3000, 'DISCONNECT from the broker');
  assert.equal(p.type, packet_type.disconnect);
  assert.equal(read_disconnect(p).reason, 0x82);
  await first.client.wait_closed();
});

test('a queued message is forwarded with the expiry it has left, and dropped once expired', { skip }, async () => {
  const sub = await open5('s5-msg-expiry', { expiry: 600 });
  await subscribe_qos1(sub.client, 's5/expiry/+');
  await goodbye(sub.client);
  await publish_qos1('s5/expiry/short', 'too late', [['message_expiry_interval', 1]]);
  await publish_qos1('s5/expiry/long', 'in time', [['message_expiry_interval', 30]]);
  await delay(2100);
  const back = await open5('s5-msg-expiry', { expiry: 600 });
  const got = await before_marker(back.client, 's5/expiry/marker');
  assert.deepEqual(got.map((m) => m.payload.toString()), ['in time']);
  const left = prop(got[0].properties, 'message_expiry_interval');
  assert.ok(left >= 26 && left <= 28, `expiry left ${left} s, after 2 s of 30`);
  back.client.destroy();
});

test('a retained message expires too', { skip }, async () => {
  await publish_qos1('s5/retained/expiring', 'soon gone', [['message_expiry_interval', 1]], true);
  await publish_qos1('s5/retained/lasting', 'stays', [], true);
  const early = await open5('s5-ret-early', { clean: true });
  early.client.send(subscribe5(1, [['s5/retained/+', 1]]));
  await early.client.expect(packet_type.suback);
  const first = await before_marker(early.client, 's5/retained/marker');
  assert.deepEqual(first.map((m) => m.payload.toString()).sort(), ['soon gone', 'stays']);
  assert.ok(first.every((m) => m.retain));
  early.client.destroy();
  await delay(1500);
  const late = await open5('s5-ret-late', { clean: true });
  late.client.send(subscribe5(1, [['s5/retained/+', 1]]));
  await late.client.expect(packet_type.suback);
  const second = await before_marker(late.client, 's5/retained/marker2');
  assert.deepEqual(second.map((m) => m.payload.toString()), ['stays']);
  late.client.destroy();
});

test('a will waits for its Will Delay Interval and carries its properties', { skip }, async () => {
  const watcher = await open5('s5-will-watch', { clean: true });
  await subscribe_qos1(watcher.client, 's5/will/#');
  const will = {
    topic: 's5/will/delayed',
    payload: 'gone',
    qos: 1,
    properties: [
      ['will_delay_interval', 2],
      ['content_type', 'text/plain'],
      ['user_property', ['why', 'test']],
      ['message_expiry_interval', 120],
    ],
  };
  const dying = await open5('s5-will-delay', { expiry: 60, will });
  const dropped_at = Date.now();
  dying.client.destroy(); // no DISCONNECT: the will is due
  const p = await watcher.client.expect(packet_type.publish, 5000);
  const waited = Date.now() - dropped_at;
  assert.ok(waited >= 1500, `the will came after ${waited} ms, before its 2 s delay`);
  const m = read_publish(p);
  assert.equal(m.topic, 's5/will/delayed');
  assert.equal(prop(m.properties, 'content_type'), 'text/plain');
  assert.deepEqual(all_of(m.properties, 'user_property'), [['why', 'test']]);
  assert.ok(prop(m.properties, 'message_expiry_interval') <= 120);
  assert.equal(prop(m.properties, 'will_delay_interval'), undefined, 'the delay is the will\'s own');
  watcher.client.destroy();
});

test('a reconnect within the Will Delay Interval cancels the will', { skip }, async () => {
  const watcher = await open5('s5-will-watch2', { clean: true });
  await subscribe_qos1(watcher.client, 's5/will2/#');
  const will = { topic: 's5/will2/cancelled', payload: 'never', properties: [['will_delay_interval', 2]] };
  const dying = await open5('s5-will-cancel', { expiry: 60, will });
  dying.client.destroy();
  await delay(300);
  const back = await open5('s5-will-cancel', { expiry: 60 });
  assert.equal(back.present, true);
  await delay(2500);
  assert.deepEqual(await before_marker(watcher.client, 's5/will2/marker'), []);
  back.client.destroy();
  watcher.client.destroy();
});

test('the will goes out when the session ends before the Will Delay Interval', { skip }, async () => {
  const watcher = await open5('s5-will-watch3', { clean: true });
  await subscribe_qos1(watcher.client, 's5/will3/#');
  const will = { topic: 's5/will3/at-session-end', payload: 'ended', properties: [['will_delay_interval', 30]] };
  const dying = await open5('s5-will-end', { expiry: 1, will });
  dying.client.destroy();
  const p = await watcher.client.expect(packet_type.publish, 4000);
  assert.equal(read_publish(p).topic, 's5/will3/at-session-end');
  watcher.client.destroy();
});

test('a takeover holds back a delayed will, unless Clean Start ends the session', { skip }, async () => {
  const watcher = await open5('s5-will-watch5', { clean: true });
  await subscribe_qos1(watcher.client, 's5/will5/#');
  const will = (topic) => ({ topic, payload: 'x', properties: [['will_delay_interval', 30]] });
  const kept = await open5('s5-will-keep', { expiry: 60, will: will('s5/will5/held') });
  const resumed = await open5('s5-will-keep', { expiry: 60 }); // takes over, session resumed
  assert.equal(resumed.present, true);
  const ended = await open5('s5-will-end2', { expiry: 60, will: will('s5/will5/session-ended') });
  const fresh = await open5('s5-will-end2', { expiry: 60, clean: true }); // the old session ends
  assert.equal(fresh.present, false);
  const got = await before_marker(watcher.client, 's5/will5/marker');
  assert.deepEqual(got.map((m) => m.topic), ['s5/will5/session-ended']);
  for (const c of [kept, resumed, ended, fresh, watcher]) c.client.destroy();
});

test('DISCONNECT with reason 0x04 sends the will; reason 0x00 discards it', { skip }, async () => {
  const watcher = await open5('s5-will-watch4', { clean: true });
  await subscribe_qos1(watcher.client, 's5/will4/#');
  const with_will = await open5('s5-will-04', { will: { topic: 's5/will4/sent', payload: 'x' } });
  await goodbye(with_will.client, [], 0x04);
  const without = await open5('s5-will-00', { will: { topic: 's5/will4/discarded', payload: 'x' } });
  await goodbye(without.client, [], 0x00);
  const got = await before_marker(watcher.client, 's5/will4/marker');
  assert.deepEqual(got.map((m) => m.topic), ['s5/will4/sent']);
  watcher.client.destroy();
});

test('session expiry and queued message expiry keep counting across a restart', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt5-restart-'));
  dirs.push(dir);
  let own = await start_broker({ data_dir: dir });
  try {
    const lasting = await open5('r5-lasting', { expiry: 3600, port: own.port });
    await subscribe_qos1(lasting.client, 'r5/queued');
    await goodbye(lasting.client);
    const short = await open5('r5-short', { expiry: 1, port: own.port });
    await subscribe_qos1(short.client, 'r5/short');
    await goodbye(short.client);
    const pub = await open5('r5-pub', { clean: true, port: own.port });
    pub.client.send(publish5({ topic: 'r5/queued', payload: 'kept', qos: 1, packet_id: 1, properties: [['message_expiry_interval', 60], ['user_property', ['k', 'v']]] }));
    await pub.client.expect(packet_type.puback);
    pub.client.send(publish5({ topic: 'r5/queued', payload: 'expires', qos: 1, packet_id: 2, properties: [['message_expiry_interval', 1]] }));
    await pub.client.expect(packet_type.puback);
    await goodbye(pub.client);
    await own.stop();
    await delay(2100);
    own = await start_broker({ data_dir: dir });
    const gone = await open5('r5-short', { expiry: 1, port: own.port });
    assert.equal(gone.present, false, 'a 1 s session was still there 2 s later, after a restart');
    gone.client.destroy();
    const back = await open5('r5-lasting', { expiry: 3600, port: own.port });
    assert.equal(back.present, true);
    const m = read_publish(await back.client.expect(packet_type.publish));
    assert.equal(m.payload.toString(), 'kept');
    assert.deepEqual(all_of(m.properties, 'user_property'), [['k', 'v']]);
    const left = prop(m.properties, 'message_expiry_interval');
    assert.ok(left >= 55 && left <= 58, `expiry left ${left} s after 2 s and a restart`);
    back.client.send(puback5(m.packet_id));
    back.client.send(publish5({ topic: 'r5/queued', payload: 'marker', qos: 1, packet_id: 9 }));
    for (;;) {
      const p = await back.client.next_packet(3000, 'the marker');
      if (p.type !== packet_type.publish) continue;
      const next = read_publish(p);
      assert.notEqual(next.payload.toString(), 'expires', 'an expired message was delivered');
      if (next.payload.toString() === 'marker') break;
    }
    back.client.destroy();
  } finally {
    await own.stop();
  }
});

test('MQTT.js over WebSocket: a session with an expiry keeps a message queued while away', { skip }, async () => {
  const ws = {
    protocol: 'ws',
    path: '/mqtt',
    protocolVersion: 5,
    clientId: 'ws5-session',
    clean: false,
    properties: { sessionExpiryInterval: 60 },
  };
  const first = await connect_mqtt_js(broker.ports.ws, ws);
  await subscribe(first.client, ['s5/ws/queued'], 1);
  await end(first.client);
  const pub = await connect_mqtt_js(broker.ports.ws, { protocol: 'ws', path: '/mqtt', protocolVersion: 5 });
  await publish(pub.client, 's5/ws/queued', 'kept for you', { qos: 1, properties: { messageExpiryInterval: 30 } });
  await end(pub.client);
  const back = await connect_mqtt_js(broker.ports.ws, ws);
  assert.equal(back.connack.sessionPresent, true);
  const m = await back.inbox.wait_for_topic('s5/ws/queued');
  assert.equal(m.payload, 'kept for you');
  assert.ok(m.properties.messageExpiryInterval <= 30);
  await end(back.client);
});
