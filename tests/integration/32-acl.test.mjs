// Access control from the `acl` option: denied publishes are dropped (and still acknowledged),
// denied subscriptions get SUBACK 0x80, a wildcard subscriber receives only readable topics,
// `deny` wins, %u and %c, homeassistant always has full access, hub users are covered too.
// Our broker only (Mosquitto's acl_file never refuses a SUBSCRIBE, and has no `acl` option).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { fake_supervisor } from '../support/fake_supervisor.mjs';
import { connect_mqtt_js, subscribe, publish, end } from '../support/mqtt_client.mjs';

const skip = is_mosquitto ? 'the acl option is ours' : false;

const users = {
  alice: { username: 'alice', password: 'alice-pass' },
  bob: { username: 'bob', password: 'bob-pass' },
  carol: { username: 'carol', password: 'carol-pass' },
};
const acl = [
  { username: 'alice', topic: 'home/#', access: 'readwrite' },
  { username: 'alice', topic: 'home/secret/#', access: 'deny' },
  { username: 'alice', topic: 'sensors/#', access: 'read' },
  { username: 'bob', topic: 'sensors/#', access: 'write' },
  { username: 'bob', topic: 'home/status', access: 'read' },
  { username: 'dave', topic: 'hub/dave/#', access: 'readwrite' }, // a hub user
  { topic: 'users/%u/#', access: 'readwrite' }, // every user: their own tree
  { topic: 'clients/%c/#', access: 'readwrite' },
];

let supervisor;
let broker;
const open_clients = [];

before(async () => {
  if (skip) return;
  supervisor = await fake_supervisor.start({ users: { dave: 'dave-pass' } });
  broker = await start_broker({
    options: { logins: [test_user, ...Object.values(users)], acl },
    env: supervisor.env(),
  });
});

after(async () => {
  for (const c of open_clients) c.end(true);
  await broker?.stop();
  await supervisor?.close();
});

async function client_of(user, options = {}) {
  const c = await connect_mqtt_js(broker.port, { ...user, ...options });
  open_clients.push(c.client);
  return c;
}

// SUBACK return codes, refusals (0x80) included: MQTT.js rejects a SUBACK holding one, with the
// packet attached.
async function suback_codes(client, filters, qos = 0) {
  try {
    return await subscribe(client, filters, qos);
  } catch (error) {
    if (!error.packet?.granted) throw error;
    return error.packet.granted;
  }
}

function homeassistant() {
  return client_of({ username: 'homeassistant', password: broker.system_password('homeassistant') });
}

test('a publish without write access is dropped, and QoS 1 is still acknowledged', { skip }, async () => {
  const ha = await homeassistant();
  await subscribe(ha.client, '#');
  const bob = await client_of(users.bob);
  await publish(bob.client, 'home/lights', 'denied', { qos: 1 }); // resolves on PUBACK
  await publish(bob.client, 'home/lights', 'denied too', { qos: 2 }); // resolves on PUBCOMP
  await publish(bob.client, 'sensors/marker-1', 'allowed', { qos: 1 });
  await ha.inbox.wait_for_topic('sensors/marker-1');
  assert.deepEqual(ha.inbox.before_marker('sensors/marker-1').filter((m) => m.topic === 'home/lights'), []);
  assert.ok(bob.client.connected, 'a denied publish does not end the connection');
  await end(bob.client);
  await end(ha.client);
});

test('a subscription without read access gets SUBACK 0x80', { skip }, async () => {
  const bob = await client_of(users.bob);
  // home/# is granted: bob may read home/status, one of its topics; delivery filters the rest.
  const filters = ['garden/#', 'home/status', 'sensors/#', 'users/bob/+', 'home/#'];
  assert.deepEqual(await suback_codes(bob.client, filters, 1), [0x80, 1, 0x80, 1, 1]);
  const alice = await client_of(users.alice);
  assert.deepEqual(await suback_codes(alice.client, ['home/secret/#', 'home/secret/a']), [0x80, 0x80]);
  assert.deepEqual(await subscribe(alice.client, ['#', 'sensors/+'], 0), [0, 0]);
  assert.ok(bob.client.connected && alice.client.connected);
  await end(bob.client);
  await end(alice.client);
});

test('a wildcard subscriber receives only the topics it may read; deny wins', { skip }, async () => {
  const ha = await homeassistant();
  const alice = await client_of(users.alice);
  assert.deepEqual(await subscribe(alice.client, '#', 1), [1]);
  for (const topic of ['home/a', 'home/secret/key', 'sensors/t', 'garden/x', 'users/bob/x']) {
    await publish(ha.client, topic, 'from the hub', { qos: 1 });
  }
  await publish(ha.client, 'home/marker-2', 'end', { qos: 1 });
  await alice.inbox.wait_for_topic('home/marker-2');
  const seen = alice.inbox.before_marker('home/marker-2').map((m) => m.topic);
  assert.deepEqual(seen, ['home/a', 'sensors/t']);
  await end(alice.client);
  await end(ha.client);
});

test('retained messages reach a subscriber only where it may read', { skip }, async () => {
  const ha = await homeassistant();
  await publish(ha.client, 'home/kept', 'readable', { qos: 1, retain: true });
  await publish(ha.client, 'garden/kept', 'hidden', { qos: 1, retain: true });
  const alice = await client_of(users.alice);
  assert.deepEqual(
    await suback_codes(alice.client, ['home/kept', 'garden/kept', '+/kept', 'home/marker-3'], 1),
    [1, 0x80, 1, 1],
  );
  await publish(ha.client, 'home/marker-3', 'end', { qos: 1 });
  await alice.inbox.wait_for_topic('home/marker-3');
  const seen = alice.inbox.before_marker('home/marker-3').map((m) => `${m.topic}:${m.payload}`);
  assert.ok(seen.every((t) => t === 'home/kept:readable'), JSON.stringify(seen));
  assert.ok(seen.length >= 1);
  await publish(ha.client, 'home/kept', '', { qos: 1, retain: true });
  await publish(ha.client, 'garden/kept', '', { qos: 1, retain: true });
  await end(alice.client);
  await end(ha.client);
});

test('homeassistant has full access whatever the rules', { skip }, async () => {
  const ha = await homeassistant();
  assert.deepEqual(await subscribe(ha.client, ['#', '$SYS/#'], 1), [1, 1]);
  await publish(ha.client, 'anything/at/all', 'x', { qos: 1 });
  await ha.inbox.wait_for_topic('anything/at/all');
  await ha.inbox.wait_for((m) => m.topic.startsWith('$SYS/'), 15000, 'a $SYS message');
  await end(ha.client);
});

test('%u and %c give each user and client a tree of its own', { skip }, async () => {
  const ha = await homeassistant();
  await subscribe(ha.client, ['users/#', 'clients/#']);
  const carol = await client_of(users.carol, { clientId: 'carol-lamp' });
  await publish(carol.client, 'users/carol/state', 'mine', { qos: 1 });
  await publish(carol.client, 'users/alice/state', 'not mine', { qos: 1 });
  await publish(carol.client, 'clients/carol-lamp/on', 'mine', { qos: 1 });
  await publish(carol.client, 'clients/other/on', 'not mine', { qos: 1 });
  await publish(ha.client, 'users/marker-4', 'end', { qos: 1 });
  await ha.inbox.wait_for_topic('users/marker-4');
  const seen = ha.inbox.before_marker('users/marker-4').map((m) => m.topic);
  assert.deepEqual(seen, ['users/carol/state', 'clients/carol-lamp/on']);
  assert.deepEqual(await suback_codes(carol.client, ['users/carol/#', 'users/alice/#']), [0, 0x80]);
  await end(carol.client);
  await end(ha.client);
});

test('hub users are covered like local ones', { skip }, async () => {
  const ha = await homeassistant();
  await subscribe(ha.client, '#');
  const dave = await client_of({ username: 'dave', password: 'dave-pass' });
  assert.deepEqual(await suback_codes(dave.client, ['hub/dave/#', 'home/#']), [0, 0x80]);
  await publish(dave.client, 'home/lights', 'denied', { qos: 1 });
  await publish(dave.client, 'hub/dave/state', 'allowed', { qos: 1 });
  await ha.inbox.wait_for_topic('hub/dave/state');
  await dave.inbox.wait_for_topic('hub/dave/state');
  assert.deepEqual(ha.inbox.before_marker('hub/dave/state').filter((m) => m.topic === 'home/lights'), []);
  await end(dave.client);
  await end(ha.client);
});
