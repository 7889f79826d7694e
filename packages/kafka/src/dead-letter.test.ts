import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveKafkaConnection } from './connection.js';
import { DeadLetterWriter } from './dead-letter.js';

/** A TCP server on 127.0.0.1 that accepts connections and never answers: a broker that hangs. */
let server: Server;
const sockets = new Set<Socket>();
let address = '';

beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  address = `127.0.0.1:${a.port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('DeadLetterWriter', () => {
  it('close() returns after its timeout while a send hangs on a broker that never answers', async () => {
    // Timeouts far past the test's: only close()'s own bound can end it in time.
    const connection = resolveKafkaConnection({ bootstrapServers: address, requestTimeoutMs: 3_600_000, connectionTimeoutMs: 3_600_000 });
    const w = new DeadLetterWriter(connection, 'dlq', 'test', () => undefined, 300);
    w.add({ key: 'k', value: 'bad' });
    w.flush();
    expect(w.isIdle()).toBe(false);
    const t0 = Date.now();
    await w.close();
    // It waited for the send about as long as it was told to (300 ms), then gave up.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(w.sent).toBe(0);
  });
});
