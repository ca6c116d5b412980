// Bridges from a Mosquitto bridge file in the customize folder, against a real Mosquitto as the
// remote broker: messages both ways with prefixes at QoS 0/1/2, the remote stopped under QoS 1
// traffic, our broker restarted with the bridge's queue on disk, notifications, fail-over, and a
// bad bridge file. Our broker only (bridges from the customize folder are an add-on option).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { is_mosquitto } from '../support/broker.mjs';
import {
  anonymous,
  bridge_connected,
  start_bridged_broker,
  until_flowing,
} from '../support/bridges.mjs';
import { start_remote_mosquitto } from '../support/remote_mosquitto.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { free_tcp_port } from '../support/free_port.mjs';
import { delay, wait_until } from '../support/deadline.mjs';

const skip = is_mosquitto ? 'bridges from the customize folder are ours' : false;
// Each broker and remote started here hooks process exit (to be killed with the test).
process.setMaxListeners(64);
const cleanups = [];

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

async function start_local(conf, { data_dir } = {}) {
  return start_bridged_broker(conf, cleanups, { data_dir });
}

async function start_remote(options) {
  const remote = await start_remote_mosquitto(options);
  cleanups.push(() => remote.stop());
  return remote;
}

const base_conf = (name, port, extra = '') => `# written for the Mosquitto add-on
connection ${name}
address 127.0.0.1:${port}
topic out/# out 2 local/ remote/
topic in/# in 2 local/ remote/
restart_timeout 1
${extra}`;

test('messages cross both ways with prefixes, QoS 0, 1 and 2 kept', { skip }, async () => {
  const remote = await start_remote();
  const broker = await start_bridged_broker(base_conf('b1', remote.port), cleanups, {
    ingress: true,
  });
  await bridge_connected(broker, 'b1');
  const local_sub = await connect_mqtt_js(broker.port);
  await subscribe(local_sub.client, 'local/in/#', 2);
  const remote_sub = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(remote_sub.client, 'remote/out/#', 2);
  const local_pub = await connect_mqtt_js(broker.port);
  const remote_pub = await connect_mqtt_js(remote.port, anonymous);
  await until_flowing(remote_pub.client, 'remote/in/probe', local_sub.inbox, 'local/in/probe');
  await until_flowing(local_pub.client, 'local/out/probe', remote_sub.inbox, 'remote/out/probe');

  for (const qos of [0, 1, 2]) {
    await publish(local_pub.client, `local/out/q${qos}`, `to remote at ${qos}`, { qos });
    await publish(remote_pub.client, `remote/in/q${qos}`, `to local at ${qos}`, { qos });
  }
  for (const qos of [0, 1, 2]) {
    const out = await remote_sub.inbox.wait_for_topic(`remote/out/q${qos}`);
    assert.equal(out.payload, `to remote at ${qos}`);
    assert.equal(out.qos, qos);
    const into = await local_sub.inbox.wait_for_topic(`local/in/q${qos}`);
    assert.equal(into.payload, `to local at ${qos}`);
    assert.equal(into.qos, qos);
  }
  // Nothing outside the topic lines crosses, and nothing comes back.
  await publish(local_pub.client, 'local/elsewhere', 'stays here', { qos: 1 });
  await publish(local_pub.client, 'local/out/marker', 'm', { qos: 1 });
  await remote_sub.inbox.wait_for_topic('remote/out/marker');
  assert.equal(local_sub.inbox.messages.filter((m) => m.topic.startsWith('local/out')).length, 0);
  for (const c of [local_sub, remote_sub, local_pub, remote_pub]) await end(c.client);
  assert.match(broker.output, /\[local\.[^\]]*\.b1\] connected from bridge b1/);
  // /metrics shows the bridge up, with what it carried (the probes and the six messages).
  const metrics = await (await fetch(`http://127.0.0.1:${broker.ingress_port}/metrics`)).text();
  assert.match(metrics, /^mqtt_broker_bridge_up\{bridge="b1"\} 1$/m);
  const sample = (name) => Number(metrics.match(new RegExp(`^${name}\\{bridge="b1"\\} (\\d+)$`, 'm'))?.[1]);
  assert.ok(sample('mqtt_broker_bridge_messages_sent_total') >= 5, metrics);
  assert.ok(sample('mqtt_broker_bridge_messages_received_total') >= 4, metrics);
});

test('retained messages keep their flag across the bridge', { skip }, async () => {
  const remote = await start_remote();
  const broker = await start_local(base_conf('b2', remote.port));
  await bridge_connected(broker, 'b2');
  const local_pub = await connect_mqtt_js(broker.port);
  const remote_pub = await connect_mqtt_js(remote.port, anonymous);
  const remote_sub = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(remote_sub.client, 'remote/out/#', 1);
  await until_flowing(local_pub.client, 'local/out/probe', remote_sub.inbox, 'remote/out/probe');
  await publish(local_pub.client, 'local/out/kept', 'retained here', { qos: 1, retain: true });
  await remote_sub.inbox.wait_for_topic('remote/out/kept');
  // A later subscriber on the remote finds it retained there.
  const late = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(late.client, 'remote/out/kept', 1);
  const got = await late.inbox.wait_for_topic('remote/out/kept');
  assert.equal(got.retain, true);
  assert.equal(got.payload, 'retained here');
  for (const c of [local_pub, remote_pub, remote_sub, late]) await end(c.client);
});

test('the remote stopped under QoS 1 traffic loses nothing either way', { skip }, async () => {
  const persistence = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-remote-store-'));
  cleanups.push(() => fs.rmSync(persistence, { recursive: true, force: true }));
  let remote = await start_remote({ persistence_dir: persistence });
  const port = remote.port;
  const broker = await start_local(base_conf('b3', port));
  await bridge_connected(broker, 'b3');

  const local_sub = await connect_mqtt_js(broker.port);
  await subscribe(local_sub.client, 'local/in/#', 1);
  // The remote subscriber keeps a persistent session, so it gets what arrives while it is away.
  const remote_sub_options = { ...anonymous, clientId: 'remote-sub-b3', clean: false };
  let remote_sub = await connect_mqtt_js(port, remote_sub_options);
  await subscribe(remote_sub.client, 'remote/out/#', 1);
  const local_pub = await connect_mqtt_js(broker.port);
  const remote_pub = await connect_mqtt_js(port, anonymous);
  await until_flowing(remote_pub.client, 'remote/in/probe', local_sub.inbox, 'local/in/probe');
  await until_flowing(local_pub.client, 'local/out/probe', remote_sub.inbox, 'remote/out/probe');

  // A burst each way, and the remote goes down in the middle of it, with messages in flight.
  const burst = 200;
  const acknowledged = { in: new Set(), out: new Set() };
  const sends = [];
  for (let i = 0; i < burst; i++) {
    sends.push(publish(remote_pub.client, 'remote/in/burst', `r${i}`, { qos: 1 }).then(() => acknowledged.in.add(`r${i}`)));
    sends.push(publish(local_pub.client, 'local/out/burst', `l${i}`, { qos: 1 }).then(() => acknowledged.out.add(`l${i}`)));
  }
  await wait_until(() => acknowledged.in.size >= burst / 4, 5000, 'a quarter of the remote burst');
  await remote.stop();
  remote_sub.client.end(true);
  remote_pub.client.end(true);
  await Promise.allSettled(sends);
  assert.equal(acknowledged.out.size, burst, 'our broker acknowledges every local message');
  await wait_until(() => /bridge b3: disconnected/.test(broker.output), 5000, 'the bridge to notice');

  // While the remote is down, local traffic goes on and is acknowledged here.
  for (let i = 0; i < 50; i++) {
    await publish(local_pub.client, 'local/out/while-down', `d${i}`, { qos: 1 });
  }
  await delay(300);
  remote = await start_remote({ port, persistence_dir: persistence });
  await bridge_connected(broker, 'b3', 2);
  const first_remote_inbox = remote_sub.inbox;
  remote_sub = await connect_mqtt_js(port, remote_sub_options);
  // What the remote subscriber got before the stop counts too.
  remote_sub.inbox.messages.unshift(...first_remote_inbox.messages);

  const payloads = (box, topic) => new Set(box.messages.filter((m) => m.topic === topic).map((m) => m.payload));
  const missing = (wanted, box, topic) => [...wanted].filter((p) => !payloads(box, topic).has(p));
  // Every message a broker acknowledged reaches the other side (duplicates allowed at QoS 1).
  await wait_until(
    () => missing(acknowledged.in, local_sub.inbox, 'local/in/burst').length === 0,
    10000,
    `the ${acknowledged.in.size} acknowledged remote messages here`,
  );
  await wait_until(
    () => missing(acknowledged.out, remote_sub.inbox, 'remote/out/burst').length === 0,
    10000,
    `the ${burst} local burst messages at the remote`,
  );
  await wait_until(
    () => payloads(remote_sub.inbox, 'remote/out/while-down').size === 50,
    10000,
    `the 50 messages sent while the remote was down (have ${payloads(remote_sub.inbox, 'remote/out/while-down').size})`,
  );
  // Order kept for what waited in the bridge's session [MQTT-4.6.0-2].
  const down = remote_sub.inbox.messages.filter((m) => m.topic === 'remote/out/while-down').map((m) => m.payload);
  const first = [...new Set(down)];
  assert.deepEqual(first, Array.from({ length: 50 }, (_, i) => `d${i}`));
  for (const c of [local_sub, remote_sub, local_pub]) await end(c.client);
});

test('the bridge queue survives a restart of our broker', { skip }, async () => {
  const data_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-bridge-data-'));
  cleanups.push(() => fs.rmSync(data_dir, { recursive: true, force: true }));
  let remote = await start_remote();
  const port = remote.port;
  const conf = base_conf('b4', port);
  let broker = await start_local(conf, { data_dir });
  await bridge_connected(broker, 'b4');
  await remote.stop();
  await wait_until(() => /bridge b4: disconnected/.test(broker.output), 5000, 'the bridge to notice');

  const local_pub = await connect_mqtt_js(broker.port);
  for (let i = 0; i < 20; i++) {
    await publish(local_pub.client, 'local/out/queued', `q${i}`, { qos: 1 });
  }
  await end(local_pub.client);
  await broker.stop();
  assert.equal(broker.exit_status.code, 0);

  remote = await start_remote({ port });
  const remote_sub = await connect_mqtt_js(port, anonymous);
  await subscribe(remote_sub.client, 'remote/out/#', 1);
  broker = await start_local(conf, { data_dir });
  await bridge_connected(broker, 'b4');
  await wait_until(
    () => remote_sub.inbox.on_topic('remote/out/queued').length >= 20,
    10000,
    `the 20 queued messages at the remote (have ${remote_sub.inbox.on_topic('remote/out/queued').length})`,
  );
  assert.deepEqual(
    remote_sub.inbox.on_topic('remote/out/queued').map((m) => m.payload),
    Array.from({ length: 20 }, (_, i) => `q${i}`),
  );
  await end(remote_sub.client);
});

test('notifications: 1 when connected, the will says 0 when our broker vanishes', { skip }, async () => {
  const remote = await start_remote();
  const conf = `connection b5
address 127.0.0.1:${remote.port}
topic x/# out 0
remote_clientid site-a
notifications true
restart_timeout 1
`;
  const watcher = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(watcher.client, '$SYS/broker/connection/site-a/state', 1);
  const broker = await start_local(conf);
  await bridge_connected(broker, 'b5');
  const up = await watcher.inbox.wait_for((m) => m.payload === '1');
  assert.equal(up.topic, '$SYS/broker/connection/site-a/state');
  // Locally too, retained.
  const local = await connect_mqtt_js(broker.port);
  await subscribe(local.client, '$SYS/broker/connection/site-a/state', 0);
  const here = await local.inbox.wait_for_topic('$SYS/broker/connection/site-a/state');
  assert.equal(here.payload, '1');
  assert.equal(here.retain, true);
  // $SYS shows the bridge's state as well.
  await subscribe(local.client, '$SYS/broker/bridges/b5/state', 0);
  const state = await local.inbox.wait_for_topic('$SYS/broker/bridges/b5/state');
  assert.equal(state.payload, 'connected');
  local.client.end(true);
  // Killed: no goodbye, so the remote publishes the will.
  process.kill(broker.pid, 'SIGKILL');
  await broker.exited;
  const down = await watcher.inbox.wait_for((m) => m.payload === '0', 5000, 'the will');
  assert.equal(down.retain, false);  // live delivery clears RETAIN; the retained copy says 0
  const late = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(late.client, '$SYS/broker/connection/site-a/state', 1);
  const kept = await late.inbox.wait_for_topic('$SYS/broker/connection/site-a/state');
  assert.equal(kept.payload, '0');
  assert.equal(kept.retain, true);
  await end(watcher.client);
  await end(late.client);
});

test('notifications: 0 here from the start while the remote cannot be reached', { skip }, async () => {
  const dead = await free_tcp_port();
  const conf = `connection b10
address 127.0.0.1:${dead}
topic x/# out 0
remote_clientid site-down
notifications true
restart_timeout 1
`;
  const broker = await start_local(conf);
  const topic = '$SYS/broker/connection/site-down/state';
  // The bridge may start just after this subscription (then "0" arrives live) or before it.
  const first = await connect_mqtt_js(broker.port);
  await subscribe(first.client, topic, 1);
  assert.equal((await first.inbox.wait_for_topic(topic)).payload, '0');
  // Either way it is kept, retained at QoS 1.
  const late = await connect_mqtt_js(broker.port);
  await subscribe(late.client, topic, 1);
  const state = await late.inbox.wait_for_topic(topic);
  assert.equal(state.payload, '0');
  assert.equal(state.retain, true);
  assert.equal(state.qos, 1);
  await end(first.client);
  await end(late.client);
});

test('fail-over: a dead first address, then the second', { skip }, async () => {
  const remote = await start_remote();
  const dead = await free_tcp_port();
  const conf = `connection b6
address 127.0.0.1:${dead} 127.0.0.1:${remote.port}
topic out/# out 1 local/ remote/
restart_timeout 1
`;
  const broker = await start_local(conf);
  await bridge_connected(broker, 'b6');
  assert.match(broker.output, new RegExp(`bridge b6: cannot connect to 127\\.0\\.0\\.1:${dead}`));
  const remote_sub = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(remote_sub.client, 'remote/out/#', 1);
  const local_pub = await connect_mqtt_js(broker.port);
  await until_flowing(local_pub.client, 'local/out/probe', remote_sub.inbox, 'remote/out/probe');
  for (const c of [remote_sub, local_pub]) await end(c.client);
});

test('reconnect is logged with its wait, and the bridge comes back', { skip }, async () => {
  let remote = await start_remote();
  const port = remote.port;
  const broker = await start_local(base_conf('b7', port));
  await bridge_connected(broker, 'b7');
  await remote.stop();
  await wait_until(() => /bridge b7: disconnected from 127\.0\.0\.1:\d+: /.test(broker.output), 5000, 'disconnected');
  await wait_until(() => /bridge b7: reconnect in 1 s/.test(broker.output), 5000, 'reconnect line');
  remote = await start_remote({ port });
  await bridge_connected(broker, 'b7', 2);
});

test('a bad bridge file names file and line, and the broker still serves', { skip }, async () => {
  const conf = `connection good
address 127.0.0.1:1
topic a/# out
connection bad
address 127.0.0.1:1
topic b/# sideways 1
`;
  const broker = await start_local(conf);
  assert.match(
    broker.output,
    /error .*mosquitto\/bridge\.conf:6: topic direction must be in, out or both \(got 'sideways'\); bridge 'bad' not started/,
  );
  const client = await connect_mqtt_js(broker.port);
  await subscribe(client.client, 'hello', 1);
  await publish(client.client, 'hello', 'still serving', { qos: 1 });
  await client.inbox.wait_for_topic('hello');
  await end(client.client);
  assert.match(broker.output, /bridges: good \(/);
});

// Publishes one message each way on a topic bridged `both`, then a marker each way, and counts
// what each side's subscriber saw: once, never echoed back.
async function assert_no_loop(broker, remote, prefix) {
  const local_sub = await connect_mqtt_js(broker.port);
  await subscribe(local_sub.client, `${prefix}/#`, 1);
  const remote_sub = await connect_mqtt_js(remote.port, anonymous);
  await subscribe(remote_sub.client, `${prefix}/#`, 1);
  const local_pub = await connect_mqtt_js(broker.port);
  const remote_pub = await connect_mqtt_js(remote.port, anonymous);
  await until_flowing(local_pub.client, `${prefix}/probe-out`, remote_sub.inbox, `${prefix}/probe-out`);
  await until_flowing(remote_pub.client, `${prefix}/probe-in`, local_sub.inbox, `${prefix}/probe-in`);
  await publish(local_pub.client, `${prefix}/from-local`, 'L', { qos: 1 });
  await publish(remote_pub.client, `${prefix}/from-remote`, 'R', { qos: 1 });
  await publish(local_pub.client, `${prefix}/marker-local`, 'm', { qos: 1 });
  await publish(remote_pub.client, `${prefix}/marker-remote`, 'm', { qos: 1 });
  for (const box of [local_sub.inbox, remote_sub.inbox]) {
    await box.wait_for_topic(`${prefix}/marker-local`);
    await box.wait_for_topic(`${prefix}/marker-remote`);
  }
  // An echo would arrive before a second round of markers has crossed both ways.
  await publish(local_pub.client, `${prefix}/marker-local`, 'm2', { qos: 1 });
  await publish(remote_pub.client, `${prefix}/marker-remote`, 'm2', { qos: 1 });
  for (const box of [local_sub.inbox, remote_sub.inbox]) {
    await box.wait_for((m) => m.topic === `${prefix}/marker-local` && m.payload === 'm2');
    await box.wait_for((m) => m.topic === `${prefix}/marker-remote` && m.payload === 'm2');
  }
  for (const [side, box] of [['local', local_sub.inbox], ['remote', remote_sub.inbox]]) {
    assert.equal(box.on_topic(`${prefix}/from-local`).length, 1, `${side} saw from-local once`);
    assert.equal(box.on_topic(`${prefix}/from-remote`).length, 1, `${side} saw from-remote once`);
  }
  for (const c of [local_sub, remote_sub, local_pub, remote_pub]) await end(c.client);
}

test('a topic bridged both ways does not loop (try_private against Mosquitto)', { skip }, async () => {
  const remote = await start_remote();
  const broker = await start_local(`connection b8
address 127.0.0.1:${remote.port}
topic room/# both 1
restart_timeout 1
`);
  await bridge_connected(broker, 'b8');
  await assert_no_loop(broker, remote, 'room');
});

// A 5.0 bridge without Mosquitto's try_private marker.
const v5_conf = (name, port, topic_line, extra = '') => `connection ${name}
address 127.0.0.1:${port}
bridge_protocol_version mqttv50
try_private false
${topic_line}
restart_timeout 1
${extra}`;

test("mqttv50 keeps to the remote's Maximum QoS, Retain Available and Maximum Packet Size", { skip }, async () => {
  // Mosquitto announces these in its 5.0 CONNACK and disconnects a client that goes past them.
  // (Without retained messages it also refuses a retained will: no notifications here.)
  const remote = await start_remote({ extra: ['max_qos 1', 'retain_available false', 'max_packet_size 400'] });
  const broker = await start_local(v5_conf('b11', remote.port, 'topic alarm/# out 2', 'notifications false'));
  await bridge_connected(broker, 'b11');
  const remote_sub = await connect_mqtt_js(remote.port, { ...anonymous, protocolVersion: 5 });
  await subscribe(remote_sub.client, 'alarm/#', 1);
  const local_pub = await connect_mqtt_js(broker.port);
  await publish(local_pub.client, 'alarm/door', 'open', { qos: 2, retain: true });
  await publish(local_pub.client, 'alarm/big', 'x'.repeat(1000), { qos: 1 });
  await publish(local_pub.client, 'alarm/window', 'shut', { qos: 2 });
  const door = await remote_sub.inbox.wait_for_topic('alarm/door');
  assert.equal(door.payload, 'open');
  assert.equal(door.qos, 1);
  const window = await remote_sub.inbox.wait_for_topic('alarm/window');
  assert.equal(window.payload, 'shut');
  assert.equal(remote_sub.inbox.messages.filter((m) => m.topic === 'alarm/big').length, 0);
  await wait_until(() => /larger than the remote accepts \(400\)/.test(broker.output), 3000, 'the warning');
  // One connection all along: the remote never had to close it.
  assert.equal(broker.output.match(/bridge b11: connected/g).length, 1);
  await end(remote_sub.client);
  await end(local_pub.client);
});

test('bridge_protocol_version mqttv50 speaks 5.0 to the remote, without echo', { skip }, async () => {
  const remote = await start_remote();
  const broker = await start_local(v5_conf('b9', remote.port, 'topic hall/# both 1'));
  await bridge_connected(broker, 'b9');
  assert.match(broker.output, /bridge b9: connected \(MQTT 5\.0/);
  // Mosquitto's line may reach its output pipe after our broker has logged the CONNACK.
  const connected_line = /New client connected from 127\.0\.0\.1:\d+ as \S+\.b9 \(p5, c0, k60\)/;
  await wait_until(
    () => connected_line.test(remote.output),
    3000,
    "the remote's log line of the 5.0 bridge",
  );
  await assert_no_loop(broker, remote, 'hall');
});
