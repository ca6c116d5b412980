// Discovery and the mqtt service through the Supervisor (CONTRACT.md "Discovery"), against the
// fake Supervisor in tests/support: the exact requests, retries while it is away, the withdrawal
// at shutdown. Our broker only: Mosquitto has no Supervisor client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { fake_supervisor, fake_token, is_request } from '../support/fake_supervisor.mjs';
import { free_tcp_port } from '../support/free_port.mjs';
import { delay } from '../support/deadline.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { connect_mqtt_js, subscribe, publish, end } from '../support/mqtt_client.mjs';

const skip = is_mosquitto ? 'Mosquitto has no Supervisor client' : false;
const announce_ms = 5000;

const service_posted = is_request('POST', '/services/mqtt');

function expected_config(broker, username) {
  return {
    host: os.hostname(),
    port: broker.port,
    ssl: false,
    protocol: '3.1.1',
    username,
    password: broker.system_password(username),
  };
}

async function with_broker(supervisor, body, env = supervisor.env()) {
  const broker = await start_broker({ options: { logins: [test_user] }, env });
  try {
    await body(broker);
  } finally {
    if (broker.running) await broker.stop();
    await supervisor.close();
  }
}

test('discovery, then the mqtt service replaced, with the token and the exact content type', { skip }, async () => {
  const supervisor = await fake_supervisor.start();
  await with_broker(supervisor, async (broker) => {
    await supervisor.wait_for(service_posted, announce_ms, 'POST /services/mqtt');
    const calls = supervisor.requests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(calls, ['POST /discovery', 'DELETE /services/mqtt', 'POST /services/mqtt']);
    for (const r of supervisor.requests) {
      assert.equal(r.headers['x-supervisor-token'], fake_token, `${r.method} ${r.path}`);
      assert.equal(r.headers['content-type'], 'application/json', `${r.method} ${r.path}`);
    }
    assert.deepEqual(supervisor.requests[0].json, {
      service: 'mqtt',
      config: expected_config(broker, 'homeassistant'),
    });
    assert.deepEqual(supervisor.requests[2].json, expected_config(broker, 'addons'));
    // The credentials handed out work.
    for (const username of ['homeassistant', 'addons']) {
      const client = await raw_client.connect_accepted(broker.port, {
        client_id: `discovered-${username}`,
        username,
        password: broker.system_password(username),
      });
      client.destroy();
    }
  });
});

test('SIGTERM withdraws the mqtt service and leaves the discovery in place', { skip }, async () => {
  const supervisor = await fake_supervisor.start();
  await with_broker(supervisor, async (broker) => {
    await supervisor.wait_for(service_posted, announce_ms, 'POST /services/mqtt');
    const status = await broker.stop();
    assert.deepEqual(status, { code: 0, signal: null });
    const last = supervisor.requests.at(-1);
    assert.equal(`${last.method} ${last.path}`, 'DELETE /services/mqtt');
    assert.equal(last.headers['x-supervisor-token'], fake_token);
    assert.equal(last.headers['content-type'], 'application/json');
    assert.equal(supervisor.services.size, 0);
    assert.equal(supervisor.seen((r) => r.method === 'DELETE' && r.path !== '/services/mqtt').length, 0);
    assert.equal(supervisor.discoveries.length, 1);
  });
});

test('a Supervisor down at start: MQTT is served meanwhile, discovery arrives after a retry', { skip }, async () => {
  const supervisor = new fake_supervisor({ port: await free_tcp_port() }); // not listening yet
  await with_broker(supervisor, async (broker) => {
    const { client, inbox } = await connect_mqtt_js(broker.port);
    await subscribe(client, 'while/down');
    await publish(client, 'while/down', 'served', { qos: 1 });
    await inbox.wait_for_topic('while/down');
    await delay(1500); // at least one attempt has failed by now
    assert.equal(supervisor.requests.length, 0);
    await supervisor.up();
    await supervisor.wait_for(service_posted, 15000, 'POST /services/mqtt after the retry');
    assert.equal(supervisor.seen(is_request('POST', '/discovery')).length, 1);
    assert.ok(client.connected, 'the MQTT client stayed connected throughout');
    await end(client);
    // One warning for the outage, not one per attempt.
    const failures = broker.output.split('\n').filter((l) => /discovery message failed/.test(l));
    assert.equal(failures.length, 1, broker.output);
    assert.match(broker.output, /Supervisor: answered after \d+ failed attempts/);
  });
});

test('a failing Supervisor (HTTP 500) is retried until it answers', { skip }, async () => {
  const supervisor = await fake_supervisor.start();
  supervisor.mode = 'failing';
  await with_broker(supervisor, async () => {
    const discovery = is_request('POST', '/discovery');
    await supervisor.wait_for(discovery, 8000, 'a second POST /discovery', 2);
    supervisor.mode = 'ok';
    await supervisor.wait_for(service_posted, 15000, 'POST /services/mqtt once it answers');
    assert.equal(supervisor.discoveries.length, 1);
    assert.equal(supervisor.services.get('mqtt').username, 'addons');
  });
});

test('HASSIO_TOKEN is read when SUPERVISOR_TOKEN is not set', { skip }, async () => {
  const supervisor = await fake_supervisor.start();
  const env = { SUPERVISOR_API: supervisor.url, SUPERVISOR_TOKEN: '', HASSIO_TOKEN: fake_token };
  await with_broker(
    supervisor,
    async () => {
      await supervisor.wait_for(service_posted, announce_ms, 'POST /services/mqtt');
      assert.equal(supervisor.requests[0].headers['x-supervisor-token'], fake_token);
    },
    env,
  );
});

test('without a token nothing reaches the Supervisor and the broker runs standalone', { skip }, async () => {
  const supervisor = await fake_supervisor.start({ users: { dave: 'hub-pass' } });
  const env = { SUPERVISOR_API: supervisor.url, SUPERVISOR_TOKEN: '', HASSIO_TOKEN: '' };
  await with_broker(
    supervisor,
    async (broker) => {
      assert.match(broker.output, /running standalone/);
      const { client, connack } = await raw_client.connect(broker.port, {
        client_id: 'standalone-hub-user',
        username: 'dave',
        password: 'hub-pass',
      });
      assert.equal(connack.return_code, 4); // unknown locally: bad user name or password
      client.destroy();
      await delay(300);
      assert.equal(supervisor.requests.length, 0);
    },
    env,
  );
  assert.equal(supervisor.requests.length, 0); // not even at shutdown
});
