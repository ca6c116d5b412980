// Real client programs (mosquitto_pub, mosquitto_sub, python3 with paho-mqtt) run as child
// processes, each with a deadline; what they print is kept for the assertions and for failures.
import { spawn } from 'node:child_process';
import { with_deadline } from './deadline.mjs';

export class child_program {
  constructor(command, args, options = {}) {
    this.command_line = [command, ...args].join(' ');
    this.child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.stdout = '';
    this.stderr = '';
    this.waiters = new Set();
    const changed = () => {
      for (const waiter of this.waiters) waiter();
    };
    this.child.stdout.on('data', (chunk) => {
      this.stdout += chunk.toString();
      changed();
    });
    this.child.stderr.on('data', (chunk) => {
      this.stderr += chunk.toString();
      changed();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => resolve({ code: null, signal: null, error }));
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
    this.done = false;
    this.exited.then(() => {
      this.done = true;
      changed();
    });
  }

  // Waits until stdout has a line that matches `pattern`.
  wait_for_output(pattern, ms, what = `output matching ${pattern}`) {
    const seen = new Promise((resolve, reject) => {
      const check = () => {
        const line = this.stdout.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) {
          this.waiters.delete(check);
          resolve(line);
        } else if (this.done) {
          this.waiters.delete(check);
          reject(new Error(`${this.command_line} exited before ${what}\n${this.describe()}`));
        }
      };
      this.waiters.add(check);
      check();
    });
    return with_deadline(seen, ms, `${what} from ${this.command_line}`);
  }

  async wait_exit(ms) {
    try {
      return await with_deadline(this.exited, ms, `${this.command_line} to exit`);
    } catch (error) {
      this.kill();
      throw new Error(`${error.message}\n${this.describe()}`);
    }
  }

  kill() {
    if (!this.done && this.child.pid !== undefined) this.child.kill('SIGKILL');
  }

  describe() {
    return `stdout: ${this.stdout}\nstderr: ${this.stderr}`;
  }
}

// Runs a program to its end (within `ms`) and returns {code, stdout, stderr}.
export async function run_program(command, args, ms) {
  const program = new child_program(command, args);
  const { code, signal, error } = await program.wait_exit(ms);
  if (error) throw error;
  const { stdout, stderr } = program;
  return { code, signal, stdout, stderr, describe: program.describe() };
}
