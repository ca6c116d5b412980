// MQTT 5.0 packets built and read byte for byte: properties, reason codes, and what real clients
// will not send (a topic alias beyond the maximum, a subscription identifier in PUBLISH, ...).
// Properties are given and returned as [[name, value], ...] in wire order; a user property's
// value is [key, value].
import { mqtt_string, packet, remaining_length } from './mqtt_bytes.mjs';

// id, wire type
export const property = Object.freeze({
  payload_format_indicator: [0x01, 'byte'],
  message_expiry_interval: [0x02, 'u32'],
  content_type: [0x03, 'string'],
  response_topic: [0x08, 'string'],
  correlation_data: [0x09, 'binary'],
  subscription_identifier: [0x0b, 'varint'],
  session_expiry_interval: [0x11, 'u32'],
  assigned_client_identifier: [0x12, 'string'],
  server_keep_alive: [0x13, 'u16'],
  authentication_method: [0x15, 'string'],
  authentication_data: [0x16, 'binary'],
  request_problem_information: [0x17, 'byte'],
  will_delay_interval: [0x18, 'u32'],
  request_response_information: [0x19, 'byte'],
  response_information: [0x1a, 'string'],
  server_reference: [0x1c, 'string'],
  reason_string: [0x1f, 'string'],
  receive_maximum: [0x21, 'u16'],
  topic_alias_maximum: [0x22, 'u16'],
  topic_alias: [0x23, 'u16'],
  maximum_qos: [0x24, 'byte'],
  retain_available: [0x25, 'byte'],
  user_property: [0x26, 'pair'],
  maximum_packet_size: [0x27, 'u32'],
  wildcard_subscription_available: [0x28, 'byte'],
  subscription_identifier_available: [0x29, 'byte'],
  shared_subscription_available: [0x2a, 'byte'],
});
const name_of_id = new Map(Object.entries(property).map(([name, [id, type]]) => [id, [name, type]]));

function varint(n) {
  return remaining_length(n);
}

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function encode_properties(props = []) {
  const parts = [];
  for (const [name, value] of props) {
    const [id, type] = property[name];
    parts.push(varint(id));
    if (type === 'byte') parts.push(Buffer.from([value]));
    else if (type === 'u16') parts.push(u16(value));
    else if (type === 'u32') parts.push(u32(value));
    else if (type === 'varint') parts.push(varint(value));
    else if (type === 'pair') parts.push(mqtt_string(value[0]), mqtt_string(value[1]));
    else parts.push(mqtt_string(value));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([varint(body.length), body]);
}

function read_varint(buf, offset) {
  let value = 0;
  let multiplier = 1;
  for (;;) {
    const byte = buf[offset++];
    value += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return [value, offset];
  }
}

// Returns [props, offset after them].
export function decode_properties(buf, offset) {
  let length;
  [length, offset] = read_varint(buf, offset);
  const end = offset + length;
  const props = [];
  while (offset < end) {
    let id;
    [id, offset] = read_varint(buf, offset);
    const [name, type] = name_of_id.get(id) ?? [`unknown_${id}`, 'byte'];
    let value;
    if (type === 'byte') value = buf[offset++];
    else if (type === 'u16') (value = buf.readUInt16BE(offset)), (offset += 2);
    else if (type === 'u32') (value = buf.readUInt32BE(offset)), (offset += 4);
    else if (type === 'varint') [value, offset] = read_varint(buf, offset);
    else {
      const read_string = () => {
        const n = buf.readUInt16BE(offset);
        const s = buf.subarray(offset + 2, offset + 2 + n);
        offset += 2 + n;
        return type === 'binary' ? Buffer.from(s) : s.toString('utf8');
      };
      value = type === 'pair' ? [read_string(), read_string()] : read_string();
    }
    props.push([name, value]);
  }
  return [props, end];
}

// The first value of a property, or undefined; all of them with all_of().
export const prop = (props, name) => props.find(([n]) => n === name)?.[1];
export const all_of = (props, name) => props.filter(([n]) => n === name).map(([, v]) => v);

export function connect5({
  client_id = '',
  clean = true,
  keepalive = 60,
  username,
  password,
  properties = [],
  will,
} = {}) {
  let flags = clean ? 0x02 : 0;
  if (will) {
    flags |= 0x04 | ((will.qos ?? 0) << 3);
    if (will.retain) flags |= 0x20;
  }
  if (password !== undefined) flags |= 0x40;
  if (username !== undefined) flags |= 0x80;
  const parts = [
    mqtt_string('MQTT'),
    Buffer.from([5, flags]),
    u16(keepalive),
    encode_properties(properties),
    mqtt_string(client_id),
  ];
  if (will) {
    parts.push(
      encode_properties(will.properties ?? []),
      mqtt_string(will.topic),
      mqtt_string(Buffer.from(will.payload ?? '')),
    );
  }
  if (username !== undefined) parts.push(mqtt_string(username));
  if (password !== undefined) parts.push(mqtt_string(password));
  return packet(0x10, Buffer.concat(parts));
}

export function publish5({ topic, payload = '', qos = 0, retain = false, packet_id, properties }) {
  const first = 0x30 | (qos << 1) | (retain ? 0x01 : 0);
  const parts = [mqtt_string(topic)];
  if (qos > 0) parts.push(u16(packet_id));
  parts.push(encode_properties(properties), Buffer.isBuffer(payload) ? payload : Buffer.from(payload));
  return packet(first, Buffer.concat(parts));
}

// `filters`: [[filter, options byte], ...].
export function subscribe5(id, filters, properties = []) {
  const parts = [u16(id), encode_properties(properties)];
  for (const [filter, options] of filters) parts.push(mqtt_string(filter), Buffer.from([options]));
  return packet(0x82, Buffer.concat(parts));
}

export function unsubscribe5(id, filters) {
  return packet(0xa2, Buffer.concat([u16(id), encode_properties([]), ...filters.map(mqtt_string)]));
}

export function ack5(first_byte, id, reason = 0) {
  return packet(first_byte, Buffer.concat([u16(id), Buffer.from([reason])]));
}
export const puback5 = (id, reason = 0) => ack5(0x40, id, reason);
export const pubrel5 = (id, reason = 0) => ack5(0x62, id, reason);

export function disconnect5(reason = 0, properties = []) {
  return packet(0xe0, Buffer.concat([Buffer.from([reason]), encode_properties(properties)]));
}

// Readers of what the broker sends, from raw_client packets ({type, flags, body}).
export function read_connack({ body }) {
  const [properties] = decode_properties(body, 2);
  return { session_present: (body[0] & 1) === 1, reason: body[1], properties };
}

export function read_publish({ flags, body }) {
  const qos = (flags >> 1) & 3;
  const n = body.readUInt16BE(0);
  const topic = body.subarray(2, 2 + n).toString('utf8');
  let offset = 2 + n;
  let packet_id;
  if (qos > 0) (packet_id = body.readUInt16BE(offset)), (offset += 2);
  const [properties, end] = decode_properties(body, offset);
  return {
    topic,
    qos,
    retain: (flags & 1) === 1,
    dup: (flags & 8) === 8,
    packet_id,
    properties,
    payload: body.subarray(end),
  };
}

// PUBACK, PUBREC, PUBREL, PUBCOMP: reason 0 when left out.
export function read_ack({ body }) {
  return { packet_id: body.readUInt16BE(0), reason: body.length > 2 ? body[2] : 0 };
}

// SUBACK, UNSUBACK: the reason code list.
export function read_sub_ack({ body }) {
  const [properties, end] = decode_properties(body, 2);
  return { packet_id: body.readUInt16BE(0), properties, reasons: [...body.subarray(end)] };
}

export function read_disconnect({ body }) {
  if (body.length === 0) return { reason: 0, properties: [] };
  const [properties] = body.length > 1 ? decode_properties(body, 1) : [[]];
  return { reason: body[0], properties };
}
