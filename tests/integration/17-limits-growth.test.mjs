// Bounds on what a logged-in client can make the broker keep, at the add-on's defaults: a client
// holding 100,000 subscriptions gets a failure code for the next one and keeps its connection
// and everything it has; replacing a subscription still works. (The session and retained bounds
// are too large to reach quickly here; the unit tests run all three with small values.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, is_mosquitto, test_user } from '../support/broker.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type, publish, subscribe } from '../support/mqtt_bytes.mjs';

const skip = is_mosquitto ? 'Mosquitto bounds no subscriptions' : false;
const per_client = 100000;

// The return codes of one SUBACK.
async function suback_codes(client) {
  const p = await client.expect(packet_type.suback, 20000);
  return [...p.body.subarray(2)];
}

test('the 100,001st subscription of a client is refused; the client and its subscriptions go on', { skip }, async () => {
  const broker = await start_broker();
  try {
    await many_subscriptions(broker);
  } finally {
    await broker.stop();
  }
});

async function many_subscriptions(broker) {
  const client = await raw_client.connect_accepted(broker.port, {
    client_id: 'many-filters',
    ...test_user,
  });
  // Ten SUBSCRIBE packets of 10,000 filters each (about 190 KB apiece).
  const batch = 10000;
  for (let first = 0; first < per_client; first += batch) {
    const filters = [];
    for (let i = first; i < first + batch; i++) filters.push([`many/${i}/+`, 0]);
    client.send(subscribe(1 + first / batch, filters));
    const codes = await suback_codes(client);
    assert.equal(codes.length, batch);
    assert.ok(codes.every((c) => c === 0), `batch from ${first}: a filter was refused`);
  }
  // One more, and a replacement of the first, in one packet.
  client.send(subscribe(100, [['many/extra', 0], ['many/0/+', 1]]));
  assert.deepEqual(await suback_codes(client), [0x80, 1]);
  // Still connected, and its subscriptions deliver: the last of the batch and the replaced one.
  const publisher = await raw_client.connect_accepted(broker.port, {
    client_id: 'many-filters-pub',
    ...test_user,
  });
  publisher.send(publish({ topic: 'many/extra', payload: 'refused' }));
  publisher.send(publish({ topic: `many/${per_client - 1}/x`, payload: 'last' }));
  publisher.send(publish({ topic: 'many/0/x', payload: 'first', qos: 1, packet_id: 1 }));
  await publisher.expect(packet_type.puback);
  const got = [];
  for (let i = 0; i < 2; i++) got.push((await client.expect(packet_type.publish)).payload.toString());
  assert.deepEqual(got, ['last', 'first']);
  await client.ping();
  assert.match(broker.output, /subscription to 'many\/extra' refused: max_subscriptions_per_client/);
  client.destroy();
  publisher.destroy();
}
