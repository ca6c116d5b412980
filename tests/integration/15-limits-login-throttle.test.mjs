// Password guessing is slowed (issue 8): failed logins for one user name, or from one address,
// make further attempts wait, to a few per second and fewer, while other users log in at once.
// Every client here comes from 127.0.0.1, so "another user" is also "the same address".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start_broker, is_mosquitto, test_user } from '../support/broker.mjs';
import { connect_mqtt_js, end, subscribe } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { with_deadline } from '../support/deadline.mjs';

const skip = is_mosquitto ? 'Mosquitto does not throttle logins' : false;
const victim = { username: 'victim', password: 'correct horse battery staple' };
const alice = { username: 'alice', password: 'alice-secret' };
const attack_ms = 3000;

// One login attempt, answered or not: its CONNACK return code and how long it took.
async function try_login(port, username, password) {
  const started = Date.now();
  const { client, connack } = await raw_client.connect(
    port,
    { client_id: `attempt-${started}-${Math.floor(Math.random() * 1e6)}`, username, password },
    15000,
  );
  client.destroy();
  return { code: connack.return_code, ms: Date.now() - started };
}

// Guesses in sequence, each after the last answer, for `ms`; returns the attempts made.
async function guess_for(port, ms, username_of) {
  const attempts = [];
  const end_at = Date.now() + ms;
  for (let i = 0; Date.now() < end_at; i++) {
    attempts.push(await try_login(port, username_of(i), `wrong-password-${i}`));
  }
  return attempts;
}

test('guessing one user\'s password is slowed while another user logs in at once', { skip }, async () => {
  const broker = await start_broker({ options: { logins: [test_user, victim, alice] } });
  try {
    const watcher = await connect_mqtt_js(broker.port);
    await subscribe(watcher.client, ['$SYS/broker/limits/logins/throttled']);
    const attack = guess_for(broker.port, attack_ms, () => victim.username);
    // Alice logs in now and then during the attack, from the same address.
    const alice_ms = [];
    const end_at = Date.now() + attack_ms;
    while (Date.now() < end_at) {
      const started = Date.now();
      const c = await connect_mqtt_js(broker.port, alice);
      alice_ms.push(Date.now() - started);
      await end(c.client);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const attempts = await attack;
    for (const a of attempts) assert.equal(a.code, 4, 'every guess is refused as a bad password');
    console.error(
      `guessing for ${attack_ms} ms: ${attempts.length} attempts ` +
        `(${attempts.map((a) => a.ms).join(', ')} ms each); alice's logins took ` +
        `${alice_ms.join(', ')} ms`,
    );
    // Five free, then 0.5 s, 1 s, 2 s apart: about 8 in 3 s, where hundreds would go unthrottled.
    assert.ok(attempts.length >= 6 && attempts.length <= 12, `${attempts.length} attempts in 3 s`);
    assert.ok(Math.max(...alice_ms) < 500, `alice waited ${Math.max(...alice_ms)} ms`);
    const lines = broker.output.match(/login throttle: user 'victim'/g) ?? [];
    assert.equal(lines.length, 1, 'one log line for the guessed name, not one per attempt');
    assert.doesNotMatch(broker.output, /correct horse|wrong-password-/, 'no password in the log');
    await watcher.inbox.wait_for((m) => Number(m.payload) > 0, 12000, 'a throttled count');
    await end(watcher.client);

    // The right password still gets in, once its turn comes.
    const started = Date.now();
    const right = await with_deadline(
      try_login(broker.port, victim.username, victim.password).catch((e) => ({ error: e })),
      15000,
      'the right password',
    );
    assert.equal(right.code, 0, 'the right password is accepted');
    console.error(`the right password after the attack: accepted in ${Date.now() - started} ms`);
  } finally {
    await broker.stop();
  }
});

test('trying many user names from one address gets slower answers, and a real user still gets in', { skip }, async () => {
  const broker = await start_broker({ options: { logins: [test_user, alice] } });
  try {
    const attempts = await guess_for(broker.port, attack_ms, (i) => `nobody-${i}`);
    for (const a of attempts) assert.equal(a.code, 4);
    console.error(
      `spraying names for ${attack_ms} ms: ${attempts.length} attempts ` +
        `(${attempts.map((a) => a.ms).join(', ')} ms each)`,
    );
    // Ten free, then refusals held 0.25 s, 0.5 s, 1 s, 2 s: about 14 in 3 s.
    assert.ok(attempts.length <= 18, `${attempts.length} attempts in 3 s`);
    assert.ok(attempts.at(-1).ms >= 900, 'the refusals come slower and slower');
    const lines = broker.output.match(/login throttle: \d+ failed logins from 127\.0\.0\.1/g) ?? [];
    assert.equal(lines.length, 1, 'one log line for the address');
    const started = Date.now();
    const c = await connect_mqtt_js(broker.port, alice);
    assert.ok(Date.now() - started < 500, 'alice logs in at once');
    await end(c.client);
  } finally {
    await broker.stop();
  }
});
