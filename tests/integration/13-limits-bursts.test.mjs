// Limits that protect without losing (issue 8): at the add-on's defaults a burst reaches a client
// that reads a little slower than it arrives, whole and in order; a client that never reads
// costs the broker a bounded amount of memory and slows nobody else; QoS 1 past a live client's
// budget disconnects it and the messages wait in its session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { start_broker, is_mosquitto, sanitizer_build, test_user } from '../support/broker.mjs';
import { connect_mqtt_js, end, subscribe, unique_client_id } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type, subscribe as subscribe_bytes, puback } from '../support/mqtt_bytes.mjs';
import { delay, wait_until, with_deadline } from '../support/deadline.mjs';
import { child_program } from '../support/child_process.mjs';
import { fileURLToPath } from 'node:url';

const skip = is_mosquitto ? 'the limits and their log lines are ours' : false;
const stuck_reader_script = fileURLToPath(new URL('../support/stuck_reader.py', import.meta.url));
const python = process.env.MQTT_TEST_PYTHON || '/usr/bin/python3';
const burst_messages = 10000;
const burst_payload_bytes = 1024;
// The subscriber reads 4 MB/s while the publisher sends each 1,000-message burst at once: most
// of the 10 MB wait in the broker (before issue 8 about 3,500 of them were dropped).
const paced_bytes_per_second = 4 * 1024 * 1024;
const mib = 1024 * 1024;

let broker;

before(async () => {
  // No limit option set: the defaults are under test.
  broker = await start_broker({ options: { logins: [test_user] } });
});

after(async () => {
  await broker?.stop();
});

// Makes an MQTT.js client take `bytes_per_second`: its handleMessage hook (MQTT.js's own way to
// push back) holds the next packet until the time the last ones should have taken has passed,
// and meanwhile the client reads nothing more from its socket.
function pace(client, bytes_per_second) {
  let owed_ms = 0;
  client.handleMessage = (packet, done) => {
    owed_ms += (packet.payload.length * 1000) / bytes_per_second;
    if (owed_ms < 5) {
      done();
      return;
    }
    setTimeout(done, owed_ms);
    owed_ms = 0;
  };
}

function numbered_payload(i, size) {
  const head = `${i}:`;
  return head + 'x'.repeat(Math.max(0, size - head.length));
}

function index_of(payload) {
  return Number(payload.slice(0, payload.indexOf(':')));
}

// QoS 1 messages numbered 0..count-1, all acknowledged by the broker.
async function publish_past_the_budget(pub, topic, count, payload_bytes) {
  const sent = [];
  for (let i = 0; i < count; i++) {
    sent.push(pub.client.publishAsync(topic, numbered_payload(i, payload_bytes), { qos: 1 }));
  }
  await with_deadline(Promise.all(sent), 20000, 'PUBACK for every QoS 1 message');
}

// The broker's log says `client_id` was disconnected for QoS 1/2 past its budget.
async function disconnected_for_budget(client_id, ms, what) {
  const line = new RegExp(`${client_id}.*disconnected: does not read fast enough`);
  await wait_until(() => line.test(broker.output), ms, what);
}

function broker_rss_bytes() {
  const status = fs.readFileSync(`/proc/${broker.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

// Publishes `count` numbered messages in bursts of `burst` sent back to back.
async function publish_bursts(client, topic, count, burst, qos) {
  for (let start = 0; start < count; start += burst) {
    const sent = [];
    for (let i = start; i < Math.min(count, start + burst); i++) {
      sent.push(client.publishAsync(topic, numbered_payload(i, burst_payload_bytes), { qos }));
    }
    await with_deadline(Promise.all(sent), 30000, `burst from ${start} sent`);
  }
}

function assert_whole_and_in_order(messages, count) {
  assert.equal(messages.length, count, 'every message of the burst arrived');
  messages.forEach((m, i) => {
    if (index_of(m.payload) !== i) {
      assert.fail(`message ${i} of the burst is number ${index_of(m.payload)}: out of order`);
    }
  });
}

for (const qos of [0, 1]) {
  test(`a burst of 10,000 QoS ${qos} messages reaches a slower subscriber whole and in order`, { skip }, async () => {
    const topic = `burst/qos${qos}`;
    const sub = await connect_mqtt_js(broker.port);
    await subscribe(sub.client, [topic], qos);
    pace(sub.client, paced_bytes_per_second);
    const pub = await connect_mqtt_js(broker.port);
    const started = Date.now();
    await publish_bursts(pub.client, topic, burst_messages, 1000, qos);
    const published = Date.now();
    // A marker behind the burst: when it arrives, so has everything the broker did not drop.
    await pub.client.publishAsync(topic, 'end:', { qos });
    await sub.inbox.wait_for((m) => m.payload === 'end:', 30000, 'the marker behind the burst');
    const received = Date.now();
    const burst = sub.inbox.messages.slice(
      0,
      sub.inbox.messages.findIndex((m) => m.payload === 'end:'),
    );
    assert_whole_and_in_order(burst, burst_messages);
    console.error(
      `QoS ${qos} burst: published in ${published - started} ms, ` +
        `all received after ${received - started} ms`,
    );
    assert.doesNotMatch(broker.output, /dropped for this client/);
    await end(pub.client);
    await end(sub.client);
  });
}

test('a subscriber that never reads costs bounded memory under a 200 MB QoS 0 flood and slows no one', { skip }, async () => {
  const topic = 'flood/data';
  const stuck = await raw_client.connect_accepted(broker.port, {
    client_id: unique_client_id('never-reads'),
    ...test_user,
  });
  stuck.send(subscribe_bytes(1, [['flood/#', 0]]));
  await stuck.expect(packet_type.suback);
  stuck.socket.pause(); // from here on it reads nothing

  const reader = await connect_mqtt_js(broker.port);
  await subscribe(reader.client, [topic], 0);
  const pub = await connect_mqtt_js(broker.port);

  const payload_bytes = 16 * 1024;
  const total_bytes = 200 * mib;
  const count = total_bytes / payload_bytes;
  const window = 64; // 1 MiB published, then wait until the reader has it
  const rss_before = broker_rss_bytes();
  let rss_peak = rss_before;
  const sampler = setInterval(() => {
    rss_peak = Math.max(rss_peak, broker_rss_bytes());
  }, 20);
  const started = Date.now();
  try {
    for (let start = 0; start < count; start += window) {
      const sent = [];
      for (let i = start; i < start + window; i++) {
        sent.push(pub.client.publishAsync(topic, numbered_payload(i, payload_bytes), { qos: 0 }));
      }
      await Promise.all(sent);
      await wait_until(
        () => reader.inbox.messages.length >= window,
        10000,
        `message ${start + window} at the reading subscriber`,
        1,
      );
      // The inbox would otherwise hold 200 MB of strings; the order is checked as they come.
      for (let i = 0; i < window; i++) {
        assert.equal(index_of(reader.inbox.messages[i].payload), start + i, 'in order');
      }
      reader.inbox.messages.splice(0, window);
    }
  } finally {
    clearInterval(sampler);
  }
  const seconds = (Date.now() - started) / 1000;
  rss_peak = Math.max(rss_peak, broker_rss_bytes());
  console.error(
    `200 MB flood with a never-reading subscriber: reader got ${count} messages in ` +
      `${seconds.toFixed(2)} s (${(200 / seconds).toFixed(0)} MB/s); broker RSS ` +
      `${(rss_before / mib).toFixed(1)} -> peak ${(rss_peak / mib).toFixed(1)} MiB`,
  );
  // The never-reading client may hold 16 MiB (max_client_buffer_mb); the rest is slack for the
  // allocator and the I/O buffers. Without a bound the flood would stay in memory.
  // Under a sanitizer (scripts/sanitize.sh sets MQTT_TEST_SANITIZER) freed memory waits in
  // ASan's 256 MiB quarantine and every allocation carries shadow memory, so RSS says nothing
  // about the broker's bound there: the release pass checks it, the sanitizer pass checks the
  // flood's memory safety.
  if (sanitizer_build) {
    console.error(`RSS bound not checked: ${sanitizer_build} sanitizer build`);
  } else {
    assert.ok(
      rss_peak - rss_before < 64 * mib,
      `broker RSS grew by ${((rss_peak - rss_before) / mib).toFixed(1)} MiB`,
    );
  }
  await wait_until(
    () => /QoS 0 messages are dropped for this client/.test(broker.output),
    5000,
    'the log line about the dropped messages',
  );
  assert.equal(stuck.closed, false, 'QoS 0 drops do not disconnect the client');

  // The drops are counted under $SYS, published every 10 s.
  const watcher = await connect_mqtt_js(broker.port);
  await subscribe(watcher.client, ['$SYS/broker/limits/messages/dropped/client_budget']);
  await watcher.inbox.wait_for((m) => Number(m.payload) > 0, 12000, 'a dropped count above 0');
  await end(watcher.client);
  stuck.destroy();
  await end(pub.client);
  await end(reader.client);
});

test('QoS 1 to a client that never reads disconnects it, and its session keeps the messages', { skip }, async () => {
  const topic = 'stuck/qos1';
  const client_id = unique_client_id('stuck-qos1');
  const stuck = await raw_client.connect_accepted(broker.port, {
    client_id,
    clean: false,
    ...test_user,
  });
  stuck.send(subscribe_bytes(1, [[topic, 1]]));
  await stuck.expect(packet_type.suback);
  stuck.socket.pause();

  // 20 MB of QoS 1, past the default 16 MiB budget; every publish is still acknowledged.
  const pub = await connect_mqtt_js(broker.port);
  const count = 320;
  const payload_bytes = 64 * 1024;
  await publish_past_the_budget(pub, topic, count, payload_bytes);
  await disconnected_for_budget(client_id, 10000, 'the disconnect for the budget');
  stuck.socket.resume();
  await stuck.wait_closed(10000);

  // Back with the same session: the messages come in order, from the first on.
  const again = await raw_client.connect(broker.port, { client_id, clean: false, ...test_user });
  assert.equal(again.connack.session_present, true);
  const got = [];
  for (;;) {
    let p;
    try {
      p = await again.client.expect(packet_type.publish, 2000);
    } catch {
      break; // nothing more waits
    }
    again.client.send(puback(p.packet_id));
    const i = index_of(p.payload);
    if (!got.includes(i)) got.push(i);
  }
  console.error(`QoS 1 to a never-reading client: ${got.length} of ${count} kept in its session`);
  // The session kept what fits its offline limit (16 MiB), the oldest first, nothing skipped.
  assert.ok(got.length >= 200, `only ${got.length} messages were kept`);
  got.forEach((i, n) => assert.equal(i, n, 'kept in order, from the first'));
  if (got.length < count) {
    assert.match(broker.output, /offline queue is full|more queued than an offline session keeps/);
  }
  again.client.destroy();
  await end(pub.client);
  await delay(0);
});

test('QoS 1 past the budget disconnects a client whose socket is already full', { skip }, async () => {
  // A QoS 0 flood fills the never-reading client's socket (its receive buffer is small), so the
  // broker's write to it stays in flight for good; the QoS 1 messages past its budget must end
  // the connection all the same, within the 5 s linger.
  const topic = 'stuck/full-socket';
  const client_id = unique_client_id('stuck-full');
  const stuck = new child_program(python, [
    stuck_reader_script,
    String(broker.port),
    client_id,
    test_user.username,
    test_user.password,
    topic,
  ]);
  try {
    await stuck.wait_for_output(/^subscribed$/, 10000, 'the stuck reader subscribed');
    const pub = await connect_mqtt_js(broker.port);
    const payload_bytes = 64 * 1024;
    // 40 MiB: more than the socket buffers and the client's 16 MiB budget together.
    const flood = [];
    for (let i = 0; i < 640; i++) {
      flood.push(pub.client.publishAsync(topic, numbered_payload(i, payload_bytes), { qos: 0 }));
    }
    await with_deadline(Promise.all(flood), 20000, 'the QoS 0 flood written');
    await delay(500);
    await publish_past_the_budget(pub, topic, 320, payload_bytes);
    await disconnected_for_budget(
      client_id,
      15000,
      'the disconnect for the budget while the socket is full',
    );
    await end(pub.client);
  } finally {
    stuck.kill();
  }
});

test('the budget of all clients together drops for the clients that hold the most, not for a reader', { skip }, async () => {
  // Each client may hold 64 MiB, all together only 16 MiB: three never-reading subscribers
  // reach the common limit long before their own.
  const limited = await start_broker({
    options: { logins: [test_user], max_client_buffer_mb: 64, max_total_buffer_mb: 16 },
  });
  const stuck = [];
  try {
    const topic = 'together/data';
    for (let i = 0; i < 3; i++) {
      const client_id = unique_client_id('never-reads');
      const c = await raw_client.connect_accepted(limited.port, { client_id, ...test_user });
      c.client_id = client_id;
      c.send(subscribe_bytes(1, [[topic, 0]]));
      await c.expect(packet_type.suback);
      c.socket.pause();
      stuck.push(c);
    }
    const reader = await connect_mqtt_js(limited.port);
    await subscribe(reader.client, [topic], 0);
    const pub = await connect_mqtt_js(limited.port);
    const payload_bytes = 16 * 1024;
    const count = (48 * mib) / payload_bytes;
    const window = 64;
    for (let start = 0; start < count; start += window) {
      const sent = [];
      for (let i = start; i < start + window; i++) {
        sent.push(pub.client.publishAsync(topic, numbered_payload(i, payload_bytes), { qos: 0 }));
      }
      await Promise.all(sent);
      await wait_until(() => reader.inbox.messages.length >= window, 10000, 'the reader', 1);
      for (let i = 0; i < window; i++) {
        assert.equal(index_of(reader.inbox.messages[i].payload), start + i, 'in order, none lost');
      }
      reader.inbox.messages.splice(0, window);
    }
    const lines = limited.output.match(/every client's buffers together are full \(/g) ?? [];
    assert.equal(lines.length, 1, 'one log line for the episode');
    const dropped_for = (id) => new RegExp(`\\[${id}\\] .*dropped for this client`).test(limited.output);
    for (const c of stuck) assert.ok(dropped_for(c.client_id), 'a never-reading one lost messages');
    assert.ok(!dropped_for(reader.client.options.clientId), 'the reader lost nothing');
    for (const c of stuck) assert.equal(c.closed, false, 'QoS 0 drops do not disconnect');
    await end(pub.client);
    await end(reader.client);
    // SIGTERM with the never-reading clients still connected: the broker does not wait on them
    // past its short shutdown linger (stop() allows 5 s).
    const started = Date.now();
    const status = await limited.stop();
    assert.equal(status.code, 0);
    console.error(`stopped with 3 never-reading clients connected in ${Date.now() - started} ms`);
  } finally {
    if (limited.running) await limited.stop();
    for (const c of stuck) c.destroy();
  }
});
