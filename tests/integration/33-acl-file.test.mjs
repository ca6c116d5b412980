// Access control from a Mosquitto acl_file, found through `customize` in the share folder the way
// Mosquitto add-on users set it up (an `acl_file /share/mosquitto/...` line in a .conf file), driven
// by mosquitto_pub and mosquitto_sub. Our broker only (the customize folder is an add-on option).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { child_program, run_program } from '../support/child_process.mjs';
import { free_tcp_port } from '../support/free_port.mjs';

const skip = is_mosquitto ? 'the customize folder is ours' : false;
const program_deadline_ms = 8000;
const alice = { username: 'alice', password: 'alice-pass' };
const bob = { username: 'bob', password: 'bob-pass' };

const acl_conf = `# written for the Mosquitto add-on
acl_file /share/mosquitto/accesscontrollist
allow_anonymous false
`;
const extra_conf = 'log_type all\nallow_anonymous true\n';
const acl_text = `# Mosquitto syntax, unchanged
user addons
topic readwrite #

user homeassistant
topic readwrite #

user alice
topic readwrite home/#
topic deny home/secret
topic write commands/#

pattern readwrite users/%u/#
`;

function make_share(files) {
  const share = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-share-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(share, name)), { recursive: true });
    fs.writeFileSync(path.join(share, name), text);
  }
  return share;
}

const options = {
  logins: [test_user, alice, bob],
  customize: { active: true, folder: 'mosquitto' },
};
let share;
let broker;

before(async () => {
  if (skip) return;
  share = make_share({
    'mosquitto/acl.conf': acl_conf,
    'mosquitto/zz-extra.conf': extra_conf,
    'mosquitto/accesscontrollist': acl_text,
  });
  broker = await start_broker({
    options,
    more: async () => ({ args: ['--share-dir', share], ready: [], info: null }),
  });
});

after(async () => {
  await broker?.stop();
  if (share) fs.rmSync(share, { recursive: true, force: true });
});

function connection_args(user) {
  return ['-h', '127.0.0.1', '-p', String(broker.port), '-u', user.username, '-P', user.password];
}

async function mosquitto_pub(user, topic, message) {
  const args = [...connection_args(user), '-t', topic, '-m', message, '-q', '1'];
  const result = await run_program('mosquitto_pub', args, program_deadline_ms);
  assert.equal(result.code, 0, `mosquitto_pub failed\n${result.describe}`);
}

// mosquitto_sub as `user` on `filter`, printing "MESSAGE topic payload"; resolves once subscribed.
async function mosquitto_sub(user, filter) {
  const sub = new child_program('stdbuf', [
    '-oL',
    'mosquitto_sub',
    ...connection_args(user),
    '-t', filter,
    '-q', '1',
    '-W', '8',
    '-d',
    '-F', 'MESSAGE %t %p',
  ]);
  // -d prints the SUBACK's granted QoS: only then is the subscription in place.
  const line = await sub.wait_for_output(/^Subscribed \(mid: \d+\): /, program_deadline_ms, 'SUBACK');
  return { sub, line };
}

function messages(sub) {
  return sub.stdout.split('\n').filter((l) => l.startsWith('MESSAGE ')).map((l) => l.slice(8));
}

test('the acl_file is found through customize, other directives are warned once', { skip }, async () => {
  const file = path.join(share, 'mosquitto', 'accesscontrollist');
  assert.match(broker.output, new RegExp(`access control: .*acl_file ${file}`));
  const warnings = broker.output.split('\n').filter((l) => /'allow_anonymous' is not supported/.test(l));
  assert.equal(warnings.length, 1, broker.output);
  assert.match(broker.output, /zz-extra\.conf:1: 'log_type' is not supported/);
});

test('a user block allows its topics, deny wins, and the rest is denied', { skip }, async () => {
  const ha = { username: 'homeassistant', password: broker.system_password('homeassistant') };
  const { sub } = await mosquitto_sub(ha, '#');
  try {
    await mosquitto_pub(alice, 'home/light', 'on');
    await mosquitto_pub(alice, 'home/secret', 'denied');
    await mosquitto_pub(alice, 'garden/light', 'denied');
    await mosquitto_pub(alice, 'commands/fan', 'write only');
    await mosquitto_pub(alice, 'home/marker', 'end');
    await sub.wait_for_output(/^MESSAGE home\/marker end$/, program_deadline_ms, 'the marker');
    assert.deepEqual(messages(sub), ['home/light on', 'commands/fan write only', 'home/marker end']);
  } finally {
    sub.kill();
  }
});

test('mosquitto_sub as a restricted user on # receives only readable topics', { skip }, async () => {
  const { sub, line } = await mosquitto_sub(alice, '#');
  try {
    assert.match(line, /: 1$/); // granted: some of what # matches is readable
    const ha = { username: 'homeassistant', password: broker.system_password('homeassistant') };
    for (const topic of ['home/a', 'home/secret', 'commands/fan', 'garden/x', 'users/alice/x']) {
      await mosquitto_pub(ha, topic, 'x');
    }
    await mosquitto_pub(ha, 'home/marker', 'end');
    await sub.wait_for_output(/^MESSAGE home\/marker end$/, program_deadline_ms, 'the marker');
    // users/alice/x comes from the pattern; commands/ is write-only for alice.
    assert.deepEqual(messages(sub), ['home/a x', 'users/alice/x x', 'home/marker end']);
  } finally {
    sub.kill();
  }
});

test('a refused subscription is SUBACK 0x80 for mosquitto_sub', { skip }, async () => {
  const { sub, line } = await mosquitto_sub(alice, 'garden/#');
  sub.kill();
  assert.match(line, /: 128$/);
});

test('a pattern gives every user a tree of its own (%u)', { skip }, async () => {
  const ha = { username: 'homeassistant', password: broker.system_password('homeassistant') };
  const { sub } = await mosquitto_sub(ha, 'users/#');
  try {
    await mosquitto_pub(bob, 'users/bob/state', 'mine');
    await mosquitto_pub(bob, 'users/alice/state', 'not mine');
    await mosquitto_pub(bob, 'home/light', 'not bob\'s');
    await mosquitto_pub(ha, 'users/marker', 'end');
    await sub.wait_for_output(/^MESSAGE users\/marker end$/, program_deadline_ms, 'the marker');
    assert.deepEqual(messages(sub), ['users/bob/state mine', 'users/marker end']);
  } finally {
    sub.kill();
  }
});

// A start that must fail: the broker exits by itself; returns its status and output.
async function run_to_exit(share_dir) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-exit-'));
  try {
    fs.writeFileSync(path.join(dir, 'options.json'), JSON.stringify(options));
    const binary =
      process.env.MQTT_BROKER_BIN ||
      fileURLToPath(new URL('../../build/mqtt-broker', import.meta.url));
    const args = ['--options', path.join(dir, 'options.json'), '--data-dir', path.join(dir, 'data'),
      '--share-dir', share_dir, '--bind', '127.0.0.1', '--mqtt-port', String(await free_tcp_port()),
      '--ws-port', '0', '--mqtts-port', '0', '--wss-port', '0'];
    const program = new child_program(binary, args);
    const { code } = await program.wait_exit(5000);
    return { code, output: program.stdout + program.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('an invalid acl_file stops the start, naming the file and line', { skip }, async () => {
  const bad = make_share({
    'mosquitto/acl.conf': 'acl_file acl\n',
    'mosquitto/acl': 'user alice\ntopic sometimes home/#\n',
  });
  try {
    const { code, output } = await run_to_exit(bad);
    assert.equal(code, 1, output);
    assert.match(output, /invalid acl_file: .*mosquitto\/acl:2: access must be one of read, write/);
  } finally {
    fs.rmSync(bad, { recursive: true, force: true });
  }
});

test('a missing acl_file stops the start rather than open every topic', { skip }, async () => {
  const bad = make_share({ 'mosquitto/acl.conf': 'acl_file /share/mosquitto/nowhere\n' });
  try {
    const { code, output } = await run_to_exit(bad);
    assert.equal(code, 1, output);
    assert.match(output, /cannot read the acl_file .*mosquitto\/nowhere/);
  } finally {
    fs.rmSync(bad, { recursive: true, force: true });
  }
});
