// Our broker with a Mosquitto bridge file in its customize folder, and waits on the bridge.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user } from './broker.mjs';
import { publish } from './mqtt_client.mjs';
import { wait_until } from './deadline.mjs';

// MQTT.js options for the remote Mosquitto, which lets anonymous clients in.
export const anonymous = { username: undefined, password: undefined };

// Starts our broker reading `conf` as <share>/mosquitto/bridge.conf. `cleanups` gets what to
// undo at the end (the share folder, the broker).
export async function start_bridged_broker(conf, cleanups, { data_dir, ssl_dir } = {}) {
  const share = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-bridge-share-'));
  fs.mkdirSync(path.join(share, 'mosquitto'));
  fs.writeFileSync(path.join(share, 'mosquitto', 'bridge.conf'), conf);
  cleanups.push(() => fs.rmSync(share, { recursive: true, force: true }));
  const args = ['--share-dir', share, ...(ssl_dir ? ['--ssl-dir', ssl_dir] : [])];
  const broker = await start_broker({
    options: { logins: [test_user], customize: { active: true, folder: 'mosquitto' } },
    data_dir,
    more: async () => ({ args, ready: [], info: null }),
  });
  cleanups.push(() => broker.running && broker.stop());
  return broker;
}

function count(text, pattern) {
  return (text.match(new RegExp(pattern, 'g')) ?? []).length;
}

// Waits for the `times`-th "bridge <name>: connected" line.
export async function bridge_connected(broker, name, times = 1) {
  await wait_until(
    () => count(broker.output, `bridge ${name}: connected`) >= times,
    10000,
    `bridge ${name} connected (${times})\n${broker.output}`,
  );
}

// A remote subscription is in place once a probe goes through: publish until one arrives.
export async function until_flowing(pub, topic, inbox, expected_topic) {
  for (let i = 0; i < 100; i++) {
    await publish(pub, topic, `probe-${i}`, { qos: 1 });
    try {
      await inbox.wait_for((m) => m.topic === expected_topic, 100);
      return;
    } catch {
      // not yet
    }
  }
  throw new Error(`nothing arrived on ${expected_topic}`);
}
