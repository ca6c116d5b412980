// CONNECT and CONNACK: logins, protocol levels, client id rules, the first and second CONNECT.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { connect, pingreq } from '../support/mqtt_bytes.mjs';
import { wait_until } from '../support/deadline.mjs';
import { connect_mqtt_js, end } from '../support/mqtt_client.mjs';

let broker;
const login = { username: test_user.username, password: test_user.password };

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

test('a known login is accepted with return code 0', async () => {
  const { client, connack } = await raw_client.connect(broker.port, { client_id: 'c1', ...login });
  assert.equal(connack.return_code, 0);
  assert.equal(connack.session_present, false);
  await client.ping();
  client.destroy();
});

test('an anonymous client is refused with return code 5 and closed', async () => {
  const { client, connack } = await raw_client.connect(broker.port, { client_id: 'anon' });
  assert.equal(connack.return_code, 5);
  // [MQTT-3.2.2-5] a refusing CONNACK is followed by closing the connection.
  await client.wait_closed();
});

test('a wrong password is refused and closed', async () => {
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: 'bad-password',
    username: test_user.username,
    password: 'not-the-password',
  });
  // Ours says "bad user name or password" (4); Mosquitto says "not authorized" (5) for the same.
  assert.equal(connack.return_code, is_mosquitto ? 5 : 4);
  await client.wait_closed();
});

test('a refused login is logged with its client id, never with its password', async () => {
  const secret = 'never-log-this-secret';
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: 'log-check',
    username: test_user.username,
    password: secret,
  });
  assert.notEqual(connack.return_code, 0);
  await client.wait_closed();
  // Mosquitto logs refusals before it knows the client id: "Client <unknown> ... not authorised".
  const line = is_mosquitto ? /not authori[sz]ed/ : /\[log-check\].*refused/;
  await wait_until(() => line.test(broker.output), 2000, `a log line matching ${line}`);
  assert.equal(broker.output.includes(secret), false, 'the password is in the log');
});

test('an unknown user is refused and closed', async () => {
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: 'unknown-user',
    username: 'nobody-knows-me',
    password: 'whatever',
  });
  assert.ok([4, 5].includes(connack.return_code), `return code ${connack.return_code}`);
  await client.wait_closed();
});

test('a user name without a password is refused', async () => {
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: 'no-password',
    username: test_user.username,
  });
  assert.ok([4, 5].includes(connack.return_code), `return code ${connack.return_code}`);
  await client.wait_closed();
});

test('an unsupported protocol level gets return code 1, then the connection closes', async () => {
  // [MQTT-3.1.2-2]
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: 'level-6',
    protocol_level: 6,
    protocol_name: 'MQTT',
    ...login,
  });
  assert.equal(connack.return_code, 1);
  await client.wait_closed();
});

test('an MQTT 5.0 client connects beside 3.1.1 ones', async () => {
  // Its twin area, 60-mqtt5-connect, checks the 5.0 CONNACK in detail.
  const { client, connack } = await connect_mqtt_js(broker.port, { protocolVersion: 5 });
  assert.equal(connack.reasonCode ?? 0, 0);
  await end(client);
});

test('MQTT 3.1 (MQIsdp, level 3) connects', async () => {
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: 'mqtt-3-1',
    protocol_level: 3,
    ...login,
  });
  assert.equal(connack.return_code, 0);
  await client.ping();
  client.destroy();
});

test('an empty client id with clean session 0 is refused with return code 2', async () => {
  // [MQTT-3.1.3-8]
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: '',
    clean: false,
    ...login,
  });
  assert.equal(connack.return_code, 2);
  await client.wait_closed();
});

test('an empty client id with clean session 1 is accepted', async () => {
  // [MQTT-3.1.3-6]
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: '',
    clean: true,
    ...login,
  });
  assert.equal(connack.return_code, 0);
  await client.ping();
  client.destroy();
});

test('a second CONNECT on the same connection closes it', async () => {
  // [MQTT-3.1.0-2]
  const client = await raw_client.connect_accepted(broker.port, { client_id: 'twice', ...login });
  client.send(connect({ client_id: 'twice', ...login }));
  await client.wait_closed();
  assert.equal(client.packets.length, 0, 'no CONNACK for the second CONNECT');
});

test('a first packet other than CONNECT closes the connection', async () => {
  // [MQTT-3.1.0-1]
  const client = await raw_client.open(broker.port);
  client.send(pingreq());
  await client.wait_closed();
  assert.equal(client.packets.length, 0, 'no PINGRESP before CONNECT');
});

test('the generated homeassistant user logs in with the password in system_user.json', async () => {
  const file = path.join(broker.data_dir, 'system_user.json');
  const users = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const name of ['homeassistant', 'addons']) {
    assert.ok(users[name].password.length >= 64, `${name} password length`);
  }
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const { client, connack } = await raw_client.connect(broker.port, {
    client_id: 'hub',
    username: 'homeassistant',
    password: users.homeassistant.password,
  });
  assert.equal(connack.return_code, 0);
  client.destroy();
});

test('a restart keeps the generated passwords', async () => {
  // CONTRACT.md: system_user.json is reused on every later start.
  const data_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-restart-'));
  try {
    const first = await start_broker({ data_dir });
    const before = first.system_password('homeassistant');
    await first.stop();
    const second = await start_broker({ data_dir });
    try {
      assert.equal(second.system_password('homeassistant'), before);
      const { client, connack } = await raw_client.connect(second.port, {
        client_id: 'hub-again',
        username: 'homeassistant',
        password: before,
      });
      assert.equal(connack.return_code, 0);
      client.destroy();
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(data_dir, { recursive: true, force: true });
  }
});

test('SIGTERM stops the broker with exit status 0', async () => {
  const client = await raw_client.connect_accepted(broker.port, { client_id: 'last', ...login });
  const status = await broker.stop();
  assert.deepEqual(status, { code: 0, signal: null });
  await client.wait_closed();
});
