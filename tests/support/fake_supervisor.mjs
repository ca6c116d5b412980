// A fake Home Assistant Supervisor: the few endpoints the broker calls (CONTRACT.md "Discovery"
// and "Hub users"), on 127.0.0.1. It records every request (method, path, headers, body) and can
// be slow (answers after a delay), failing (HTTP 500 everywhere) or down (not listening at all,
// then up again on the same port).
import http from 'node:http';
import crypto from 'node:crypto';
import { free_tcp_port } from './free_port.mjs';
import { with_deadline, delay } from './deadline.mjs';

export const fake_token = 'fake-supervisor-token-0123456789';

export class fake_supervisor {
  // `users`: the hub's users for /auth, {name: password}. `port`: a fixed port (else a free one).
  constructor({ users = {}, port = 0, token = fake_token } = {}) {
    this.users = { ...users };
    this.port = port;
    this.token = token;
    this.requests = [];
    this.mode = 'ok'; // 'ok' | 'failing'
    this.delay_ms = 0; // every answer waits this long ('slow')
    this.auth_status = null; // when set, /auth answers this status whatever the user
    this.services = new Map(); // registered services: name -> config
    this.discoveries = [];
    this.waiters = new Set();
    this.server = null;
    this.sockets = new Set();
  }

  static async start(options = {}) {
    const fake = new fake_supervisor(options);
    await fake.up();
    return fake;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  // The environment that points a broker at this fake.
  env(extra = {}) {
    return { SUPERVISOR_API: this.url, SUPERVISOR_TOKEN: this.token, ...extra };
  }

  async up() {
    if (this.server) return;
    if (!this.port) this.port = await free_tcp_port();
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  // Not listening any more: connections are refused until up() again.
  async down() {
    if (!this.server) return;
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }

  async close() {
    await this.down();
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try {
        json = body ? JSON.parse(body) : null;
      } catch {
        json = undefined; // not JSON
      }
      const record = {
        method: req.method,
        path: req.url,
        headers: { ...req.headers },
        body,
        json,
        at: Date.now(),
      };
      this.requests.push(record);
      for (const waiter of this.waiters) waiter();
      if (this.delay_ms) await delay(this.delay_ms);
      if (res.destroyed) return;
      const [status, answer] = this.answer(record);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  }

  // What the real Supervisor answers, as far as the broker cares.
  answer(r) {
    const error = (status, message) => [status, { result: 'error', message }];
    if (r.headers['x-supervisor-token'] !== this.token) return error(401, 'Unauthorized');
    if (this.mode === 'failing') return error(500, 'Unknown error, see supervisor logs');
    if (r.method === 'POST' && r.path === '/discovery') {
      this.discoveries.push(r.json);
      return [200, { result: 'ok', data: { uuid: crypto.randomUUID().replaceAll('-', '') } }];
    }
    const service = /^\/services\/([a-z]+)$/.exec(r.path);
    if (service && r.method === 'POST') {
      this.services.set(service[1], r.json);
      return [200, { result: 'ok', data: {} }];
    }
    if (service && r.method === 'DELETE') {
      if (!this.services.delete(service[1])) return error(400, 'Service not provided');
      return [200, { result: 'ok', data: {} }];
    }
    if (r.method === 'POST' && r.path === '/auth') {
      if (this.auth_status !== null) return error(this.auth_status, 'configured answer');
      // The real /auth compares the content type as is.
      if (r.headers['content-type'] !== 'application/json') return error(400, 'bad content type');
      const user = r.json?.username;
      if (typeof user === 'string' && this.users[user] === r.json?.password) {
        return [200, { result: 'ok', data: {} }];
      }
      return error(401, 'Username and password must be strings');
    }
    return error(404, 'not found');
  }

  // Requests matching `match`, in arrival order.
  seen(match = () => true) {
    return this.requests.filter(match);
  }

  // Waits for `count` requests matching `match`; returns them.
  wait_for(match, ms, what, count = 1) {
    const found = new Promise((resolve) => {
      const check = () => {
        const hits = this.seen(match);
        if (hits.length >= count) {
          this.waiters.delete(check);
          resolve(hits);
        }
      };
      this.waiters.add(check);
      check();
    });
    return with_deadline(found, ms, what);
  }
}

export const is_request = (method, path) => (r) => r.method === method && r.path === path;
