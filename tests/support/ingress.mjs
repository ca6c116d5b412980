// The ingress port under test: our broker with its HTTP listener on a free port, and a small
// proxy that stands in for the Supervisor's ingress proxy: it serves the add-on below
// /api/hassio_ingress/<token>/, strips that prefix and says it in X-Ingress-Path, for plain
// requests and for WebSocket upgrades, as the Supervisor does.
import http from 'node:http';
import net from 'node:net';
import { start_broker, test_user } from './broker.mjs';
import { free_tcp_port } from './free_port.mjs';

// `ws`: also start the MQTT-over-WebSocket listener (broker.ws_port).
export async function start_broker_with_ingress({
  options = { logins: [test_user] },
  env,
  ws = false,
} = {}) {
  const broker = await start_broker({
    options,
    env,
    more: async () => {
      const ingress = await free_tcp_port();
      let ws_port;
      do ws_port = ws ? await free_tcp_port() : 0;
      while (ws_port === ingress);
      const ready = [new RegExp(`listening: ingress \\S+:${ingress}\\b`)];
      if (ws) ready.push(new RegExp(`listening: ws \\S+:${ws_port}\\b`));
      return {
        args: ['--ingress-port', String(ingress), ...(ws ? ['--ws-port', String(ws_port)] : [])],
        ready,
        info: { ingress, ws: ws_port },
      };
    },
  });
  broker.ingress_port = broker.more.ingress;
  broker.ws_port = broker.more.ws;
  broker.ingress_url = `http://127.0.0.1:${broker.more.ingress}`;
  return broker;
}

export class ingress_proxy {
  // `upstream_port`: the broker's ingress port on 127.0.0.1.
  constructor(upstream_port, token = 'f1e2d3c4b5a69788') {
    this.upstream_port = upstream_port;
    this.prefix = `/api/hassio_ingress/${token}`;
    this.requests = []; // every path asked for, as the browser sent it
    this.sockets = new Set();
    this.server = http.createServer((req, res) => this.forward(req, res));
    this.server.on('upgrade', (req, socket, head) => this.forward_upgrade(req, socket, head));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    this.url = `http://127.0.0.1:${this.port}${this.prefix}/`;
    return this;
  }

  // The path below the prefix, or null when the request is not for the add-on.
  inner_path(url) {
    this.requests.push(url);
    if (url === this.prefix) return '/';
    return url.startsWith(this.prefix + '/') ? url.slice(this.prefix.length) : null;
  }

  upstream_headers(req) {
    const headers = { ...req.headers, 'x-ingress-path': this.prefix };
    headers.host = `127.0.0.1:${this.upstream_port}`;
    return headers;
  }

  forward(req, res) {
    const inner = this.inner_path(req.url);
    if (inner === null) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not an ingress path\n');
      return;
    }
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: this.upstream_port,
        method: req.method,
        path: inner,
        headers: this.upstream_headers(req),
      },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  forward_upgrade(req, socket, head) {
    const inner = this.inner_path(req.url);
    if (inner === null) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect(this.upstream_port, '127.0.0.1', () => {
      const lines = [`${req.method} ${inner} HTTP/1.1`];
      for (const [name, value] of Object.entries(this.upstream_headers(req))) {
        for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
      }
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  }

  // Paths the browser asked for outside the add-on's prefix: a page that ignored
  // X-Ingress-Path would show up here.
  stray_requests() {
    return this.requests.filter((url) => url !== this.prefix && !url.startsWith(this.prefix + '/'));
  }

  async stop() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
