// A TCP client that speaks MQTT only through the bytes a test gives it, and splits what the
// broker sends back into packets. It never answers on its own: no acks, no pings.
import net from 'node:net';
import assert from 'node:assert/strict';
import { with_deadline } from './deadline.mjs';
import { connect, decode_publish, packet_type, pingreq, type_name } from './mqtt_bytes.mjs';

const default_wait_ms = 3000;

export class raw_client {
  static open(port, ms = default_wait_ms) {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    const opened = new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return with_deadline(opened, ms, `TCP connect to 127.0.0.1:${port}`).then(
      () => new raw_client(socket),
    );
  }

  // Opens a connection, sends CONNECT with the given fields and returns it with its CONNACK.
  static async connect(port, connect_fields, ms = default_wait_ms) {
    const client = await raw_client.open(port, ms);
    client.send(connect(connect_fields));
    const connack = await client.expect(packet_type.connack, ms);
    return { client, connack };
  }

  // Like connect(), but the CONNACK must accept the connection.
  static async connect_accepted(port, connect_fields, ms = default_wait_ms) {
    const { client, connack } = await raw_client.connect(port, connect_fields, ms);
    const why = `CONNACK return code for ${JSON.stringify(connect_fields)}`;
    assert.equal(connack.return_code, 0, why);
    return client;
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.packets = [];
    this.closed = false;
    this.closed_at = null;
    this.notify = () => {};
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.split_packets();
      this.notify();
    });
    // A reset is one more way for the broker to close the connection.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.closed_at = Date.now();
      this.notify();
    });
  }

  split_packets() {
    for (;;) {
      if (this.buffer.length < 2) return;
      let length = 0;
      let multiplier = 1;
      let i = 1;
      for (;;) {
        if (i >= this.buffer.length) return;
        if (i > 4) {
          // Not MQTT: the broker is broken. Waits fail with "connection closed".
          this.broker_error = 'broker sent a remaining length longer than 4 bytes';
          this.socket.destroy();
          return;
        }
        const byte = this.buffer[i++];
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) break;
      }
      if (this.buffer.length < i + length) return;
      const first = this.buffer[0];
      this.packets.push({
        type: first >> 4,
        flags: first & 0x0f,
        body: Buffer.from(this.buffer.subarray(i, i + length)),
      });
      this.buffer = this.buffer.subarray(i + length);
    }
  }

  send(bytes) {
    this.socket.write(bytes);
  }

  // The next packet from the broker, whatever its type.
  next_packet(ms = default_wait_ms, what = 'a packet from the broker') {
    const got = new Promise((resolve, reject) => {
      const check = () => {
        if (this.packets.length > 0) {
          this.notify = () => {};
          resolve(this.packets.shift());
        } else if (this.closed) {
          this.notify = () => {};
          const why = this.broker_error ? ` (${this.broker_error})` : '';
          reject(new Error(`connection closed while waiting for ${what}${why}`));
        }
      };
      this.notify = check;
      check();
    });
    return with_deadline(got, ms, what).finally(() => {
      this.notify = () => {};
    });
  }

  // The next packet, which must be of `type`; CONNACK and PUBLISH come back decoded.
  async expect(type, ms = default_wait_ms) {
    const p = await this.next_packet(ms, `${type_name[type]} from the broker`);
    assert.equal(type_name[p.type], type_name[type], `expected ${type_name[type]}`);
    if (type === packet_type.connack) {
      return { session_present: (p.body[0] & 1) === 1, return_code: p.body[1], ...p };
    }
    if (type === packet_type.publish) return { ...decode_publish(p), ...p };
    if (p.body.length === 2) return { packet_id: p.body.readUInt16BE(0), ...p };
    return p;
  }

  // Resolves when the broker has closed the connection. Packets sent before the close are kept.
  wait_closed(ms = default_wait_ms, what = 'the broker to close the connection') {
    const closed = new Promise((resolve) => {
      const check = () => {
        if (this.closed) resolve(this.closed_at);
      };
      this.socket.once('close', check);
      check();
    });
    return with_deadline(closed, ms, what);
  }

  // The connection is usable: a PINGREQ is answered by a PINGRESP.
  async ping(ms = default_wait_ms) {
    this.send(pingreq());
    await this.expect(packet_type.pingresp, ms);
  }

  destroy() {
    this.socket.destroy();
  }
}
