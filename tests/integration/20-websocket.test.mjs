// MQTT over WebSocket (ws://): MQTT.js on both paths, the upgrade rules (paths, subprotocols,
// plain HTTP answered), and the framing rules checked frame by frame: packets split over frames,
// several packets in one frame, binary only (a text frame closes with 1003 [MQTT-6.0.0-1]),
// pings, the close handshake.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { is_mosquitto, test_user } from '../support/broker.mjs';
import { start_broker_with_listeners } from '../support/listeners.mjs';
import { connect_mqtt_js, end, publish, subscribe } from '../support/mqtt_client.mjs';
import { raw_client } from '../support/raw_client.mjs';
import { http_exchange, opcode, ws_open } from '../support/ws_client.mjs';
import * as bytes from '../support/mqtt_bytes.mjs';

const skip = is_mosquitto && 'our listeners and answers: not run against Mosquitto';
const login = { username: test_user.username, password: test_user.password };
let broker;

before(async () => {
  if (skip) return;
  broker = await start_broker_with_listeners({ kinds: ['ws'] });
});

after(async () => {
  await broker?.stop();
});

const over_ws = (path, extra = {}) => ({ protocol: 'ws', path, ...extra });

async function ws_mqtt(path = '/mqtt', protocols = ['mqtt']) {
  const opened = await ws_open({ port: broker.ports.ws, path, protocols });
  assert.equal(opened.status, 101, `upgrade on ${path}`);
  return { ws: opened.connection, client: new raw_client(opened.connection) };
}

for (const path of ['/', '/mqtt']) {
  test(`MQTT.js over ws:// on ${path} gets retained and live messages`, { skip }, async () => {
    const topic = `ws/path${path === '/' ? 'root' : 'mqtt'}`;
    const pub = await connect_mqtt_js(broker.ports.ws, over_ws(path));
    await publish(pub.client, topic, 'kept', { retain: true, qos: 1 });
    const sub = await connect_mqtt_js(broker.ports.ws, over_ws(path));
    await subscribe(sub.client, [topic], 1);
    const retained = await sub.inbox.wait_for_topic(topic);
    assert.equal(retained.payload, 'kept');
    assert.equal(retained.retain, true);
    await publish(pub.client, topic, 'live', { qos: 1 });
    const live = await sub.inbox.wait_for((m) => m.payload === 'live');
    assert.equal(live.retain, false);
    await end(pub.client);
    await end(sub.client);
  });
}

test("MQTT.js over ws:// and a TCP client see each other's messages", { skip }, async () => {
  const ws_sub = await connect_mqtt_js(broker.ports.ws, over_ws('/mqtt'));
  await subscribe(ws_sub.client, ['ws/cross'], 0);
  const tcp_pub = await connect_mqtt_js(broker.ports.mqtt);
  await publish(tcp_pub.client, 'ws/cross', 'from tcp', { qos: 0 });
  assert.equal((await ws_sub.inbox.wait_for_topic('ws/cross')).payload, 'from tcp');
  await end(ws_sub.client);
  await end(tcp_pub.client);
});

test('MQTT.js with MQTT 3.1 (subprotocol mqttv3.1) connects over ws://', { skip }, async () => {
  const c = await connect_mqtt_js(
    broker.ports.ws,
    over_ws('/mqtt', { protocolId: 'MQIsdp', protocolVersion: 3 }),
  );
  await subscribe(c.client, ['ws/v31'], 0);
  await publish(c.client, 'ws/v31', 'old', { qos: 0 });
  assert.equal((await c.inbox.wait_for_topic('ws/v31')).payload, 'old');
  await end(c.client);
});

test('a 1 MiB PUBLISH crosses in one WebSocket message both ways', { skip }, async () => {
  const big = 'x'.repeat(1024 * 1024);
  const c = await connect_mqtt_js(broker.ports.ws, over_ws('/mqtt'));
  await subscribe(c.client, ['ws/big'], 1);
  await publish(c.client, 'ws/big', big, { qos: 1 });
  const m = await c.inbox.wait_for_topic('ws/big');
  assert.equal(m.payload.length, big.length);
  await end(c.client);
});

const subprotocol_cases = [
  { offered: ['mqtt'], echoed: 'mqtt' },
  { offered: ['mqttv3.1'], echoed: 'mqttv3.1' },
  { offered: ['foo', 'mqttv3.1', 'mqtt'], echoed: 'mqtt' },
  { offered: [], echoed: undefined },
  // RFC 6455 4.2.2: no agreement, no header; the client decides (see src/transport/ws_upgrade.hpp).
  { offered: ['foo'], echoed: undefined },
];
for (const { offered, echoed } of subprotocol_cases) {
  test(
    `offered subprotocols [${offered}] are answered with ${echoed ?? 'no header'}`,
    { skip },
    async () => {
      const opened = await ws_open({ port: broker.ports.ws, protocols: offered });
      assert.equal(opened.status, 101);
      assert.equal(opened.headers['sec-websocket-protocol'], echoed);
      // The connection is usable for MQTT whatever was agreed.
      const client = new raw_client(opened.connection);
      client.send(bytes.connect({ client_id: `ws-proto-${offered.join('-')}`, ...login }));
      assert.equal((await client.expect(bytes.packet_type.connack)).return_code, 0);
      client.destroy();
    },
  );
}

test('an upgrade on another path is answered 404 and closed', { skip }, async () => {
  const opened = await ws_open({ port: broker.ports.ws, path: '/ws' });
  assert.equal(opened.status, 404);
  assert.equal(opened.connection, null);
});

test(
  'a plain HTTP GET is answered 426 Upgrade Required at once, and closed',
  { skip },
  async () => {
    const answer = await http_exchange({
      port: broker.ports.ws,
      request: 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    });
    assert.equal(answer.status, 426, answer.raw);
    assert.equal(answer.headers.upgrade, 'websocket');
    assert.ok(answer.closed_after_ms < 2000, `closed after ${answer.closed_after_ms} ms`);
  },
);

test('bytes that are not HTTP are answered 400 and closed', { skip }, async () => {
  const connect_bytes = bytes.connect({ client_id: 'not-http', ...login });
  const answer = await http_exchange({
    port: broker.ports.ws,
    request: Buffer.concat([connect_bytes, Buffer.from('\r\n\r\n')]),
  });
  assert.equal(answer.status, 400, answer.raw);
});

test('an upgrade request with more than 8 KiB of header is answered 431', { skip }, async () => {
  const answer = await http_exchange({
    port: broker.ports.ws,
    request:
      'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `X-Filler: ${'a'.repeat(9000)}\r\n\r\n`,
  });
  assert.equal(answer.status, 431, answer.raw);
});

test('one MQTT packet split over several messages arrives whole', { skip }, async () => {
  const { ws, client } = await ws_mqtt();
  const packet = bytes.connect({ client_id: 'ws-split-messages', ...login });
  // Three complete binary messages of one frame each, cutting the CONNECT anywhere.
  for (const [from, to] of [
    [0, 1],
    [1, 7],
    [7, packet.length],
  ]) {
    ws.send_frame({ op: opcode.binary, payload: packet.subarray(from, to) });
  }
  assert.equal((await client.expect(bytes.packet_type.connack)).return_code, 0);
  await client.ping();
  client.destroy();
});

test(
  'one MQTT packet split over the frames of one fragmented message arrives whole',
  { skip },
  async () => {
    const { ws, client } = await ws_mqtt();
    const packet = bytes.connect({ client_id: 'ws-split-frames', ...login });
    ws.send_frame({ op: opcode.binary, payload: packet.subarray(0, 3), fin: false });
    ws.send_frame({ op: opcode.continuation, payload: packet.subarray(3, 10), fin: false });
    ws.send_frame({ op: opcode.continuation, payload: packet.subarray(10), fin: true });
    assert.equal((await client.expect(bytes.packet_type.connack)).return_code, 0);
    await client.ping();
    client.destroy();
  },
);

test(
  'several MQTT packets in one frame are all handled, answers in binary frames',
  { skip },
  async () => {
    const { ws, client } = await ws_mqtt();
    ws.send_frame({
      op: opcode.binary,
      payload: Buffer.concat([
        bytes.connect({ client_id: 'ws-packed', ...login }),
        bytes.subscribe(1, [['ws/packed', 1]]),
        bytes.publish({ topic: 'ws/packed', payload: 'one frame', qos: 1, packet_id: 2 }),
        bytes.pingreq(),
      ]),
    });
    assert.equal((await client.expect(bytes.packet_type.connack)).return_code, 0);
    const suback = await client.expect(bytes.packet_type.suback);
    assert.deepEqual([...suback.body], [0, 1, 1], 'SUBACK for id 1 granting QoS 1');
    const seen = [];
    while (seen.length < 3) seen.push(await client.next_packet());
    const types = seen.map((p) => bytes.type_name[p.type]).sort();
    assert.deepEqual(types, ['pingresp', 'puback', 'publish']);
    const delivered = bytes.decode_publish(seen.find((p) => p.type === bytes.packet_type.publish));
    assert.equal(delivered.payload, 'one frame');
    assert.ok(ws.frames.length > 0);
    for (const frame of ws.frames) {
      assert.equal(frame.op, opcode.binary, 'the broker sends binary frames only');
      assert.equal(frame.masked, false, 'server frames are not masked (RFC 6455 5.1)');
    }
    client.destroy();
  },
);

test('a text frame closes the connection with 1003', { skip }, async () => {
  const { ws, client } = await ws_mqtt();
  client.send(bytes.connect({ client_id: 'ws-text', ...login }));
  await client.expect(bytes.packet_type.connack);
  ws.send_frame({ op: opcode.text, payload: Buffer.from('{"hello": "broker"}') });
  const close = await ws.wait_frame((f) => f.op === opcode.close, 3000, 'a close frame');
  assert.equal(close.payload.readUInt16BE(0), 1003);
  ws.send_close(1003);
  await ws.wait_closed();
});

test('a frame announcing more than the message limit is closed with 1009', { skip }, async () => {
  const { ws, client } = await ws_mqtt();
  client.send(bytes.connect({ client_id: 'ws-too-big', ...login }));
  await client.expect(bytes.packet_type.connack);
  // A binary frame header that announces 1 TiB (RFC 6455 5.2: 127, then a 64-bit length),
  // masked as a client's must be; the payload never comes.
  const header = Buffer.alloc(14);
  header[0] = 0x80 | opcode.binary;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(1n << 40n, 2);
  ws.send_raw(header);
  const close = await ws.wait_frame((f) => f.op === opcode.close, 3000, 'a close frame');
  assert.equal(close.payload.readUInt16BE(0), 1009);
  await ws.wait_closed(4000);
});

test('an unmasked frame from a client is closed with 1002', { skip }, async () => {
  const { ws } = await ws_mqtt();
  // RFC 6455 5.1: a server must close the connection on an unmasked client frame.
  ws.send_frame({ op: opcode.binary, payload: bytes.pingreq(), mask: false });
  const close = await ws.wait_frame((f) => f.op === opcode.close, 3000, 'a close frame');
  assert.equal(close.payload.readUInt16BE(0), 1002);
  await ws.wait_closed(4000);
});

test('a ping is answered by a pong with the same payload', { skip }, async () => {
  const { ws, client } = await ws_mqtt();
  client.send(bytes.connect({ client_id: 'ws-ping', ...login }));
  await client.expect(bytes.packet_type.connack);
  ws.send_frame({ op: opcode.ping, payload: Buffer.from('are you there') });
  const pong = await ws.wait_frame((f) => f.op === opcode.pong, 3000, 'a pong');
  assert.equal(pong.payload.toString(), 'are you there');
  await client.ping(); // MQTT still flows after it
  client.destroy();
});

test(
  'a close frame from the client is answered with a close frame, then the end',
  { skip },
  async () => {
    const { ws, client } = await ws_mqtt();
    client.send(bytes.connect({ client_id: 'ws-close', ...login }));
    await client.expect(bytes.packet_type.connack);
    ws.send_close(1000, 'bye');
    const close = await ws.wait_frame((f) => f.op === opcode.close, 3000, 'the close reply');
    assert.equal(close.payload.readUInt16BE(0), 1000);
    await ws.wait_closed();
  },
);

test('the broker ends a WebSocket with a close frame when MQTT ends', { skip }, async () => {
  const { ws, client } = await ws_mqtt();
  client.send(bytes.connect({ client_id: 'ws-disconnect', ...login }));
  await client.expect(bytes.packet_type.connack);
  client.send(bytes.disconnect());
  const close = await ws.wait_frame((f) => f.op === opcode.close, 3000, 'a close frame');
  assert.equal(close.payload.readUInt16BE(0), 1000);
  ws.send_close(1000);
  await ws.wait_closed();
});

test(
  'a WebSocket client that closes without MQTT DISCONNECT fires its will',
  { skip },
  async () => {
    const watcher = await connect_mqtt_js(broker.ports.mqtt);
    await subscribe(watcher.client, ['ws/will'], 0);
    const { ws, client } = await ws_mqtt();
    client.send(
      bytes.connect({
        client_id: 'ws-will',
        ...login,
        will: { topic: 'ws/will', payload: 'gone' },
      }),
    );
    await client.expect(bytes.packet_type.connack);
    ws.send_close(1001);
    assert.equal((await watcher.inbox.wait_for_topic('ws/will')).payload, 'gone');
    await end(watcher.client);
  },
);
