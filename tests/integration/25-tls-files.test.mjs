// The certificate files decide whether the TLS listeners run (CONTRACT.md): missing files turn
// them off with one log line while the plain listeners serve; files that exist but cannot be used
// stop the broker with exit status 1 and a message naming the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { is_mosquitto, test_user } from '../support/broker.mjs';
import { make_test_pki } from '../support/certs.mjs';
import { run_broker_to_exit, start_broker_with_listeners } from '../support/listeners.mjs';
import { connect_mqtt_js, end } from '../support/mqtt_client.mjs';

const skip = is_mosquitto && 'our listeners and answers: not run against Mosquitto';
const pki = skip ? null : make_test_pki();
const dirs = [];

after(() => {
  pki?.cleanup();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

// A fresh ssl dir holding the given files: {name: content}.
function ssl_dir_with(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-ssl-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files))
    fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const read = (file) => fs.readFileSync(file, 'utf8');

function refused(port) {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error) => resolve(error.code === 'ECONNREFUSED'));
  });
}

test(
  'without certificate files the TLS listeners stay off, one line says so, plain ones serve',
  { skip },
  async () => {
    const broker = await start_broker_with_listeners({
      kinds: ['ws', 'mqtts', 'wss'],
      ssl_dir: ssl_dir_with({}),
      ready_kinds: ['ws'],
    });
    try {
      const lines = broker.output.split('\n').filter((l) => /TLS listeners/.test(l));
      assert.equal(lines.length, 1, broker.output);
      assert.match(
        lines[0],
        new RegExp(
          `notice TLS listeners \\(mqtts ${broker.ports.mqtts}, wss ${broker.ports.wss}\\) ` +
            'not started: ' +
            '\\S+/fullchain\\.pem and \\S+/privkey\\.pem not found',
        ),
      );
      assert.doesNotMatch(broker.output, /listening: (mqtts|wss)/);
      assert.equal(await refused(broker.ports.mqtts), true, 'the mqtts port accepts connections');
      assert.equal(await refused(broker.ports.wss), true, 'the wss port accepts connections');
      const tcp = await connect_mqtt_js(broker.ports.mqtt);
      await end(tcp.client);
      const ws = await connect_mqtt_js(broker.ports.ws, { protocol: 'ws', path: '/mqtt' });
      await end(ws.client);
    } finally {
      await broker.stop();
    }
  },
);

test('a missing key alone also keeps the TLS listeners off, naming it', { skip }, async () => {
  const broker = await start_broker_with_listeners({
    kinds: ['mqtts'],
    ssl_dir: ssl_dir_with({ 'fullchain.pem': read(path.join(pki.ssl_dir, 'fullchain.pem')) }),
    ready_kinds: [],
  });
  try {
    assert.match(
      broker.output,
      /TLS listeners \(mqtts \d+\) not started: \S+\/privkey\.pem not found/,
    );
    assert.doesNotMatch(broker.output, /fullchain\.pem and/);
    assert.doesNotMatch(broker.output, /listening: mqtts/);
  } finally {
    await broker.stop();
  }
});

const unusable = [
  {
    name: 'a certfile that is not PEM',
    files: () => ({ 'fullchain.pem': 'not a certificate\n', 'privkey.pem': read(pki.server.key) }),
    message: /error TLS: certfile \S+\/fullchain\.pem: /,
  },
  {
    name: 'a keyfile that belongs to another certificate',
    files: () => ({ 'fullchain.pem': read(pki.server.cert), 'privkey.pem': read(pki.client.key) }),
    message: /keyfile \S+\/privkey\.pem is not the key of the certificate in certfile/,
  },
  {
    name: 'an encrypted keyfile',
    files: () => ({
      'fullchain.pem': read(pki.server.cert),
      'privkey.pem': execFileSync('openssl', [
        'pkey',
        '-in',
        pki.server.key,
        '-aes256',
        '-passout',
        'pass:secret',
      ]).toString(),
    }),
    message: /keyfile \S+\/privkey\.pem: .*unencrypted PEM private key/,
  },
  {
    name: 'require_certificate with a cafile that does not exist',
    options: { logins: [test_user], require_certificate: true, cafile: 'missing-ca.pem' },
    files: () => ({ 'fullchain.pem': read(pki.server.cert), 'privkey.pem': read(pki.server.key) }),
    message: /cafile \S+\/missing-ca\.pem: /,
  },
];

for (const { name, files, message, options } of unusable) {
  test(`${name} stops the broker with exit status 1 and says which file`, { skip }, async () => {
    const r = await run_broker_to_exit({ options, ssl_dir: ssl_dir_with(files()) });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, message);
    assert.doesNotMatch(r.output, /listening:/);
  });
}
