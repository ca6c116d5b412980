// Two I/O threads, a publisher on one and a subscriber on the other (the broker hands
// consecutive connections to its threads in turn). While the subscriber's thread sleeps, the
// publisher's thread writes the subscriber's messages itself (src/transport/io_thread.hpp);
// when the subscriber's socket is full, the subscriber's own thread finishes the write. Nothing
// may be lost, reordered or held back on either path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user } from '../support/broker.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type, publish, subscribe } from '../support/mqtt_bytes.mjs';
import { delay } from '../support/deadline.mjs';

let broker;

before(async () => {
  broker = await start_broker({
    // Room for the whole burst below: this file is about the write path, not the limits.
    options: { logins: [test_user], max_client_buffer_mb: 64 },
    more: async () => ({ args: ['--threads', '2'], ready: [], info: null }),
  });
});

after(async () => {
  await broker?.stop();
});

const login = (client_id) => ({ client_id, username: test_user.username, password: test_user.password });

// A subscriber, then a publisher right after it: on different I/O threads.
async function pair(name, filter) {
  const sub = await raw_client.connect_accepted(broker.port, login(`${name}-sub`));
  sub.send(subscribe(1, [[filter, 0]]));
  await sub.expect(packet_type.suback);
  const pub = await raw_client.connect_accepted(broker.port, login(`${name}-pub`));
  return { sub, pub };
}

function numbered_payload(i, size) {
  const head = `${i}:`;
  return head + 'x'.repeat(size - head.length);
}

test('each message reaches a subscriber on the sleeping thread at once', async () => {
  const { sub, pub } = await pair('one-by-one', 'threads/one');
  // The next message only after the last arrived: the subscriber's thread sleeps every time.
  for (let i = 0; i < 300; i++) {
    pub.send(publish({ topic: 'threads/one', payload: `${i}` }));
    const got = await sub.expect(packet_type.publish, 2000);
    assert.equal(got.payload.toString(), `${i}`, `message ${i}`);
  }
  sub.destroy();
  pub.destroy();
});

test('a subscriber that stops reading gets every message in order once it reads again', async () => {
  const { sub, pub } = await pair('stalled', 'threads/burst');
  const count = 8000;
  const size = 2048;
  // 16 MiB: far more than the two sockets' buffers hold, so the writes come up short and the
  // subscriber's own thread takes over.
  sub.socket.pause();
  for (let i = 0; i < count; i++) {
    pub.send(publish({ topic: 'threads/burst', payload: numbered_payload(i, size) }));
    // Short pauses, in which the subscriber's thread goes back to sleep.
    if (i % 20 === 19) await delay(1);
  }
  await pub.ping(10000); // the broker has read every PUBLISH
  sub.socket.resume();
  for (let i = 0; i < count; i++) {
    const got = await sub.expect(packet_type.publish, 5000);
    const payload = got.payload.toString();
    assert.equal(payload.length, size, `message ${i} whole`);
    assert.equal(payload.slice(0, payload.indexOf(':')), `${i}`, `message ${i} in order`);
  }
  await sub.ping();
  sub.destroy();
  pub.destroy();
});
