// Retained messages: stored, delivered on subscribe with RETAIN=1, forwarded live with RETAIN=0,
// replaced, deleted by an empty payload, delivered at the lower of the two QoS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, is_mosquitto } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';

let broker;

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

async function publish_retained(topic, payload, qos = 1) {
  const pub = await connect_mqtt_js(broker.port);
  await publish(pub.client, topic, payload, { retain: true, qos });
  await end(pub.client);
}

// A fresh subscriber to `filters` (plus a marker topic it publishes to itself after SUBACK);
// returns the messages the broker sent it before the marker, i.e. the retained ones. The marker
// goes at the subscription's QoS: MQTT.js hands over a QoS 2 message only at PUBREL, so a QoS 0
// marker could overtake it.
async function retained_for(filters, qos = 1) {
  const marker = `marker/${Math.random().toString(36).slice(2)}`;
  const sub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, [...filters, marker], qos);
  await publish(sub.client, marker, 'marker', { qos });
  await sub.inbox.wait_for_topic(marker);
  const got = sub.inbox.before_marker(marker);
  await end(sub.client);
  return got;
}

test('a retained message reaches a new exact subscriber with RETAIN=1', async () => {
  await publish_retained('retain/exact', 'kept');
  const got = await retained_for(['retain/exact']);
  assert.equal(got.length, 1);
  assert.equal(got[0].topic, 'retain/exact');
  assert.equal(got[0].payload, 'kept');
  assert.equal(got[0].retain, true);
});

test('a retained message reaches new + and # subscribers with RETAIN=1', async () => {
  await publish_retained('retain/wild/a', 'wild');
  for (const filter of ['retain/wild/+', 'retain/#', '+/wild/a', 'retain/+/a']) {
    const got = (await retained_for([filter])).filter((m) => m.topic === 'retain/wild/a');
    assert.equal(got.length, 1, `filter ${filter}`);
    assert.equal(got[0].payload, 'wild');
    assert.equal(got[0].retain, true, `RETAIN flag for filter ${filter}`);
  }
});

test('a retained publication is forwarded to existing subscribers with RETAIN=0', async () => {
  // [MQTT-3.3.1-9]
  const sub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['retain/live'], 1);
  await publish_retained('retain/live', 'live');
  const m = await sub.inbox.wait_for_topic('retain/live');
  assert.equal(m.payload, 'live');
  assert.equal(m.retain, false);
  await end(sub.client);
});

test('a newer retained message replaces the older one', async () => {
  await publish_retained('retain/replace', 'first');
  await publish_retained('retain/replace', 'second');
  const got = await retained_for(['retain/replace']);
  assert.deepEqual(
    got.map((m) => m.payload),
    ['second'],
  );
});

test('an empty retained payload deletes the retained message', async () => {
  // [MQTT-3.3.1-10] [MQTT-3.3.1-11]
  await publish_retained('retain/delete', 'doomed');
  assert.equal((await retained_for(['retain/delete'])).length, 1);
  const sub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['retain/delete'], 1);
  await publish_retained('retain/delete', '');
  // The empty publication itself is delivered as normal to existing subscribers.
  const m = await sub.inbox.wait_for(
    (x) => x.topic === 'retain/delete' && !x.retain,
    5000,
    'the live empty publication',
  );
  assert.equal(m.payload, '');
  await end(sub.client);
  assert.deepEqual(await retained_for(['retain/delete']), []);
  const under_wildcard = await retained_for(['retain/#']);
  assert.deepEqual(
    under_wildcard.filter((x) => x.topic === 'retain/delete'),
    [],
  );
});

test('a retained message comes at the lower of its QoS and the subscription QoS', async () => {
  await publish_retained('retain/qos2', 'q2', 2);
  await publish_retained('retain/qos1', 'q1', 1);
  for (const sub_qos of [0, 1, 2]) {
    const got = await retained_for(['retain/qos2', 'retain/qos1'], sub_qos);
    const by_topic = Object.fromEntries(got.map((m) => [m.topic, m.qos]));
    assert.deepEqual(
      by_topic,
      { 'retain/qos2': Math.min(2, sub_qos), 'retain/qos1': Math.min(1, sub_qos) },
      `subscription QoS ${sub_qos}`,
    );
  }
});

test('a retained QoS 0 message is kept too', async () => {
  await publish_retained('retain/qos0', 'q0', 0);
  const got = await retained_for(['retain/qos0'], 2);
  assert.equal(got.length, 1);
  assert.equal(got[0].payload, 'q0');
  assert.equal(got[0].qos, 0);
});

test('every retained message reaches a new subscriber, far beyond any queue limit', async () => {
  // A Home Assistant install can hold thousands of discovery configs; all must arrive
  // [MQTT-3.8.4-3]. (Mosquitto 2.0.11 stops at about 1,000 for a QoS 1 subscriber, so the QoS 1
  // half checks ours only.)
  const count = 3000;
  const pub = await connect_mqtt_js(broker.port);
  for (let i = 0; i < count; i++) {
    pub.client.publish(`many/sensor/s${i}/config`, `{"n":${i}}`, { retain: true, qos: 0 });
  }
  await publish(pub.client, 'many/barrier', 'b', { qos: 1 });
  await end(pub.client);
  for (const qos of is_mosquitto ? [0] : [0, 1]) {
    const got = await retained_for(['many/sensor/#'], qos);
    assert.equal(new Set(got.map((m) => m.topic)).size, count, `retained at QoS ${qos}`);
  }
});
