// $SYS/broker/... statistics under Mosquitto's names: retained, and published again every 10 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';

const sys_topics = [
  '$SYS/broker/version',
  '$SYS/broker/uptime',
  '$SYS/broker/clients/connected',
  '$SYS/broker/messages/received',
  '$SYS/broker/messages/sent',
  '$SYS/broker/bytes/received',
  '$SYS/broker/bytes/sent',
];
const counters = sys_topics.slice(2);
// Every 10 s, plus a margin for the timer and the machine.
const sys_interval_deadline_ms = 11500;
let broker;

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

function leading_integer(payload) {
  const match = /^(\d+)/.exec(payload);
  assert.ok(match, `"${payload}" does not start with a number`);
  return Number(match[1]);
}

test('a $SYS/broker/# subscriber receives every statistic', async () => {
  const c = await connect_mqtt_js(broker.port);
  await subscribe(c.client, ['$SYS/broker/#']);
  for (const topic of sys_topics) await c.inbox.wait_for_topic(topic, sys_interval_deadline_ms);
  const latest = (topic) => c.inbox.on_topic(topic).at(-1).payload;
  assert.ok(latest('$SYS/broker/version').length > 0, 'version is not empty');
  // Mosquitto writes "<n> seconds".
  assert.match(latest('$SYS/broker/uptime'), /^\d+( seconds)?$/);
  for (const topic of counters) leading_integer(latest(topic));
  await end(c.client);
});

test('the statistics are retained for a new subscriber', async () => {
  const c = await connect_mqtt_js(broker.port);
  await subscribe(c.client, ['$SYS/broker/version']);
  const m = await c.inbox.wait_for_topic('$SYS/broker/version', sys_interval_deadline_ms);
  assert.equal(m.retain, true);
  await end(c.client);
});

test('the statistics are published again within 10 s and count the traffic', async () => {
  const watcher = await connect_mqtt_js(broker.port);
  await subscribe(watcher.client, ['$SYS/broker/#']);
  const first = await watcher.inbox.wait_for_topic(
    '$SYS/broker/messages/received',
    sys_interval_deadline_ms,
  );
  const before_count = leading_integer(first.payload);
  const talker = await connect_mqtt_js(broker.port);
  for (let i = 0; i < 5; i++) await publish(talker.client, 'sys/traffic', `m${i}`, { qos: 1 });
  // A live (not retained) update that counts the five publications.
  const update = await watcher.inbox.wait_for(
    (m) =>
      m.topic === '$SYS/broker/messages/received' &&
      !m.retain &&
      leading_integer(m.payload) >= before_count + 5,
    sys_interval_deadline_ms,
    'a periodic $SYS/broker/messages/received update counting the new messages',
  );
  assert.equal(update.retain, false);
  // The same round of updates counts the watcher and the talker as connected.
  await watcher.inbox.wait_for(
    (m) =>
      m.topic === '$SYS/broker/clients/connected' && !m.retain && leading_integer(m.payload) >= 2,
    2000,
    'a $SYS/broker/clients/connected update of at least 2',
  );
  await end(talker.client);
  await end(watcher.client);
});
