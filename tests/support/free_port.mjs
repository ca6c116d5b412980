import net from 'node:net';

// The OS picks a port nobody holds; the broker is started on it right after. Another process could
// take it in between, so the broker launcher retries with a new port when the bind fails.
export function free_tcp_port() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
