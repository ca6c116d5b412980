// kill -9 in the middle of a stream of QoS 1 publishes to an offline persistent session: in
// strict mode every acknowledged message survives; by default at most the last second is lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { wait_until } from '../support/deadline.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const { packet_type } = bytes;
const skip = is_mosquitto ? 'the Mosquitto reference runs without persistence' : false;
const dirs = [];

after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function login(client_id, clean) {
  return { client_id, clean, username: test_user.username, password: test_user.password };
}

// A persistent session subscribed to crash/#, left offline so messages queue for it.
async function offline_subscriber(port) {
  const client = await raw_client.connect_accepted(port, login('crash-sub', false));
  client.send(bytes.subscribe(1, [['crash/#', 1]]));
  await client.expect(packet_type.suback);
  client.send(bytes.disconnect());
  await client.wait_closed();
}

// Publishes QoS 1 messages "1", "2", ... with at most `window` unacknowledged, pausing `pace_ms`
// between sends; records when each was acknowledged, until the connection dies.
async function stream(client, { count, window = 20, pace_ms = 0 }, acked) {
  let next = 1;
  let outstanding = 0;
  for (;;) {
    while (outstanding < window && next <= count) {
      client.send(bytes.publish({ topic: 'crash/t', payload: String(next), qos: 1, packet_id: next }));
      next++;
      outstanding++;
      if (pace_ms) await new Promise((r) => setTimeout(r, pace_ms));
    }
    let p;
    try {
      p = await client.next_packet(3000, 'PUBACK');
    } catch {
      return;  // the broker is gone
    }
    if (p.type === packet_type.puback) {
      acked.set(p.body.readUInt16BE(0), Date.now());
      outstanding--;
    }
  }
}

// Everything the restarted broker still owes the session, acknowledged one by one.
async function drain(port) {
  const { client, connack } = await raw_client.connect(port, login('crash-sub', false));
  assert.equal(connack.return_code, 0);
  assert.equal(connack.session_present, true, 'the session survived the crash');
  const got = new Set();
  for (;;) {
    let p;
    try {
      p = await client.next_packet(1500, 'a queued message');
    } catch {
      break;  // nothing more for 1.5 s
    }
    if (p.type !== packet_type.publish) continue;
    const m = bytes.decode_publish(p);
    got.add(Number(m.payload));
    client.send(bytes.puback(m.packet_id));
  }
  client.destroy();
  return got;
}

async function crash_run(options, kill_when) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-crash-'));
  dirs.push(dir);
  let broker = await start_broker({ data_dir: dir, options });
  await offline_subscriber(broker.port);
  const publisher = await raw_client.connect_accepted(broker.port, login('crash-pub', true));
  const acked = new Map();
  const streaming = stream(publisher, kill_when.stream, acked);
  await wait_until(() => kill_when.ready(acked), 10000, 'enough acknowledged messages');
  const killed_at = Date.now();
  process.kill(broker.pid, 'SIGKILL');
  await broker.exited;
  await streaming;
  publisher.destroy();

  broker = await start_broker({ data_dir: dir, options });
  try {
    return { acked, killed_at, received: await drain(broker.port) };
  } finally {
    await broker.stop();
  }
}

test('strict durability: every acknowledged QoS 1 message survives kill -9', { skip }, async () => {
  const options = { logins: [test_user], durability: 'strict' };
  const { acked, received } = await crash_run(options, {
    stream: { count: 900, window: 20 },
    ready: (acked) => acked.size >= 300,
  });
  assert.ok(acked.size >= 300);
  const lost = [...acked.keys()].filter((n) => !received.has(n));
  assert.deepEqual(lost, [], 'acknowledged messages missing after the crash');
});

test('default durability: a kill -9 loses at most the last second', { skip }, async () => {
  const options = { logins: [test_user] };
  const started = Date.now();
  const { acked, killed_at, received } = await crash_run(options, {
    stream: { count: 900, window: 5, pace_ms: 3 },
    ready: () => Date.now() - started > 2500,
  });
  const old_enough = [...acked.entries()].filter(([, at]) => at < killed_at - 1000);
  assert.ok(old_enough.length > 50, `only ${old_enough.length} messages older than 1 s`);
  const lost = old_enough.map(([n]) => n).filter((n) => !received.has(n));
  assert.deepEqual(lost, [], 'messages acknowledged over a second before the crash are missing');
});
