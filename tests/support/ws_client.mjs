// A WebSocket client written frame by frame (RFC 6455), over TCP or TLS, for what library
// clients never do: split one MQTT packet over several frames, pack several packets into one
// frame, send a text frame, a ping, a close with a code. It never answers on its own (no pongs,
// no close replies) so tests see exactly what the broker sends.
//
// A ws_connection looks enough like a socket ('data' events carrying the payload of binary
// frames, write() sending one binary frame, 'close') for raw_client to speak MQTT through it.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { with_deadline } from './deadline.mjs';

const default_wait_ms = 3000;
const accept_guid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const opcode = Object.freeze({
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
});

// One frame as the client sends it: masked, as RFC 6455 5.3 requires of clients.
export function encode_frame({ op, payload = Buffer.alloc(0), fin = true, mask = true }) {
  const data = Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | op];
  const mask_bit = mask ? 0x80 : 0;
  if (data.length < 126) {
    head.push(mask_bit | data.length);
  } else if (data.length < 65536) {
    head.push(mask_bit | 126, data.length >> 8, data.length & 0xff);
  } else {
    const n = Buffer.alloc(8);
    n.writeBigUInt64BE(BigInt(data.length));
    head.push(mask_bit | 127, ...n);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i % 4];
  return Buffer.concat([Buffer.from(head), key, masked]);
}

function connect_transport({ port, tls_options }) {
  if (tls_options) {
    return tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...tls_options });
  }
  return net.createConnection({ host: '127.0.0.1', port });
}

function parse_http_head(text) {
  const [status_line, ...lines] = text.split('\r\n');
  const status = Number(status_line.split(' ')[1]);
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status_line, status, headers };
}

// Sends `request` (raw HTTP text) and collects everything the server answers until it closes the
// connection: {status, headers, body, closed_after_ms}. Fails if the server does not close within
// `ms`: an answer that leaves the connection hanging is a failure too.
export async function http_exchange({ port, request, tls_options, ms = default_wait_ms }) {
  const socket = connect_transport({ port, tls_options });
  const started = Date.now();
  let received = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    received = Buffer.concat([received, chunk]);
  });
  const closed = new Promise((resolve) => {
    socket.on('error', () => {});
    socket.on('close', resolve);
  });
  socket.write(request);
  try {
    await with_deadline(
      closed,
      ms,
      `the server to answer ${JSON.stringify(String(request).split('\r\n')[0])} and close`,
    );
  } finally {
    socket.destroy();
  }
  const text = received.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = parse_http_head(end >= 0 ? text.slice(0, end) : text);
  return {
    ...head,
    body: end >= 0 ? text.slice(end + 4) : '',
    raw: text,
    closed_after_ms: Date.now() - started,
  };
}

export class ws_connection extends EventEmitter {
  constructor(socket, leftover) {
    super();
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.frames = []; // every frame from the server: {op, fin, payload, masked}
    this.close_frame = null; // {code, reason} once the server sent a close frame
    this.closed = false;
    this.waiters = new Set();
    // A reset is one more way for the server to close; tests look at `closed`.
    this.on('error', () => {});
    socket.on('data', (chunk) => this.on_bytes(chunk));
    socket.on('error', (error) => this.emit('error', error));
    socket.on('close', () => {
      this.closed = true;
      this.changed();
      this.emit('close');
    });
    if (leftover.length > 0) this.on_bytes(leftover);
  }

  changed() {
    for (const waiter of this.waiters) waiter();
  }

  on_bytes(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) break;
      const b0 = this.buffer[0];
      const b1 = this.buffer[1];
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) break;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) break;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      if (masked) offset += 4;
      if (this.buffer.length < offset + length) break;
      const payload = Buffer.from(this.buffer.subarray(offset, offset + length));
      this.buffer = this.buffer.subarray(offset + length);
      const frame = { op: b0 & 0x0f, fin: (b0 & 0x80) !== 0, payload, masked };
      this.frames.push(frame);
      if (frame.op === opcode.close) {
        this.close_frame = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
          reason: payload.subarray(2).toString('utf8'),
        };
      }
      if (frame.op === opcode.binary || frame.op === opcode.continuation) {
        this.emit('data', payload);
      }
    }
    this.changed();
  }

  // The first frame (received so far or later) for which `match` holds.
  wait_frame(match, ms = default_wait_ms, what = 'a WebSocket frame') {
    const found = new Promise((resolve, reject) => {
      const check = () => {
        const frame = this.frames.find(match);
        if (frame) {
          this.waiters.delete(check);
          resolve(frame);
        } else if (this.closed) {
          this.waiters.delete(check);
          reject(new Error(`connection closed while waiting for ${what}`));
        }
      };
      this.waiters.add(check);
      check();
    });
    return with_deadline(found, ms, what);
  }

  wait_closed(ms = default_wait_ms, what = 'the server to close the TCP connection') {
    const closed = new Promise((resolve) => {
      const check = () => {
        if (this.closed) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
    return with_deadline(closed, ms, what);
  }

  send_frame(frame) {
    this.socket.write(encode_frame(frame));
  }

  send_raw(bytes) {
    this.socket.write(bytes);
  }

  send_close(code, reason = '') {
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.send_frame({ op: opcode.close, payload });
  }

  // The socket-like face raw_client uses: one binary frame per write.
  write(bytes) {
    this.send_frame({ op: opcode.binary, payload: bytes });
  }

  setNoDelay(on) {
    this.socket.setNoDelay(on);
  }

  destroy() {
    this.socket.destroy();
  }
}

// Opens a WebSocket: {status, headers, connection} where connection is a ws_connection when the
// server answered 101 (the Sec-WebSocket-Accept is checked), else null.
export async function ws_open({
  port,
  path = '/mqtt',
  protocols = ['mqtt'],
  tls_options,
  ms = default_wait_ms,
}) {
  const socket = connect_transport({ port, tls_options });
  socket.setNoDelay(true);
  const key = crypto.randomBytes(16).toString('base64');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (protocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${protocols.join(', ')}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const answered = new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const on_data = (chunk) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.removeListener('data', on_data);
      socket.pause();
      resolve({
        head: received.subarray(0, end).toString('latin1'),
        rest: received.subarray(end + 4),
      });
    };
    socket.on('data', on_data);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before an HTTP answer')));
  });
  let answer;
  try {
    answer = await with_deadline(answered, ms, `the WebSocket upgrade answer for ${path}`);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  socket.removeAllListeners('close');
  socket.removeAllListeners('error');
  const head = parse_http_head(answer.head);
  if (head.status !== 101) {
    socket.destroy();
    return { ...head, connection: null };
  }
  const expected = crypto
    .createHash('sha1')
    .update(key + accept_guid)
    .digest('base64');
  if (head.headers['sec-websocket-accept'] !== expected) {
    socket.destroy();
    throw new Error(`wrong Sec-WebSocket-Accept: ${head.headers['sec-websocket-accept']}`);
  }
  const connection = new ws_connection(socket, answer.rest);
  socket.resume();
  return { ...head, connection };
}
