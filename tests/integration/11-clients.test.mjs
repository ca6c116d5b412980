// Real client programs against the broker: mosquitto_pub/mosquitto_sub (apt mosquitto-clients)
// with MQTT 3.1.1 and 3.1, and the Python client Home Assistant uses (apt python3-paho-mqtt).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { start_broker, test_user } from '../support/broker.mjs';
import { child_program, run_program } from '../support/child_process.mjs';

const paho_script = fileURLToPath(new URL('../support/paho_client.py', import.meta.url));
// Debian's python3 with Debian's paho-mqtt, as the brief of the add-on asks; not a venv's.
const python = process.env.MQTT_TEST_PYTHON || '/usr/bin/python3';
const program_deadline_ms = 8000;
let broker;

before(async () => {
  broker = await start_broker();
});

after(async () => {
  await broker?.stop();
});

function connection_args(version, user = test_user) {
  return [
    '-h', '127.0.0.1',
    '-p', String(broker.port),
    '-u', user.username,
    '-P', user.password,
    '-V', version,
  ];
}

async function mosquitto_pub(version, args) {
  const result = await run_program(
    'mosquitto_pub',
    [...connection_args(version), ...args],
    program_deadline_ms,
  );
  assert.equal(result.code, 0, `mosquitto_pub failed\n${result.describe}`);
}

for (const version of ['mqttv311', 'mqttv31']) {
  test(`mosquitto_sub receives what mosquitto_pub sends (${version})`, async () => {
    const topic = `clients/${version}/live`;
    // stdbuf: mosquitto_sub's debug lines are block-buffered on a pipe.
    const sub = new child_program('stdbuf', [
      '-oL',
      'mosquitto_sub',
      ...connection_args(version),
      '-t', topic,
      '-q', '1',
      '-C', '1',
      '-W', '6',
      '-d',
      '-F', 'MESSAGE %t %q %p',
    ]);
    try {
      // -d prints the SUBACK: only then is the subscription in place.
      await sub.wait_for_output(/SUBACK/, program_deadline_ms, 'the SUBACK');
      await mosquitto_pub(version, ['-t', topic, '-q', '1', '-m', `hello over ${version}`]);
      const line = await sub.wait_for_output(/^MESSAGE /, program_deadline_ms, 'the message');
      assert.equal(line, `MESSAGE ${topic} 1 hello over ${version}`);
      const status = await sub.wait_exit(program_deadline_ms);
      assert.equal(status.code, 0, sub.describe());
    } finally {
      sub.kill();
    }
  });
}

test('mosquitto_sub -C 1 gets a retained message published with mosquitto_pub -r', async () => {
  const topic = 'clients/retained';
  await mosquitto_pub('mqttv311', ['-t', topic, '-r', '-q', '1', '-m', 'kept for later']);
  const result = await run_program(
    'mosquitto_sub',
    [...connection_args('mqttv311'), '-t', topic, '-C', '1', '-W', '5', '-v'],
    program_deadline_ms,
  );
  assert.equal(result.code, 0, result.describe);
  assert.equal(result.stdout, `${topic} kept for later\n`);
});

test('mosquitto_pub with a wrong password is refused', async () => {
  const result = await run_program(
    'mosquitto_pub',
    [
      ...connection_args('mqttv311', { username: test_user.username, password: 'wrong' }),
      '-t', 'clients/refused',
      '-m', 'x',
    ],
    program_deadline_ms,
  );
  assert.notEqual(result.code, 0, 'mosquitto_pub succeeded with a wrong password');
  assert.match(result.stderr, /refused|not authori[sz]ed|bad user name or password/i);
});

async function paho_round_trip(protocol, user, client_id) {
  const result = await run_program(
    python,
    [
      paho_script,
      '--port', String(broker.port),
      '--username', user.username,
      '--password', user.password,
      '--protocol', protocol,
      '--client-id', client_id,
      '--topic', `clients/paho/${client_id}`,
      '--payload', `from paho ${protocol}`,
    ],
    program_deadline_ms,
  );
  assert.equal(result.code, 0, `paho client failed\n${result.describe}`);
  return JSON.parse(result.stdout.trim());
}

for (const protocol of ['3.1.1', '3.1']) {
  test(`paho-mqtt connects with MQTT ${protocol} and round-trips a message`, async () => {
    const id = `paho-${protocol.replaceAll('.', '')}`;
    const out = await paho_round_trip(protocol, test_user, id);
    assert.equal(out.connack, 0);
    assert.deepEqual(out.granted, [1]);
    assert.deepEqual(out.received, {
      topic: `clients/paho/${id}`,
      payload: `from paho ${protocol}`,
      qos: 1,
    });
  });
}

test('paho-mqtt logs in as the generated homeassistant user', async () => {
  const user = { username: 'homeassistant', password: broker.system_password('homeassistant') };
  const out = await paho_round_trip('3.1.1', user, 'home-assistant');
  assert.equal(out.connack, 0);
  assert.equal(out.received.payload, 'from paho 3.1.1');
});
