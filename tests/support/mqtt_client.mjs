// MQTT.js (npm `mqtt`, installed in tests/integration by scripts/install-deps.sh) with the waits
// the tests need: connect, subscribe and publish resolve on the broker's answer, and every received
// message lands in an inbox that tests wait on with a deadline.
import { createRequire } from 'node:module';
import { with_deadline } from './deadline.mjs';
import { test_user } from './broker.mjs';

const require = createRequire(new URL('../integration/package.json', import.meta.url));

function load_mqtt_js() {
  try {
    return require('mqtt');
  } catch (error) {
    throw new Error(
      'MQTT.js (npm mqtt) is not installed in tests/integration: ' +
        'run bash scripts/install-deps.sh ' +
        `(${error.message})`,
    );
  }
}

const mqtt = load_mqtt_js();
const default_wait_ms = 5000;
let client_counter = 0;

export function unique_client_id(prefix = 'it') {
  client_counter += 1;
  return `${prefix}-${process.pid}-${client_counter}`;
}

// Messages received by one client, in arrival order.
export class inbox {
  constructor(client) {
    this.messages = [];
    this.waiters = new Set();
    client.on('message', (topic, payload, packet) => {
      this.messages.push({
        topic,
        payload: payload.toString('utf8'),
        qos: packet.qos,
        retain: packet.retain,
        dup: packet.dup,
        message_id: packet.messageId,
        properties: packet.properties, // 5.0 only
      });
      for (const waiter of this.waiters) waiter();
    });
  }

  // The first message (received so far or later) for which `match` holds.
  wait_for(match, ms = default_wait_ms, what = 'a matching message') {
    const found = new Promise((resolve) => {
      const check = () => {
        const m = this.messages.find(match);
        if (m) {
          this.waiters.delete(check);
          resolve(m);
        }
      };
      this.waiters.add(check);
      check();
    });
    return with_deadline(found, ms, what);
  }

  wait_for_topic(topic, ms = default_wait_ms) {
    return this.wait_for((m) => m.topic === topic, ms, `a message on ${topic}`);
  }

  // Messages that arrived before the first one on `marker_topic`. Tests publish a marker after the
  // action under test so "nothing else arrived" is checked without sleeping.
  before_marker(marker_topic) {
    const end = this.messages.findIndex((m) => m.topic === marker_topic);
    return end < 0 ? this.messages.slice() : this.messages.slice(0, end);
  }

  on_topic(topic) {
    return this.messages.filter((m) => m.topic === topic);
  }
}

// A connected MQTT.js client (MQTT 3.1.1 unless protocolVersion: 3) logged in as the test user.
// It never reconnects by itself: a test that loses its connection sees it.
export async function connect_mqtt_js(port, options = {}, ms = default_wait_ms) {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    protocol: 'mqtt',
    protocolVersion: 4,
    clientId: unique_client_id(),
    username: test_user.username,
    password: test_user.password,
    reconnectPeriod: 0,
    connectTimeout: ms,
    ...options,
  });
  const messages = new inbox(client);
  const connack = await with_deadline(
    new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    }),
    ms,
    'CONNACK for MQTT.js',
  ).catch((error) => {
    client.end(true);
    throw error;
  });
  client.on('error', () => {});
  return { client, inbox: messages, connack };
}

// SUBSCRIBE and wait for SUBACK; returns the granted QoS of each filter.
export async function subscribe(client, filters, qos = 0, ms = default_wait_ms) {
  const granted = await with_deadline(
    client.subscribeAsync(filters, { qos }),
    ms,
    `SUBACK for ${filters}`,
  );
  return granted.map((g) => g.qos);
}

export async function unsubscribe(client, filters, ms = default_wait_ms) {
  await with_deadline(client.unsubscribeAsync(filters), ms, `UNSUBACK for ${filters}`);
}

// PUBLISH and wait for its flow to complete (PUBACK for QoS 1, PUBCOMP for QoS 2).
export async function publish(client, topic, payload, options = {}, ms = default_wait_ms) {
  await with_deadline(client.publishAsync(topic, payload, options), ms, `publish to ${topic}`);
}

export async function end(client, ms = default_wait_ms) {
  if (!client.connected) {
    client.end(true);
    return;
  }
  await with_deadline(client.endAsync(), ms, 'MQTT.js DISCONNECT');
}
