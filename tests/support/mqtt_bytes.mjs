// MQTT 3.1/3.1.1 packets built by hand, byte for byte, for what real clients refuse to send
// (bad flags, reserved values, a second CONNECT) and for asserting exact bytes on the wire.

export const packet_type = Object.freeze({
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
});

export const type_name = Object.freeze(
  Object.fromEntries(Object.entries(packet_type).map(([name, value]) => [value, name])),
);

// The variable-length "remaining length" of the fixed header (1 to 4 bytes).
export function remaining_length(n) {
  const bytes = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

// A length-prefixed string; a Buffer is taken as is so tests can send invalid UTF-8.
export function mqtt_string(value) {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function packet(first_byte, body = Buffer.alloc(0)) {
  return Buffer.concat([Buffer.from([first_byte]), remaining_length(body.length), body]);
}

// CONNECT. protocol 4 is MQTT 3.1.1 ("MQTT"); 3 is MQTT 3.1 ("MQIsdp").
export function connect({
  client_id = '',
  clean = true,
  keepalive = 60,
  username,
  password,
  will,
  protocol_level = 4,
  protocol_name = protocol_level === 3 ? 'MQIsdp' : 'MQTT',
} = {}) {
  let flags = clean ? 0x02 : 0;
  if (will) {
    flags |= 0x04 | ((will.qos ?? 0) << 3);
    if (will.retain) flags |= 0x20;
  }
  if (password !== undefined) flags |= 0x40;
  if (username !== undefined) flags |= 0x80;
  const parts = [
    mqtt_string(protocol_name),
    Buffer.from([protocol_level, flags]),
    u16(keepalive),
    mqtt_string(client_id),
  ];
  if (will) parts.push(mqtt_string(will.topic), mqtt_string(Buffer.from(will.payload ?? '')));
  if (username !== undefined) parts.push(mqtt_string(username));
  if (password !== undefined) parts.push(mqtt_string(password));
  return packet(0x10, Buffer.concat(parts));
}

export function publish({
  topic,
  payload = '',
  qos = 0,
  retain = false,
  dup = false,
  packet_id,
}) {
  const first = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  const parts = [mqtt_string(topic)];
  if (qos > 0) parts.push(u16(packet_id));
  parts.push(Buffer.from(payload));
  return packet(first, Buffer.concat(parts));
}

export const puback = (id) => packet(0x40, u16(id));
export const pubrec = (id) => packet(0x50, u16(id));
// PUBREL has the reserved flags 0010 [MQTT-3.6.1-1].
export const pubrel = (id) => packet(0x62, u16(id));
export const pubcomp = (id) => packet(0x70, u16(id));

// SUBSCRIBE has the reserved flags 0010 [MQTT-3.8.1-1]; `filters` is [[filter, qos], ...].
export function subscribe(id, filters, first_byte = 0x82) {
  const parts = [u16(id)];
  for (const [filter, qos] of filters) parts.push(mqtt_string(filter), Buffer.from([qos]));
  return packet(first_byte, Buffer.concat(parts));
}

export function unsubscribe(id, filters) {
  return packet(0xa2, Buffer.concat([u16(id), ...filters.map((f) => mqtt_string(f))]));
}

export const pingreq = () => Buffer.from([0xc0, 0x00]);
export const disconnect = () => Buffer.from([0xe0, 0x00]);

// Splits a PUBLISH received from the broker into its fields.
export function decode_publish({ flags, body }) {
  const qos = (flags >> 1) & 0x03;
  const topic_length = body.readUInt16BE(0);
  const topic = body.subarray(2, 2 + topic_length).toString('utf8');
  let offset = 2 + topic_length;
  let packet_id;
  if (qos > 0) {
    packet_id = body.readUInt16BE(offset);
    offset += 2;
  }
  return {
    topic,
    payload: body.subarray(offset).toString('utf8'),
    qos,
    retain: (flags & 0x01) !== 0,
    dup: (flags & 0x08) !== 0,
    packet_id,
  };
}
