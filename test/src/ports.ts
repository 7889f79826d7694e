import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that nothing listens on: bound by the OS, then released. For a server a
 * test starts there next, or for a client that must find nothing there.
 */
export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
