// Client takeover: a CONNECT with a client id already connected closes the older connection
// [MQTT-3.1.4-2]; with clean session 0 the newcomer inherits the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const { packet_type } = bytes;
let broker;

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

function login(client_id, clean = true) {
  return { client_id, clean, username: test_user.username, password: test_user.password };
}

test('a second client with the same id closes the first', async () => {
  const first = await raw_client.connect_accepted(broker.port, login('taken'));
  const second = await raw_client.connect_accepted(broker.port, login('taken'));
  await first.wait_closed(3000, 'the broker to close the first connection');
  await second.ping();
  second.destroy();
});

test('a different client id does not close the first', async () => {
  const first = await raw_client.connect_accepted(broker.port, login('kept-a'));
  const second = await raw_client.connect_accepted(broker.port, login('kept-b'));
  await first.ping();
  await second.ping();
  first.destroy();
  second.destroy();
});

test('the new connection inherits a persistent session and gets its messages', async () => {
  const first = await raw_client.connect_accepted(broker.port, login('heir', false));
  first.send(bytes.subscribe(1, [['takeover/t', 1]]));
  await first.expect(packet_type.suback);
  const { client: second, connack } = await raw_client.connect(broker.port, login('heir', false));
  assert.equal(connack.return_code, 0);
  assert.equal(connack.session_present, true);
  await first.wait_closed();
  const pub = await connect_mqtt_js(broker.port);
  await publish(pub.client, 'takeover/t', 'for the heir', { qos: 1 });
  const p = await second.expect(packet_type.publish);
  assert.equal(p.topic, 'takeover/t');
  assert.equal(p.payload, 'for the heir');
  second.send(bytes.puback(p.packet_id));
  assert.equal(first.packets.length, 0, 'the closed connection got nothing');
  second.send(bytes.disconnect());
  second.destroy();
  // Clean up the persistent session so it does not outlive the test in the broker.
  const cleanup = await raw_client.connect_accepted(broker.port, login('heir', true));
  cleanup.destroy();
  await end(pub.client);
});
