// SUBSCRIBE, PUBLISH and UNSUBSCRIBE with exact filters and the + and # wildcards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker } from '../support/broker.mjs';
import {
  connect_mqtt_js,
  end,
  publish,
  subscribe,
  unsubscribe,
} from '../support/mqtt_client.mjs';

let broker;

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

// Publishes each topic in order, then a marker, and returns the topics the subscriber got before
// the marker. One publisher keeps the order [MQTT-4.6.0-6], so nothing can arrive after the marker.
async function delivered_topics(sub, publisher, topics, marker) {
  for (const topic of topics) await publish(publisher, topic, `to ${topic}`);
  await publish(publisher, marker, 'marker');
  await sub.inbox.wait_for_topic(marker);
  return sub.inbox.before_marker(marker).map((m) => m.topic);
}

test('an exact filter receives its topic and nothing else', async () => {
  const sub = await connect_mqtt_js(broker.port);
  const pub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['exact/a', 'exact/marker']);
  const topics = ['exact/b', 'exact/a', 'exact/a/b'];
  const got = await delivered_topics(sub, pub.client, topics, 'exact/marker');
  assert.deepEqual(got, ['exact/a']);
  const message = sub.inbox.on_topic('exact/a')[0];
  assert.equal(message.payload, 'to exact/a');
  await end(sub.client);
  await end(pub.client);
});

test('+ matches exactly one level', async () => {
  const sub = await connect_mqtt_js(broker.port);
  const pub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['plus/+/c', 'plus/marker']);
  const got = await delivered_topics(
    sub,
    pub.client,
    ['plus/b/c', 'plus/b/d', 'plus/b/c/d', 'plus/c', 'plus//c'],
    'plus/marker',
  );
  // An empty level is a level: plus//c matches plus/+/c.
  assert.deepEqual(got, ['plus/b/c', 'plus//c']);
  await end(sub.client);
  await end(pub.client);
});

test('# matches the parent level and every level below', async () => {
  // [MQTT-4.7.1-2] "sport/#" also matches "sport".
  const sub = await connect_mqtt_js(broker.port);
  const pub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['hash/a/#', 'hash-marker']);
  const got = await delivered_topics(
    sub,
    pub.client,
    ['hash/a', 'hash/a/b', 'hash/a/b/c', 'hash/b', 'hash'],
    'hash-marker',
  );
  assert.deepEqual(got, ['hash/a', 'hash/a/b', 'hash/a/b/c']);
  await end(sub.client);
  await end(pub.client);
});

test('a subscriber gets its own publication', async () => {
  const c = await connect_mqtt_js(broker.port);
  await subscribe(c.client, ['self/echo']);
  await publish(c.client, 'self/echo', 'hello me');
  const m = await c.inbox.wait_for_topic('self/echo');
  assert.equal(m.payload, 'hello me');
  await end(c.client);
});

test('# and +/... do not match $SYS topics, $SYS/# does', async () => {
  // [MQTT-4.7.2-1] The broker publishes retained $SYS/broker/... topics, so a '#' subscriber
  // would get them right after SUBACK if the rule were broken.
  const all = await connect_mqtt_js(broker.port);
  const plus = await connect_mqtt_js(broker.port);
  const sys = await connect_mqtt_js(broker.port);
  await subscribe(all.client, ['#']);
  await subscribe(plus.client, ['+/broker/#', '+/+', 'sysrule/marker']);
  await subscribe(sys.client, ['$SYS/#']);
  await sys.inbox.wait_for((m) => m.topic.startsWith('$SYS/'), 11000, 'a $SYS message');
  await publish(all.client, 'sysrule/marker', 'marker');
  await all.inbox.wait_for_topic('sysrule/marker');
  await plus.inbox.wait_for_topic('sysrule/marker');
  const leaked = [...all.inbox.messages, ...plus.inbox.messages].filter((m) =>
    m.topic.startsWith('$'),
  );
  assert.deepEqual(leaked, []);
  await end(all.client);
  await end(plus.client);
  await end(sys.client);
});

test('unsubscribe stops delivery', async () => {
  const sub = await connect_mqtt_js(broker.port);
  const pub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['unsub/t', 'unsub/marker']);
  await publish(pub.client, 'unsub/t', 'before');
  await sub.inbox.wait_for_topic('unsub/t');
  await unsubscribe(sub.client, ['unsub/t']);
  await publish(pub.client, 'unsub/t', 'after');
  await publish(pub.client, 'unsub/marker', 'marker');
  await sub.inbox.wait_for_topic('unsub/marker');
  assert.deepEqual(
    sub.inbox.on_topic('unsub/t').map((m) => m.payload),
    ['before'],
  );
  await end(sub.client);
  await end(pub.client);
});

test('overlapping filters deliver one copy per matching subscription', async () => {
  // 3.1.1 allows one copy per matching subscription or one in all [MQTT-3.3.5-1]; either way the
  // message arrives, and at most once per filter.
  const sub = await connect_mqtt_js(broker.port);
  const pub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['overlap/#', 'overlap/+', 'overlap-marker']);
  await publish(pub.client, 'overlap/x', 'once');
  await publish(pub.client, 'overlap-marker', 'marker');
  await sub.inbox.wait_for_topic('overlap-marker');
  const copies = sub.inbox.on_topic('overlap/x').length;
  assert.ok(copies === 1 || copies === 2, `${copies} copies`);
  await end(sub.client);
  await end(pub.client);
});

test('many subscribers each receive a publication', async () => {
  const subs = [];
  for (let i = 0; i < 5; i++) {
    const s = await connect_mqtt_js(broker.port);
    await subscribe(s.client, ['fanout/t']);
    subs.push(s);
  }
  const pub = await connect_mqtt_js(broker.port);
  await publish(pub.client, 'fanout/t', 'to all');
  for (const s of subs) {
    const m = await s.inbox.wait_for_topic('fanout/t');
    assert.equal(m.payload, 'to all');
  }
  for (const s of subs) await end(s.client);
  await end(pub.client);
});
