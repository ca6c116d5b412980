// The maximum packet size (16 MiB by default): a larger packet closes the connection as soon as its
// fixed header says so, before the broker reads (or buffers) the body.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { delay, wait_until } from '../support/deadline.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { mqtt_string, packet_type, publish as publish_bytes, remaining_length, subscribe as subscribe_bytes } from '../support/mqtt_bytes.mjs';

let broker;
const login = { username: test_user.username, password: test_user.password };

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

test('a PUBLISH announcing 20 MiB closes the connection without its body being sent', async () => {
  const client = await raw_client.connect_accepted(broker.port, { client_id: 'too-big', ...login });
  const announced = 20 * 1024 * 1024;
  client.send(
    Buffer.concat([Buffer.from([0x30]), remaining_length(announced), mqtt_string('big/t')]),
  );
  await client.wait_closed(3000, 'the broker to close an oversized packet');
  assert.equal(client.packets.length, 0);
  // The log says why, naming the client (ours: "... maximum packet size", Mosquitto: "oversize").
  await wait_until(
    () => /too-big.*(maximum packet size|oversize)/i.test(broker.output),
    2000,
    'a log line about the oversized packet',
  );
  const other = await raw_client.connect_accepted(broker.port, {
    client_id: 'after-big',
    ...login,
  });
  await other.ping();
  other.destroy();
});

test('a 1 MiB message is delivered whole', async () => {
  const sub = await connect_mqtt_js(broker.port);
  const pub = await connect_mqtt_js(broker.port);
  await subscribe(sub.client, ['big/ok'], 1);
  const payload = 'x'.repeat(1024 * 1024 - 1) + 'y';
  await publish(pub.client, 'big/ok', payload, { qos: 1 });
  const m = await sub.inbox.wait_for_topic('big/ok');
  assert.equal(m.payload.length, payload.length);
  assert.equal(m.payload, payload);
  await end(sub.client);
  await end(pub.client);
});

test('large packets still arriving share max_total_buffer_mb: past it that connection closes', { skip: is_mosquitto && 'our budget' }, async () => {
  const small = await start_broker({ options: { logins: [test_user], max_total_buffer_mb: 16 } });
  try {
    const sub = await raw_client.connect_accepted(small.port, { client_id: 'in-sub', ...login });
    sub.send(subscribe_bytes(1, [['big/in', 0]]));
    await sub.expect(packet_type.suback);
    // Two 12 MiB publishes, each sent up to 10 MiB: 20 MiB held together, past 16.
    const whole = publish_bytes({ topic: 'big/in', payload: Buffer.alloc(12 * 1024 * 1024, 0x61) });
    const part = whole.subarray(0, 10 * 1024 * 1024);
    const a = await raw_client.connect_accepted(small.port, { client_id: 'in-a', ...login });
    a.send(part);
    await delay(500);  // for the broker to read it (a PINGREQ would wait behind the packet)
    const b = await raw_client.connect_accepted(small.port, { client_id: 'in-b', ...login });
    b.send(part);
    await b.wait_closed(5000, 'the broker to close the second large sender');
    await wait_until(() => /in-b.*max_total_buffer_mb/.test(small.output), 2000, 'the log line');
    // The first goes on: its packet completes and is delivered.
    a.send(whole.subarray(part.length));
    const got = await sub.expect(packet_type.publish, 5000);
    assert.equal(got.payload.length, 12 * 1024 * 1024);
    a.destroy();
    sub.destroy();
  } finally {
    await small.stop();
  }
});
