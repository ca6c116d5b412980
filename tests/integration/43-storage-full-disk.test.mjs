// A full disk, on a 1 MiB tmpfs. Under strict durability, filled by retained messages until the
// store's write queue is full too: the broker keeps serving clients, withholds the QoS 1
// acknowledgement it cannot make durable, does not burn the CPU retrying, and still stops within
// the add-on's stop timeout, saying what it could not write. And a first start on a full disk:
// the broker serves anyway, and writes what it holds once there is room. Needs mount(8) to be
// allowed (root with CAP_SYS_ADMIN, as CI and the add-on's build machine); skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start_broker, test_user, is_mosquitto } from '../support/broker.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { delay, wait_until, with_deadline } from '../support/deadline.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const { packet_type } = bytes;
const clk_tck = 100; // /proc/<pid>/stat counts CPU time in USER_HZ ticks, 100 on Linux

function mount_tmpfs(dir) {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || r.error?.message || 'mount failed').trim();
}

// User + system CPU seconds of a process so far.
function cpu_seconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clk_tck; // utime and stime
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'full-disk-'));
const mount_error = is_mosquitto ? null : mount_tmpfs(dir);
const skip = is_mosquitto
  ? 'the Mosquitto reference runs without persistence'
  : mount_error
    ? `cannot mount a small tmpfs here: ${mount_error}`
    : false;
if (!mount_error || is_mosquitto) {
  process.on('exit', () => {
    if (!is_mosquitto) spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
} else {
  fs.rmSync(dir, { recursive: true, force: true });
}

test('strict durability on a full disk: clients served, no ack, no spinning, a timely stop', { skip }, async () => {
  const broker = await start_broker({
    options: { logins: [test_user], durability: 'strict' },
    data_dir: path.join(dir, 'data'),
  });
  // The first failure is the one reported; the broker is stopped either way.
  let failure;
  try {
    const login = { username: test_user.username, password: test_user.password };
    const watcher = await raw_client.connect_accepted(broker.port, { client_id: 'full-watch', ...login });
    watcher.send(bytes.subscribe(1, [['full/live', 0]]));
    await watcher.expect(packet_type.suback);

    // 18 MiB of retained messages: the disk fills at 1 MiB, the store's queue at 16 MiB.
    const filler = await raw_client.connect_accepted(broker.port, { client_id: 'full-fill', ...login });
    const payload = Buffer.alloc(256 * 1024, 0x61);
    for (let i = 0; i < 72; i++) {
      filler.send(bytes.publish({ topic: `full/fill/${i}`, payload, retain: true }));
    }
    await filler.ping(10000);
    await wait_until(() => /storage: .*No space left on device/.test(broker.output), 5000, 'the store to report the full disk');

    // A QoS 1 publish cannot be made durable: strict mode does not acknowledge it.
    filler.send(bytes.publish({ topic: 'full/q1', payload: 'x', qos: 1, packet_id: 7, retain: true }));
    await delay(500);
    assert.equal(filler.packets.filter((p) => p.type === packet_type.puback).length, 0, 'PUBACK for a change not on disk');

    // The broker goes on serving, and idles while the disk stays full.
    filler.send(bytes.publish({ topic: 'full/live', payload: 'still here' }));
    const got = await watcher.expect(packet_type.publish, 3000);
    assert.equal(got.payload.toString(), 'still here');
    const before = cpu_seconds(broker.pid);
    await delay(2000);
    const used = cpu_seconds(broker.pid) - before;
    assert.ok(used < 0.5, `the broker used ${used.toFixed(2)} s of CPU in 2 s with nothing to do`);

    // Stops within the add-on's 10 s stop timeout (the store gets 5 s to write what it holds).
    filler.destroy();
    watcher.destroy();
    process.kill(broker.pid, 'SIGTERM');
    await with_deadline(broker.exited, 9000, 'the broker to stop on a full disk');
    assert.match(broker.output, /storage: closing with \d+ changes not written/);
  } catch (error) {
    failure = error;
  }
  await broker.stop().catch((error) => {
    failure ??= error;
  });
  if (failure) throw failure;
});

// Fills the file system at `dir` with one file; returns its path.
function fill(dir) {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (error) {
    if (error.code !== 'ENOSPC') throw error;
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

test('a first start on a full disk serves, and writes once there is room', { skip }, async () => {
  // What the test before left is gone, so that removing the filler makes room.
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true });
  const data_dir = path.join(dir, 'first-start');
  fs.mkdirSync(data_dir);
  const filler = fill(dir);
  const login = { username: test_user.username, password: test_user.password };
  let broker = await start_broker({ data_dir });
  try {
    assert.match(broker.output, /cannot write .*system_user\.json.*the disk is full/);
    assert.match(broker.output, /storage: cannot create a log in .*No space left on device/);
    const pub = await raw_client.connect_accepted(broker.port, { client_id: 'full-first', ...login });
    pub.send(bytes.publish({ topic: 'full/first', payload: 'kept', qos: 1, packet_id: 1, retain: true }));
    await pub.expect(packet_type.puback);
    const sub = await raw_client.connect_accepted(broker.port, { client_id: 'full-first-sub', ...login });
    sub.send(bytes.subscribe(1, [['full/first', 0]]));
    await sub.expect(packet_type.suback);
    assert.equal((await sub.expect(packet_type.publish)).payload.toString(), 'kept');
    pub.destroy();
    sub.destroy();
    // The writer tries, fails, and retries every second; with room again it writes.
    await wait_until(() => /storage: cannot create a new log/.test(broker.output), 5000,
      'the first failed write');
    fs.rmSync(filler);
    await wait_until(() => /storage: writing to .* works again/.test(broker.output), 5000,
      'the store to write again').catch((error) => {
      throw new Error(`${error.message}; broker output:\n${broker.output}`);
    });
  } finally {
    await broker.stop();
  }
  // It is on disk: a restart has it.
  broker = await start_broker({ data_dir });
  try {
    const sub = await raw_client.connect_accepted(broker.port, { client_id: 'full-first-sub', ...login });
    sub.send(bytes.subscribe(1, [['full/first', 0]]));
    await sub.expect(packet_type.suback);
    assert.equal((await sub.expect(packet_type.publish)).payload.toString(), 'kept');
    sub.destroy();
  } finally {
    await broker.stop();
  }
});
