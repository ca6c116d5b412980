// Real certificates for the TLS tests, made with the `openssl` CLI (apt openssl) into a temporary
// directory per test file: a CA, a server certificate for localhost and 127.0.0.1 signed by it, a
// client certificate signed by it, and a second, unrelated CA with its own client certificate
// (the "wrong" one). EC P-256 keys: generated in milliseconds.
//
// The server's files are laid out like the add-on's /ssl: fullchain.pem (leaf, then the CA) and
// privkey.pem, so the directory is passed to the broker as --ssl-dir.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const days = '2';

function openssl(args, cwd) {
  try {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (error) {
    throw new Error(
      `openssl ${args.join(' ')} failed: ${error.stderr?.toString() ?? error.message}`,
    );
  }
}

function random_serial() {
  return '0x' + crypto.randomBytes(8).toString('hex');
}

const ec_key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

// A self-signed CA: {cert, key} paths inside `dir`, named after `name`.
export function make_ca(dir, name, common_name) {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl([
    'req',
    '-x509',
    ...ec_key,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    days,
    '-subj',
    `/CN=${common_name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

// A leaf certificate signed by `ca`: {cert, key, serial}. `usage` is serverAuth or clientAuth;
// a server certificate names localhost and 127.0.0.1 unless `names` (a subjectAltName value)
// says otherwise.
export function make_leaf(dir, name, ca, { common_name, usage, names = 'DNS:localhost,IP:127.0.0.1' }) {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  const lines = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${usage}`,
  ];
  if (usage === 'serverAuth') lines.push(`subjectAltName=${names}`);
  fs.writeFileSync(ext, lines.join('\n') + '\n');
  openssl(['req', '-new', ...ec_key, '-keyout', key, '-out', csr, '-subj', `/CN=${common_name}`]);
  const serial = random_serial();
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    serial,
    '-days',
    days,
    '-out',
    cert,
    '-extfile',
    ext,
  ]);
  fs.rmSync(csr);
  fs.rmSync(ext);
  return { cert, key, serial: BigInt(serial).toString(16).toUpperCase() };
}

// Writes `leaf` (and the CA after it) as <ssl_dir>/fullchain.pem and its key as privkey.pem,
// replacing the files in one rename each, the way a renewal lands.
export function install_server_files(ssl_dir, leaf, ca) {
  const chain = fs.readFileSync(leaf.cert, 'utf8') + fs.readFileSync(ca.cert, 'utf8');
  const write = (name, content) => {
    const tmp = path.join(ssl_dir, `.${name}.tmp`);
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, path.join(ssl_dir, name));
  };
  write('fullchain.pem', chain);
  write('privkey.pem', fs.readFileSync(leaf.key, 'utf8'));
}

// Everything a TLS test file needs, in a fresh temporary directory:
//   dir, ssl_dir (fullchain.pem, privkey.pem, ca.pem: the broker's --ssl-dir),
//   ca, server, client (signed by ca), rogue_ca, rogue_client (signed by rogue_ca), cleanup().
export function make_test_pki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqtt-it-pki-'));
  const ssl_dir = path.join(dir, 'ssl');
  const keys = path.join(dir, 'keys');
  fs.mkdirSync(ssl_dir);
  fs.mkdirSync(keys);
  const ca = make_ca(keys, 'ca', 'mqtt-broker test CA');
  const server = make_leaf(keys, 'server', ca, { common_name: 'localhost', usage: 'serverAuth' });
  const client = make_leaf(keys, 'client', ca, { common_name: 'test client', usage: 'clientAuth' });
  const rogue_ca = make_ca(keys, 'rogue-ca', 'some other CA');
  const rogue_client = make_leaf(keys, 'rogue-client', rogue_ca, {
    common_name: 'rogue client',
    usage: 'clientAuth',
  });
  install_server_files(ssl_dir, server, ca);
  fs.copyFileSync(ca.cert, path.join(ssl_dir, 'ca.pem'));
  return {
    dir,
    ssl_dir,
    keys,
    ca,
    server,
    client,
    rogue_ca,
    rogue_client,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

// The serial number (upper-case hex, no leading zeros) of a PEM certificate file.
export function serial_of(cert_file) {
  const out = openssl(['x509', '-in', cert_file, '-noout', '-serial']);
  return BigInt('0x' + out.trim().replace(/^serial=/, ''))
    .toString(16)
    .toUpperCase();
}
