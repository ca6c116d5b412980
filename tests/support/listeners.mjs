// Our broker with its WebSocket and TLS listeners on free ports of 127.0.0.1 (start_broker alone
// turns them off), ready once each of them logged its `listening:` line. broker.ports has the port
// of every listener: {mqtt, ws, mqtts, wss}.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { start_broker, test_user } from './broker.mjs';
import { child_program } from './child_process.mjs';
import { free_tcp_port } from './free_port.mjs';

const flag_of = { ws: '--ws-port', mqtts: '--mqtts-port', wss: '--wss-port' };

// `kinds`: which of ws, mqtts, wss to start; `ssl_dir`: the --ssl-dir (TLS kinds need one);
// `ready_kinds`: the kinds whose listening line to wait for (default `kinds`; a test that expects
// the TLS listeners to stay off waits for fewer).
export async function start_broker_with_listeners({
  options = { logins: [test_user] },
  kinds = ['ws', 'mqtts', 'wss'],
  ssl_dir,
  ready_kinds = kinds,
} = {}) {
  const broker = await start_broker({
    options,
    more: async () => {
      const ports = {};
      const taken = new Set();
      for (const kind of kinds) {
        let port;
        do port = await free_tcp_port();
        while (taken.has(port));
        taken.add(port);
        ports[kind] = port;
      }
      const args = [];
      for (const kind of kinds) args.push(flag_of[kind], String(ports[kind]));
      if (ssl_dir) args.push('--ssl-dir', ssl_dir);
      const ready = ready_kinds.map(
        (kind) => new RegExp(`listening: ${kind} \\S+:${ports[kind]}\\b`),
      );
      return { args, ready, info: ports };
    },
  });
  broker.ports = { mqtt: broker.port, ...broker.more };
  return broker;
}

// The binary under test, as broker.mjs finds it.
function broker_binary() {
  const repo_root = fileURLToPath(new URL('../..', import.meta.url));
  return process.env.MQTT_BROKER_BIN || path.join(repo_root, 'build', 'mqtt-broker');
}

// Runs our broker with every listener on a free port, for a start that must fail: returns
// {code, output} once it exited. A broker still running after `ms` is killed (by PID) and
// reported as {code: null, output}.
export async function run_broker_to_exit({
  options = { logins: [test_user] },
  ssl_dir,
  ms = 5000,
}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-exit-'));
  try {
    const options_file = path.join(dir, 'options.json');
    fs.writeFileSync(options_file, JSON.stringify(options));
    const args = [
      '--options',
      options_file,
      '--data-dir',
      path.join(dir, 'data'),
      '--bind',
      '127.0.0.1',
    ];
    for (const flag of ['--mqtt-port', '--ws-port', '--mqtts-port', '--wss-port', '--ingress-port']) {
      args.push(flag, String(await free_tcp_port()));
    }
    if (ssl_dir) args.push('--ssl-dir', ssl_dir);
    const program = new child_program(broker_binary(), args);
    try {
      const { code } = await program.wait_exit(ms);
      return { code, output: program.stdout + program.stderr };
    } catch {
      return { code: null, output: program.stdout + program.stderr };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
