// A real Mosquitto (apt `mosquitto`) as the remote end of a bridge: its own generated config on
// a free (or given) port, anonymous clients allowed, optionally with persistence (so a restart
// keeps the bridge's session and queued messages) and a TLS listener. Stopped by its PID.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { free_tcp_port } from './free_port.mjs';
import { with_deadline } from './deadline.mjs';

const start_deadline_ms = 10000;
const stop_deadline_ms = 5000;
const mosquitto_binary = fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
const setpriv = '/usr/bin/setpriv';

class remote_mosquitto {
  constructor({ child, port, dir }) {
    this.child = child;
    this.pid = child.pid;
    this.port = port;
    this.dir = dir;
    this.output = '';
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (chunk) => {
      this.output = (this.output + chunk.toString()).slice(-(1 << 20));
      if (process.env.MQTT_TEST_BROKER_LOG === '1') process.stderr.write(`[remote] ${chunk}`);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    this.kill_on_exit = () => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.on('exit', this.kill_on_exit);
  }

  // SIGTERM (Mosquitto saves its persistence file then), SIGKILL if it does not exit in time.
  async stop() {
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    // Mosquitto can miss a SIGTERM that lands just before it sleeps in epoll: repeat it.
    const repeat = setInterval(() => {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        // gone
      }
    }, 250);
    try {
      await with_deadline(this.exited, stop_deadline_ms, `remote mosquitto pid ${this.pid} to exit`);
    } catch (error) {
      this.kill_on_exit();
      await this.exited;
    } finally {
      clearInterval(repeat);
      process.removeListener('exit', this.kill_on_exit);
    }
  }
}

// Options: port (default a free one), persistence_dir (a directory kept across restarts),
// tls: {port, ca, cert, key, require_certificate} for a TLS listener as well.
// `extra`: more mosquitto.conf lines (global settings).
export async function start_remote_mosquitto({ port, persistence_dir, tls, extra = [] } = {}) {
  const chosen = port ?? (await free_tcp_port());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-remote-'));
  const lines = [
    'per_listener_settings false',
    'allow_anonymous true',
    `listener ${chosen} 127.0.0.1`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'max_queued_messages 10000',
    ...extra,
  ];
  if (tls) {
    lines.push(`listener ${tls.port} 127.0.0.1`, `cafile ${tls.ca}`, `certfile ${tls.cert}`,
      `keyfile ${tls.key}`);
    if (tls.require_certificate) lines.push('require_certificate true');
  }
  if (persistence_dir) {
    lines.push('persistence true', `persistence_location ${persistence_dir}/`);
  } else {
    lines.push('persistence false');
  }
  if (process.getuid?.() === 0) lines.push('user root');
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(config, lines.join('\n') + '\n');
  // setpriv (util-linux) makes the kernel kill the remote when this test process dies, even by
  // SIGKILL or a test runner's timeout, when no exit handler runs; it execs, keeping the PID.
  const [command, args] = fs.existsSync(setpriv)
    ? [setpriv, ['--pdeathsig', 'KILL', '--', mosquitto_binary, '-c', config]]
    : [mosquitto_binary, ['-c', config]];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const remote = new remote_mosquitto({ child, port: chosen, dir });
  await with_deadline(
    new Promise((resolve, reject) => {
      const check = () => {
        if (/mosquitto version \S+ running/.test(remote.output)) resolve();
      };
      child.stderr.on('data', check);
      child.stdout.on('data', check);
      child.once('error', reject);
      remote.exited.then((s) => reject(new Error(`remote mosquitto exited: ${JSON.stringify(s)}\n${remote.output}`)));
    }),
    start_deadline_ms,
    'the remote mosquitto to run',
  );
  return remote;
}
