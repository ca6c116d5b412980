// Limits on connections (issue 8): sockets that never log in, or log in a byte at a time, are
// closed by the CONNECT deadline while normal clients work; past max_connections new sockets
// are closed at once, and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { start_broker, is_mosquitto, test_user } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import {
  connect as connect_bytes,
  packet_type,
  subscribe as subscribe_bytes,
} from '../support/mqtt_bytes.mjs';
import { delay, wait_until, with_deadline } from '../support/deadline.mjs';

const skip = is_mosquitto ? 'connect_timeout and max_connections are our options' : false;

// Opens a TCP connection that sends nothing; resolves once connected, with when it closes.
function open_silent(port) {
  return new Promise((resolve, reject) => {
    // The broker accepts it after called_at and before opened_at (which a busy test process may
    // see late): its deadline lies between those two plus the timeout.
    const record = { called_at: Date.now(), opened_at: 0, closed_at: null };
    const socket = net.createConnection({ host: '127.0.0.1', port });
    record.socket = socket;
    record.closed = new Promise((done) => {
      socket.on('close', () => {
        record.closed_at = Date.now();
        done();
      });
    });
    socket.on('error', () => {});
    socket.once('connect', () => {
      record.opened_at = Date.now();
      resolve(record);
    });
    socket.once('error', reject);
  });
}

// A client that goes on working: publishes to itself and waits for each message.
async function round_trips_while(port, until) {
  const c = await connect_mqtt_js(port);
  await subscribe(c.client, ['alive/ping'], 1);
  let trips = 0;
  let slowest = 0;
  while (!until()) {
    const started = Date.now();
    const payload = `trip ${trips}`;
    await publish(c.client, 'alive/ping', payload, { qos: 1 });
    await c.inbox.wait_for((m) => m.payload === payload, 2000, payload);
    slowest = Math.max(slowest, Date.now() - started);
    trips += 1;
    await delay(20);
  }
  await end(c.client);
  return { trips, slowest };
}

test('2,000 connections that never send CONNECT are all closed by the deadline while a client works', { skip }, async () => {
  const timeout_s = 2;
  const broker = await start_broker({
    options: { logins: [test_user], connect_timeout: timeout_s },
  });
  try {
    const count = 2000;
    const opening = [];
    for (let i = 0; i < count; i++) opening.push(open_silent(broker.port));
    const silent = await with_deadline(Promise.all(opening), 10000, `${count} TCP connections`);
    const all_closed = Promise.all(silent.map((s) => s.closed));
    let done = false;
    const worker = round_trips_while(broker.port, () => done);
    await with_deadline(all_closed, (timeout_s + 3) * 1000, 'every silent connection to close');
    done = true;
    const { trips, slowest } = await worker;
    const shortest = Math.min(...silent.map((s) => s.closed_at - s.called_at));
    const longest = Math.max(...silent.map((s) => s.closed_at - s.opened_at));
    console.error(
      `${count} silent connections: closed at least ${shortest} ms after connecting began, ` +
        `at most ${longest} ms after connected (deadline ${timeout_s} s); meanwhile ` +
        `${trips} round trips, slowest ${slowest} ms`,
    );
    assert.ok(shortest >= timeout_s * 1000 - 20, `one closed before the deadline: ${shortest} ms`);
    assert.ok(longest <= timeout_s * 1000 + 2000, `one outlived the deadline: ${longest} ms`);
    assert.ok(trips > 10, 'the working client went on working');
    // One line for the episode, not one per connection.
    const lines = broker.output.match(/no CONNECT within/g) ?? [];
    assert.equal(lines.length, 1, 'connect timeouts are logged once per episode');
  } finally {
    await broker.stop();
  }
});

test('a CONNECT sent a byte at a time is dropped by the same deadline', { skip }, async () => {
  const timeout_s = 2;
  const broker = await start_broker({
    options: { logins: [test_user], connect_timeout: timeout_s },
  });
  try {
    const client = await raw_client.open(broker.port);
    const opened = Date.now();
    const bytes = connect_bytes({ client_id: 'dribbler', ...test_user });
    // 200 ms per byte: the CONNECT would take longer than the deadline.
    assert.ok(bytes.length * 200 > timeout_s * 1000 + 1000);
    for (let i = 0; i < bytes.length && !client.closed; i++) {
      client.send(bytes.subarray(i, i + 1));
      await delay(200);
    }
    await client.wait_closed(5000);
    const lived = client.closed_at - opened;
    assert.ok(lived >= timeout_s * 1000 - 100 && lived <= timeout_s * 1000 + 1000, `lived ${lived} ms`);
    assert.equal(client.packets.length, 0, 'no CONNACK for a CONNECT that never completed');
  } finally {
    await broker.stop();
  }
});

test('the default CONNECT deadline is 10 seconds', { skip }, async () => {
  const broker = await start_broker();
  try {
    const s = await open_silent(broker.port);
    await with_deadline(s.closed, 12000, 'the silent connection to close');
    const lived = s.closed_at - s.called_at;
    assert.ok(lived >= 9980 && lived <= 11000, `closed after ${lived} ms`);
  } finally {
    await broker.stop();
  }
});

test('past max_connections new connections are closed at once, and taken again when room frees', { skip }, async () => {
  const max = 20;
  const broker = await start_broker({
    options: { logins: [test_user], max_connections: max, connect_timeout: 60 },
  });
  try {
    const held = [];
    for (let i = 0; i < max; i++) held.push(await open_silent(broker.port));
    // Accepted by the kernel, then closed by the broker without a byte.
    const refused = [];
    for (let i = 0; i < 5; i++) refused.push(await open_silent(broker.port));
    await with_deadline(Promise.all(refused.map((s) => s.closed)), 3000, 'the refused ones to close');
    for (const s of held) assert.equal(s.closed_at, null, 'the connections within the limit stay');
    const lines = broker.output.match(/connections are open \(max_connections\)/g) ?? [];
    assert.equal(lines.length, 1, 'refusals are logged once per episode');

    // Room again: a real client gets in.
    for (const s of held.splice(0, 2)) s.socket.destroy();
    await wait_until(async () => {
      try {
        const c = await connect_mqtt_js(broker.port, {}, 1000);
        await end(c.client);
        return true;
      } catch {
        return false;
      }
    }, 5000, 'a client to get in once there is room');

    const watcher = await raw_client.connect_accepted(broker.port, {
      client_id: 'limits-watcher',
      ...test_user,
    });
    watcher.send(subscribe_bytes(1, [['$SYS/broker/limits/connections/refused', 0]]));
    await watcher.expect(packet_type.suback);
    // The retained value, then the next one every 10 s, until it shows the refusals.
    const until = Date.now() + 12000;
    let refused_count = 0;
    while (refused_count < 5 && Date.now() < until) {
      const p = await watcher.expect(packet_type.publish, until - Date.now());
      refused_count = Number(p.payload);
    }
    assert.ok(refused_count >= 5, `refused count ${refused_count}`);
    watcher.destroy();
    for (const s of held) s.socket.destroy();
  } finally {
    await broker.stop();
  }
});
