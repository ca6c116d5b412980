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
// Set by scripts/sanitize.sh ("address" or "thread"): the broker under test is a sanitizer build,
// several times slower, and its memory use is mostly the sanitizer's own (ASan keeps freed memory
// in quarantine; LeakSanitizer scans the whole heap at exit).
export const sanitizer_build = process.env.MQTT_TEST_SANITIZER || '';

// The one login of every test broker; anonymous clients are always refused.
export const test_user = Object.freeze({ username: 'test-user', password: 'test-pass' });

const repo_root = fileURLToPath(new URL('../..', import.meta.url));
const start_deadline_ms = 10000;
const stop_deadline_ms = sanitizer_build ? 30000 : 5000;
const bind_attempts = 3;
const log_limit_chars = 1 << 20;
const ending_signals = ['SIGTERM', 'SIGINT', 'SIGHUP'];
const setpriv = '/usr/bin/setpriv';
// What a sanitizer build (scripts/sanitize.sh) prints when it finds something. A leak is only
// reported at exit, after the test's own checks, so stop() looks for these.
const sanitizer_report =
  /==\d+==ERROR: \w+Sanitizer[^\n]*|WARNING: ThreadSanitizer[^\n]*|runtime error: [^\n]*/;

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
    // A test file that dies must not leave its broker behind: on exit, and on the signals that
    // end it without an exit event (the test runner stops its children with SIGTERM).
    this.kill_on_exit = () => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    this.kill_on_signal = (signal) => {
      this.kill_on_exit();
      this.forget_process_hooks();
      // The last listener restores the signal's default: the test process ends as it would have.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on('exit', this.kill_on_exit);
    for (const signal of ending_signals) process.on(signal, this.kill_on_signal);
  }

  forget_process_hooks() {
    process.removeListener('exit', this.kill_on_exit);
    for (const signal of ending_signals) process.removeListener(signal, this.kill_on_signal);
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
      // Mosquitto misses a SIGTERM that lands just before it blocks in epoll_wait and then sleeps
      // until its next timer; repeating the signal is harmless. Ours must stop on the first one.
      const repeat = is_mosquitto
        ? setInterval(() => this.running && process.kill(this.pid, 'SIGTERM'), 250)
        : null;
      try {
        await with_deadline(this.exited, stop_deadline_ms, `broker pid ${this.pid} to exit`);
      } catch (error) {
        process.kill(this.pid, 'SIGKILL');
        await this.exited;
        this.print_log(`did not exit within ${stop_deadline_ms} ms of SIGTERM`);
        throw error;
      } finally {
        clearInterval(repeat);
      }
    }
    this.forget_process_hooks();
    if (this.exit_status.code !== 0) {
      this.print_log(`exited with ${JSON.stringify(this.exit_status)}`);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    const report = this.output.match(sanitizer_report);
    if (report) {
      if (this.exit_status.code === 0) this.print_log('reported a sanitizer finding');
      throw new Error(`sanitizer report from the broker: ${report[0]}`);
    }
    return this.exit_status;
  }

  print_log(why) {
    process.stderr.write(`--- broker (${broker_kind}, pid ${this.pid}) ${why}; its output:\n`);
    process.stderr.write(this.output + '\n--- end of broker output\n');
  }
}

// The data dir is <dir>/data unless the caller brings one (to restart on the same state).
function make_data_dir(dir, given) {
  if (given) return given;
  const data_dir = path.join(dir, 'data');
  fs.mkdirSync(data_dir);
  return data_dir;
}

function write_our_files(dir, options, given_data_dir) {
  const data_dir = make_data_dir(dir, given_data_dir);
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
    '--ingress-port', '0',
  ];
  return { command: broker_binary(), args, ready: new RegExp(`listening: mqtt \\S+:${port}\\b`) };
}

// Mosquitto with what our broker does by default: logins only, no persistence, 16 MiB packets,
// the generated system users, $SYS every 10 s.
function write_mosquitto_files(dir, options, given_data_dir) {
  const data_dir = make_data_dir(dir, given_data_dir);
  // Like ours: generated once, then reused.
  const users_file = path.join(data_dir, 'system_user.json');
  let system_users;
  if (fs.existsSync(users_file)) {
    system_users = JSON.parse(fs.readFileSync(users_file, 'utf8'));
  } else {
    system_users = {
      homeassistant: { password: random_password() },
      addons: { password: random_password() },
    };
    fs.writeFileSync(users_file, JSON.stringify(system_users), { mode: 0o600 });
  }
  const password_file = path.join(dir, 'passwd');
  const logins = [
    ...(options.logins ?? []),
    ...Object.entries(system_users).map(([username, v]) => ({ username, password: v.password })),
  ];
  logins.forEach((login, i) => {
    const create = i === 0 ? ['-c'] : [];
    const args = [...create, '-b', password_file, login.username, login.password];
    execFileSync('mosquitto_passwd', args);
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
  return {
    command: 'mosquitto',
    args: ['-c', config_file],
    ready: /mosquitto version \S+ running/,
  };
}

async function launch_once(options, given_data_dir, more, env) {
  const port = await free_tcp_port();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mqtt-it-${broker_kind}-`));
  let spec;
  let data_dir;
  if (is_mosquitto) {
    const files = write_mosquitto_files(dir, options, given_data_dir);
    data_dir = files.data_dir;
    spec = mosquitto_command(port, dir, files);
  } else {
    const files = write_our_files(dir, options, given_data_dir);
    data_dir = files.data_dir;
    spec = our_command(port, files);
  }
  const more_spec = more && !is_mosquitto ? await more() : { args: [], ready: [], info: null };
  spec.args.push(...more_spec.args);
  if (!is_mosquitto && !fs.existsSync(spec.command)) {
    throw new Error(
      `broker binary ${spec.command} does not exist: build it (bash scripts/build.sh)`,
    );
  }
  // setpriv (util-linux) makes the kernel kill the broker when this test process dies, even by
  // SIGKILL, when no exit handler runs; it then execs the broker, keeping the PID.
  const [command, args] = fs.existsSync(setpriv)
    ? [setpriv, ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]]
    : [spec.command, spec.args];
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  const broker = new running_broker({ child, port, dir, data_dir });
  broker.more = more_spec.info;
  // One promise settles on whichever comes first: the ready line, an early exit, a failed spawn.
  const ready = new Promise((resolve, reject) => {
    const check = () => {
      const out = broker.output;
      if (spec.ready.test(out) && more_spec.ready.every((r) => r.test(out))) resolve();
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
    broker.forget_process_hooks();
    const in_use = /in use/i.test(broker.output);
    const log = broker.output;
    fs.rmSync(dir, { recursive: true, force: true });
    return { broker: null, in_use, error, log };
  }
  return { broker };
}

// Starts a broker and waits for it to listen. `options` is the add-on options file's content;
// `data_dir`, when given, is used (and left in place at stop) instead of a fresh one.
//
// `more` (our broker only) is an async function called before each attempt; it returns
// {args, ready, info}: more command-line arguments (appended, so they override the defaults), more
// patterns the output must show before the broker counts as ready, and anything the caller wants
// back as broker.more (tests/support/listeners.mjs uses it for the ws and TLS listeners).
// `env` (our broker only) adds environment variables (SUPERVISOR_API, SUPERVISOR_TOKEN).
export async function start_broker({
  options = { logins: [test_user] },
  data_dir,
  more,
  env,
} = {}) {
  let last;
  for (let attempt = 0; attempt < bind_attempts; attempt++) {
    last = await launch_once(options, data_dir, more, env);
    if (last.broker) {
      // Shown by the test runner, so a run's log says which broker it tested.
      const what = is_mosquitto ? 'mosquitto' : broker_binary();
      const { pid, port } = last.broker;
      console.error(`broker under test: ${what} (pid ${pid}, port ${port})`);
      return last.broker;
    }
    // Only a lost race for the port is worth another try.
    if (!last.in_use) break;
    await delay(50);
  }
  throw new Error(`${last.error.message}\n--- broker output:\n${last.log}`);
}
