// Our broker with a Mosquitto bridge file in its customize folder, and waits on the bridge.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user } from './broker.mjs';
import { publish } from './mqtt_client.mjs';
import { wait_until } from './deadline.mjs';
import { free_tcp_port } from './free_port.mjs';

// MQTT.js options for the remote Mosquitto, which lets anonymous clients in.
export const anonymous = { username: undefined, password: undefined };

// Starts our broker reading `conf` as <share>/mosquitto/bridge.conf. `cleanups` gets what to
// undo at the end (the share folder, the broker).
// `ingress`: also serve /metrics (broker.ingress_port).
export async function start_bridged_broker(conf, cleanups, { data_dir, ssl_dir, ingress } = {}) {
  const share = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-bridge-share-'));
  fs.mkdirSync(path.join(share, 'mosquitto'));
  fs.writeFileSync(path.join(share, 'mosquitto', 'bridge.conf'), conf);
  cleanups.push(() => fs.rmSync(share, { recursive: true, force: true }));
  const args = ['--share-dir', share, ...(ssl_dir ? ['--ssl-dir', ssl_dir] : [])];
  const broker = await start_broker({
    options: { logins: [test_user], customize: { active: true, folder: 'mosquitto' } },
    data_dir,
    more: async () => {
      if (!ingress) return { args, ready: [], info: null };
      const port = await free_tcp_port();
      return {
        args: [...args, '--ingress-port', String(port)],
        ready: [new RegExp(`listening: ingress \\S+:${port}\\b`)],
        info: { ingress: port },
      };
    },
  });
  if (ingress) broker.ingress_port = broker.more.ingress;
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
