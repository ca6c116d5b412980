// Looks at a TLS listener from the outside: which certificate it serves (node's tls), and what
// `openssl s_client` negotiates with it for a given protocol version or cipher.
import fs from 'node:fs';
import tls from 'node:tls';
import { run_program } from './child_process.mjs';
import { with_deadline } from './deadline.mjs';

const default_wait_ms = 5000;

// The certificate the listener on `port` serves now: {serial (upper-case hex), subject_cn}.
// `ca` is the CA file the client trusts; `cert`/`key` a client certificate, when one is needed.
export async function served_certificate({ port, ca, cert, key, ms = default_wait_ms }) {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: fs.readFileSync(ca),
    ...(cert ? { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } : {}),
  });
  const connected = new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  try {
    await with_deadline(connected, ms, `a TLS handshake with 127.0.0.1:${port}`);
    const peer = socket.getPeerCertificate();
    return {
      serial: peer.serialNumber.replace(/^0+/, '').toUpperCase(),
      subject_cn: peer.subject.CN,
    };
  } finally {
    socket.destroy();
  }
}

// `openssl s_client` against 127.0.0.1:`port` with stdin closed (it ends after the handshake).
// `version` is tls1_1, tls1_2 or tls1_3. Security level 0 lets the client offer what OpenSSL 3
// otherwise refuses to send at all (TLS 1.1), so that it is the server that says no.
// Returns {code, output, protocol, cipher, alert}: alert is the number of a TLS alert the server
// sent (70 protocol version, 40 handshake failure, 116 certificate required), or null.
export async function s_client({ port, version, cipher, ca, cert, key, ms = default_wait_ms }) {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost'];
  if (version) args.push(`-${version}`);
  if (version === 'tls1_3') {
    if (cipher) args.push('-ciphersuites', cipher);
  } else {
    args.push('-cipher', cipher ? `${cipher}:@SECLEVEL=0` : 'DEFAULT:@SECLEVEL=0');
  }
  if (ca) args.push('-CAfile', ca, '-verify_return_error');
  if (cert) args.push('-cert', cert, '-key', key);
  const result = await run_program('openssl', args, ms);
  const output = result.stdout + result.stderr;
  const protocol = /New, (TLSv[\d.]+), Cipher is/.exec(output)?.[1] ?? null;
  const negotiated = /Cipher is (\S+)/.exec(output)?.[1] ?? null;
  const alert = /SSL alert number (\d+)/.exec(output)?.[1];
  return {
    code: result.code,
    output,
    protocol,
    cipher: negotiated === '(NONE)' ? null : negotiated,
    alert: alert === undefined ? null : Number(alert),
  };
}
