// A damaged store never stops the broker: valid records are recovered, the damaged file is kept
// aside, and the log says what happened.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, is_mosquitto } from '../support/broker.mjs';
import { connect_mqtt_js, end, publish, subscribe, inbox } from '../support/mqtt_client.mjs';
import { delay } from '../support/deadline.mjs';

const skip = is_mosquitto ? 'the Mosquitto reference runs without persistence' : false;
const dirs = [];
const count = 40;

after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function store_with_retained() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-corrupt-'));
  dirs.push(dir);
  const broker = await start_broker({ data_dir: dir });
  const pub = await connect_mqtt_js(broker.port);
  for (let i = 0; i < count; i++) {
    await publish(pub.client, `keep/${i}`, `value ${i}`.padEnd(64, '.'), { qos: 1, retain: true });
  }
  await end(pub.client);
  await broker.stop();
  return dir;
}

function store_files(dir) {
  const store = path.join(dir, 'store');
  return fs.readdirSync(store).map((name) => path.join(store, name));
}

function newest_log(dir) {
  const logs = store_files(dir).filter((f) => path.basename(f).startsWith('log-'));
  assert.ok(logs.length > 0, 'the store has a log file');
  return logs.sort().at(-1);
}

async function retained_after_restart(dir) {
  const broker = await start_broker({ data_dir: dir });
  try {
    const sub = await connect_mqtt_js(broker.port);
    const box = new inbox(sub.client);
    await subscribe(sub.client, 'keep/#', 1);
    // Retained messages arrive right after SUBACK; a marker published after them ends the wait.
    await publish(sub.client, 'marker', 'x');
    await subscribe(sub.client, 'marker', 0);
    await publish(sub.client, 'marker', 'y');
    await box.wait_for_topic('marker');
    await delay(50);
    const topics = new Set(box.messages.filter((m) => m.topic.startsWith('keep/')).map((m) => m.topic));
    await end(sub.client);
    return { topics, output: broker.output };
  } finally {
    await broker.stop();
  }
}

test('a truncated log loses only its torn tail', { skip }, async () => {
  const dir = await store_with_retained();
  const log = newest_log(dir);
  fs.truncateSync(log, fs.statSync(log).size - 7);
  const { topics, output } = await retained_after_restart(dir);
  assert.ok(topics.size >= count - 1, `recovered ${topics.size} of ${count}`);
  assert.match(output, /storage: /, 'the log says what recovery did');
});

test('a flipped byte costs one record; the damaged file is kept aside', { skip }, async () => {
  const dir = await store_with_retained();
  const log = newest_log(dir);
  const data = fs.readFileSync(log);
  data[Math.floor(data.length / 2)] ^= 0xff;
  fs.writeFileSync(log, data);
  const { topics, output } = await retained_after_restart(dir);
  assert.ok(topics.size >= count - 1, `recovered ${topics.size} of ${count}`);
  assert.ok(
    store_files(dir).some((f) => path.basename(f).includes('.corrupt-')),
    'the damaged file is kept aside, never deleted',
  );
  assert.match(output, /corrupt|damage/i, 'the log names the damage');
});
