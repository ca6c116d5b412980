// Starts the broker under test as a child process on a free port with its own temporary data dir.
//
// BROKER=mosquitto runs the same tests against the system Mosquitto (apt `mosquitto`) with an
// equivalent configuration: that is how the suite itself is checked against a broker known to be
// right. Anything else runs our binary: $MQTT_BROKER_BIN, else build/mqtt-broker in the checkout.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { free_tcp_port } from './free_port.mjs';
import { delay, with_deadline } from './deadline.mjs';

export const broker_kind = process.env.BROKER === 'mosquitto' ? 'mosquitto' : 'ours';
export const is_mosquitto = broker_kind === 'mosquitto';

// The one login of every test broker; anonymous clients are always refused.
export const test_user = Object.freeze({ username: 'test-user', password: 'test-pass' });

const repo_root = fileURLToPath(new URL('../..', import.meta.url));
const start_deadline_ms = 10000;
const stop_deadline_ms = 5000;
const bind_attempts = 3;
const log_limit_chars = 1 << 20;

function broker_binary() {
  return process.env.MQTT_BROKER_BIN || path.join(repo_root, 'build', 'mqtt-broker');
}

function random_password() {
  // Same shape as the generated system users: long, from a cryptographic source.
  return crypto.randomBytes(48).toString('base64url');
}

class running_broker {
  constructor({ child, port, dir, data_dir }) {
    this.child = child;
    this.pid = child.pid;
    this.port = port;
    this.dir = dir;
    this.data_dir = data_dir;
    this.output = '';
    this.exit_status = null;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit_status = { code, signal };
        resolve(this.exit_status);
      });
    });
    const keep = (chunk) => {
      this.output = (this.output + chunk.toString()).slice(-log_limit_chars);
      if (process.env.MQTT_TEST_BROKER_LOG === '1') process.stderr.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // A test file that dies must not leave its broker behind.
    this.kill_on_exit = () => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.on('exit', this.kill_on_exit);
  }

  get running() {
    return this.exit_status === null;
  }

  // Password of a generated system user (homeassistant or addons) from <data-dir>/system_user.json.
  system_password(user) {
    const file = path.join(this.data_dir, 'system_user.json');
    return JSON.parse(fs.readFileSync(file, 'utf8'))[user].password;
  }

  // SIGTERM, then SIGKILL if the broker does not exit in time. Returns {code, signal}.
  async stop() {
    if (this.running) {
      process.kill(this.pid, 'SIGTERM');
      try {
        await with_deadline(this.exited, stop_deadline_ms, `broker pid ${this.pid} to exit`);
      } catch (error) {
        process.kill(this.pid, 'SIGKILL');
        await this.exited;
        this.print_log(`did not exit within ${stop_deadline_ms} ms of SIGTERM`);
        throw error;
      }
    }
    process.removeListener('exit', this.kill_on_exit);
    if (this.exit_status.code !== 0) this.print_log(`exited with ${JSON.stringify(this.exit_status)}`);
    fs.rmSync(this.dir, { recursive: true, force: true });
    return this.exit_status;
  }

  print_log(why) {
    process.stderr.write(`--- broker (${broker_kind}, pid ${this.pid}) ${why}; its output:\n`);
    process.stderr.write(this.output + '\n--- end of broker output\n');
  }
}

function write_our_files(dir, options) {
  const data_dir = path.join(dir, 'data');
  fs.mkdirSync(data_dir);
  const options_file = path.join(dir, 'options.json');
  fs.writeFileSync(options_file, JSON.stringify(options));
  return { data_dir, options_file };
}

function our_command(port, files) {
  const args = [
    '--options', files.options_file,
    '--data-dir', files.data_dir,
    '--bind', '127.0.0.1',
    '--mqtt-port', String(port),
    '--ws-port', '0',
    '--mqtts-port', '0',
    '--wss-port', '0',
  ];
  return { command: broker_binary(), args, ready: new RegExp(`listening: mqtt \\S+:${port}\\b`) };
}

// Mosquitto with what our broker does by default: logins only, no persistence, 16 MiB packets,
// the generated system users, $SYS every 10 s.
function write_mosquitto_files(dir, options) {
  const data_dir = path.join(dir, 'data');
  fs.mkdirSync(data_dir);
  const system_users = {
    homeassistant: { password: random_password() },
    addons: { password: random_password() },
  };
  fs.writeFileSync(path.join(data_dir, 'system_user.json'), JSON.stringify(system_users), {
    mode: 0o600,
  });
  const password_file = path.join(dir, 'passwd');
  const logins = [
    ...(options.logins ?? []),
    ...Object.entries(system_users).map(([username, v]) => ({ username, password: v.password })),
  ];
  logins.forEach((login, i) => {
    const create = i === 0 ? ['-c'] : [];
    execFileSync('mosquitto_passwd', [...create, '-b', password_file, login.username, login.password]);
  });
  return { data_dir, password_file };
}

function mosquitto_command(port, dir, files) {
  const config_file = path.join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${files.password_file}`,
    'persistence false',
    'max_packet_size 16777216',
    'sys_interval 10',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
  ];
  // As root Mosquitto would switch to the `mosquitto` user, which cannot read our temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
  fs.writeFileSync(config_file, lines.join('\n') + '\n');
  return { command: 'mosquitto', args: ['-c', config_file], ready: /mosquitto version \S+ running/ };
}

async function launch_once(options) {
  const port = await free_tcp_port();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mqtt-it-${broker_kind}-`));
  let spec;
  let data_dir;
  if (is_mosquitto) {
    const files = write_mosquitto_files(dir, options);
    data_dir = files.data_dir;
    spec = mosquitto_command(port, dir, files);
  } else {
    const files = write_our_files(dir, options);
    data_dir = files.data_dir;
    spec = our_command(port, files);
  }
  if (!is_mosquitto && !fs.existsSync(spec.command)) {
    throw new Error(`broker binary ${spec.command} does not exist: build it (bash scripts/build.sh)`);
  }
  const child = spawn(spec.command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const broker = new running_broker({ child, port, dir, data_dir });
  // One promise settles on whichever comes first: the ready line, an early exit, a failed spawn.
  const ready = new Promise((resolve, reject) => {
    const check = () => {
      if (spec.ready.test(broker.output)) resolve();
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('error', reject);
    broker.exited.then((status) =>
      reject(new Error(`broker exited before it was ready: ${JSON.stringify(status)}`)),
    );
  });
  try {
    await with_deadline(
      ready,
      start_deadline_ms,
      `the broker's ready line ${spec.ready}`,
    );
  } catch (error) {
    if (broker.running && broker.pid !== undefined) {
      process.kill(broker.pid, 'SIGKILL');
      await broker.exited;
    }
    process.removeListener('exit', broker.kill_on_exit);
    const in_use = /in use/i.test(broker.output);
    const log = broker.output;
    fs.rmSync(dir, { recursive: true, force: true });
    return { broker: null, in_use, error, log };
  }
  return { broker };
}

// Starts a broker and waits for it to listen. `options` is the add-on options file's content.
export async function start_broker({ options = { logins: [test_user] } } = {}) {
  let last;
  for (let attempt = 0; attempt < bind_attempts; attempt++) {
    last = await launch_once(options);
    if (last.broker) return last.broker;
    // Only a lost race for the port is worth another try.
    if (!last.in_use) break;
    await delay(50);
  }
  throw new Error(`${last.error.message}\n--- broker output:\n${last.log}`);
}
