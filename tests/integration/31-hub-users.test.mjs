// Hub users (CONTRACT.md "Hub users"): a login the broker does not know goes to the Supervisor's
// /auth; 200 accepts, 401/403 refuse (return code 4), anything else or no answer refuses with
// "server unavailable" (3); accepted logins are cached briefly; system users and `logins` users are
// never sent to the hub. Our broker only: Mosquitto has no Supervisor client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { fake_supervisor, fake_token, is_request } from '../support/fake_supervisor.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { packet_type } from '../support/mqtt_bytes.mjs';
import { connect5, read_connack } from '../support/mqtt5_bytes.mjs';
import { connect_mqtt_js, end } from '../support/mqtt_client.mjs';

const skip = is_mosquitto ? 'Mosquitto has no Supervisor client' : false;
const hub_user = { username: 'dave', password: 'hub-pass' };
const auth = is_request('POST', '/auth');

// A `password_pre_hashed` login as the Mosquitto add-on's `pw` tool writes it.
function pbkdf2_string(password, iterations = 1000) {
  const salt = crypto.randomBytes(12);
  const key = crypto.pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `PBKDF2$sha512$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}
const hashed_user = { username: 'hashed', password: 'hashed-pass' };

let supervisor;
let broker;
let counter = 0;

before(async () => {
  if (skip) return;
  supervisor = await fake_supervisor.start({ users: { [hub_user.username]: hub_user.password } });
  const logins = [
    test_user,
    { username: hashed_user.username, password: pbkdf2_string(hashed_user.password), password_pre_hashed: true },
  ];
  broker = await start_broker({ options: { logins }, env: supervisor.env() });
});

after(async () => {
  await broker?.stop();
  await supervisor?.close();
});

// A fresh state for each test: the fake back to normal, its log cleared.
function reset() {
  supervisor.mode = 'ok';
  supervisor.delay_ms = 0;
  supervisor.auth_status = null;
  supervisor.requests.length = 0;
}

async function connack_for(username, password, ms = 3000) {
  counter += 1;
  const { client, connack } = await raw_client.connect(
    broker.port,
    { client_id: `hub-${counter}`, username, password },
    ms,
  );
  if (connack.return_code !== 0) await client.wait_closed();
  client.destroy();
  return connack.return_code;
}

test('a hub user is accepted when /auth answers 200', { skip }, async () => {
  reset();
  assert.equal(await connack_for('dave', 'hub-pass'), 0);
  const [request] = supervisor.seen(auth);
  assert.deepEqual(request.json, { username: 'dave', password: 'hub-pass' });
  assert.equal(request.headers['x-supervisor-token'], fake_token);
  assert.equal(request.headers['content-type'], 'application/json');
});

test('a wrong hub password (401) is refused with return code 4', { skip }, async () => {
  reset();
  assert.equal(await connack_for('dave', 'not-it'), 4);
  assert.equal(await connack_for('nobody', 'x'), 4);
  assert.equal(supervisor.seen(auth).length, 2);
});

test('403 from /auth is refused with return code 4', { skip }, async () => {
  reset();
  supervisor.auth_status = 403;
  assert.equal(await connack_for('erin', 'pw-403'), 4);
});

test('HTTP 500 from /auth is "server unavailable" (3), never accepted', { skip }, async () => {
  reset();
  supervisor.auth_status = 500;
  assert.equal(await connack_for('erin', 'pw-500'), 3);
  assert.match(broker.output, /hub logins: the Supervisor cannot say \(HTTP 500/);
});

test('a 5.0 client gets 0x86 for a refused hub login and 0x88 when the hub cannot say', { skip }, async () => {
  const reason_for = async (client_id, password) => {
    const client = await raw_client.open(broker.port);
    client.send(connect5({ client_id, username: 'dave', password }));
    const connack = read_connack(await client.expect(packet_type.connack));
    await client.wait_closed();
    return connack.reason;
  };
  reset();
  assert.equal(await reason_for('hub5-401', 'not-it'), 0x86);
  supervisor.auth_status = 500;
  assert.equal(await reason_for('hub5-500', 'pw-500-v5'), 0x88);
  assert.match(broker.output, /\[hub5-500\] connection refused: .*MQTT 5\.0, reason 0x88 server unavailable/);
});

test('no answer from /auth in time is "server unavailable" (3)', { skip }, async () => {
  reset();
  supervisor.delay_ms = 8000;
  const start = Date.now();
  assert.equal(await connack_for('frank', 'slow-pass', 9000), 3);
  const took = Date.now() - start;
  assert.ok(took >= 4500 && took < 8000, `answered after ${took} ms`);
});

test('a Supervisor that is down is "server unavailable" (3)', { skip }, async () => {
  reset();
  await supervisor.down();
  try {
    assert.equal(await connack_for('dave', 'hub-pass-down'), 3);
  } finally {
    await supervisor.up();
  }
});

test('an accepted hub login is cached: the next one asks the hub nothing', { skip }, async () => {
  reset();
  assert.equal(await connack_for('dave', 'hub-pass'), 0);
  const asked = supervisor.seen(auth).length;
  assert.ok(asked <= 1, `${asked} /auth requests`); // 0 when still cached by an earlier test
  for (let i = 0; i < 3; i++) assert.equal(await connack_for('dave', 'hub-pass'), 0);
  assert.equal(supervisor.seen(auth).length, asked);
  // Another password is another question.
  assert.equal(await connack_for('dave', 'other'), 4);
  assert.equal(supervisor.seen(auth).length, asked + 1);
});

test('many devices logging in at once with the same hub user cost one /auth', { skip }, async () => {
  reset();
  supervisor.users.henry = 'henry-pass';
  supervisor.delay_ms = 300; // all of them arrive while the first question is open
  const codes = await Promise.all(Array.from({ length: 8 }, () => connack_for('henry', 'henry-pass')));
  assert.deepEqual(codes, Array(8).fill(0));
  assert.equal(supervisor.seen(auth).length, 1);
});

test('system users and logins users are never sent to the hub', { skip }, async () => {
  reset();
  const ha = broker.system_password('homeassistant');
  const addons = broker.system_password('addons');
  assert.equal(await connack_for('homeassistant', ha), 0);
  assert.equal(await connack_for('homeassistant', 'wrong'), 4);
  assert.equal(await connack_for('addons', addons), 0);
  assert.equal(await connack_for('addons', 'wrong'), 4);
  assert.equal(await connack_for(test_user.username, test_user.password), 0);
  assert.equal(await connack_for(test_user.username, 'wrong'), 4);
  assert.equal(await connack_for(hashed_user.username, hashed_user.password), 0);
  assert.equal(await connack_for(hashed_user.username, hashed_user.password), 0); // cached
  assert.equal(await connack_for(hashed_user.username, 'wrong'), 4);
  // Even with the hub's user of the same name and password: local users are decided locally.
  supervisor.users[test_user.username] = 'hub-version';
  assert.equal(await connack_for(test_user.username, 'hub-version'), 4);
  assert.equal(supervisor.seen(auth).length, 0);
});

test('a hub user works with MQTT.js end to end', { skip }, async () => {
  reset();
  const { client } = await connect_mqtt_js(broker.port, { ...hub_user });
  assert.ok(client.connected);
  await end(client);
});
