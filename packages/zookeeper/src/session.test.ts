/**
 * The session against a scripted fake server on loopback, for what a real ZooKeeper will not do
 * on demand: answer a reconnection with "expired", send an oversized or out-of-order frame. The
 * real server's behaviour is tested in test/src/zookeeper-client*.test.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@sluice/common';
import { ZooKeeperClient } from './client.js';
import { isZooKeeperError } from './errors.js';
import { FrameDecoder, JuteReader, JuteWriter } from './jute.js';
import type { ZooKeeperState } from './session.js';

interface ConnectSeen {
  sessionId: bigint;
  passwd: Buffer;
  timeoutMs: number;
}

interface RequestSeen {
  xid: number;
  op: number;
  socket: Socket;
  reader: JuteReader;
}

/** Answers ConnectRequests with `answer(connect)`; hands every other request to `onRequest`. */
class FakeZooKeeper {
  readonly connects: ConnectSeen[] = [];
  readonly sockets = new Set<Socket>();
  answer: (c: ConnectSeen) => { timeoutMs: number; sessionId: bigint } = (c) => ({ timeoutMs: c.timeoutMs, sessionId: 0x5eed_0000_0000_0001n });
  onRequest: (r: RequestSeen) => void = (r) => this.reply(r.socket, r.xid, 0);
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      const decoder = new FrameDecoder();
      let shaken = false;
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          const r = new JuteReader(frame);
          if (!shaken) {
            shaken = true;
            r.int();
            r.long();
            const timeoutMs = r.int();
            const seen = { sessionId: r.long(), passwd: r.buffer(), timeoutMs };
            this.connects.push(seen);
            const { timeoutMs: t, sessionId } = this.answer(seen);
            socket.write(new JuteWriter().int(0).int(t).long(sessionId).buffer(Buffer.alloc(16, 0xab)).bool(false).frame());
          } else {
            this.onRequest({ xid: r.int(), op: r.int(), socket, reader: r });
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  reply(socket: Socket, xid: number, err: number, body?: (w: JuteWriter) => void): void {
    const w = new JuteWriter().int(xid).long(7n).int(err);
    body?.(w);
    socket.write(w.frame());
  }

  /** Drops every connection, as a crashed server would. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

function states(client: ZooKeeperClient): { seen: ZooKeeperState[]; next(state: ZooKeeperState): Promise<void> } {
  const seen: ZooKeeperState[] = [];
  const waiters: Array<[ZooKeeperState, () => void]> = [];
  client.onStateChange((s) => {
    seen.push(s);
    for (const [want, resolve] of waiters) if (want === s) resolve();
  });
  return { seen, next: (state) => new Promise((resolve) => waiters.push([state, resolve])) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('Session against a fake server', () => {
  let fake: FakeZooKeeper;
  let client: ZooKeeperClient | undefined;

  async function connect(options: { maxFrameBytes?: number; sessionTimeoutMs?: number } = {}): Promise<ZooKeeperClient> {
    fake = new FakeZooKeeper();
    await fake.start();
    client = new ZooKeeperClient({ connectString: `127.0.0.1:${fake.port}`, sessionTimeoutMs: 20_000, logger: silentLogger, ...options });
    await client.start();
    return client;
  }

  afterEach(async () => {
    await client?.close();
    await fake?.stop();
  });

  it('is lost when a server answers the reconnection with a timeout of 0 (the session expired)', async () => {
    const c = await connect();
    expect(c.sessionId).toBe('5eed000000000001');
    const log = states(c);
    fake.answer = () => ({ timeoutMs: 0, sessionId: 0n });
    const lost = log.next('lost');
    fake.onRequest = () => undefined; // nothing answered: the request waits, then fails
    const suspended = log.next('suspended');
    fake.cut();
    await suspended;
    const waiting = rejection(c.exists('/x'));
    await lost;
    expect(log.seen).toEqual(['suspended', 'lost']);
    // The reconnection offered the session it had, with its password.
    expect(fake.connects.map((x) => x.sessionId)).toEqual([0n, 0x5eed_0000_0000_0001n]);
    expect(fake.connects[1]?.passwd).toEqual(Buffer.alloc(16, 0xab));
    expect(isZooKeeperError(await waiting, 'SESSIONEXPIRED')).toBe(true);
    expect(isZooKeeperError(await rejection(c.exists('/x')), 'SESSIONEXPIRED')).toBe(true);
  });

  it('drops a connection that sends a frame above maxFrameBytes, failing what was in flight, and reconnects', async () => {
    const c = await connect({ maxFrameBytes: 1024 });
    const log = states(c);
    fake.onRequest = (r) => fake.reply(r.socket, r.xid, 0, (w) => w.buffer(Buffer.alloc(2_000)));
    const err = await rejection(c.getData('/big'));
    expect(isZooKeeperError(err, 'CONNECTIONLOSS')).toBe(true);
    expect((err as Error).message).toMatch(/frame of \d+ bytes, above the limit of 1024/);
    fake.onRequest = (r) => fake.reply(r.socket, r.xid, -101);
    if (c.state !== 'connected') await log.next('connected');
    expect(isZooKeeperError(await rejection(c.getData('/big')), 'NONODE')).toBe(true);
    expect(log.seen).toEqual(['suspended', 'connected']);
    expect(fake.connects).toHaveLength(2);
  });

  it('treats a reply out of xid order as a protocol error', async () => {
    const c = await connect();
    const log = states(c);
    fake.onRequest = (r) => fake.reply(r.socket, r.xid + 100, 0);
    expect(isZooKeeperError(await rejection(c.delete('/x')), 'CONNECTIONLOSS')).toBe(true);
    fake.onRequest = (r) => fake.reply(r.socket, r.xid, 0);
    if (c.state !== 'connected') await log.next('connected');
    await c.delete('/x');
  });

  it('pings an idle connection every third of the session timeout', async () => {
    let pinged!: () => void;
    const pings = new Promise<void>((resolve) => (pinged = resolve));
    let count = 0;
    const c = await connect({ sessionTimeoutMs: 1_500 });
    fake.onRequest = (r) => {
      if (r.xid === -2 && r.op === 11 && ++count === 3) pinged();
      fake.reply(r.socket, r.xid, 0);
    };
    await pings;
    expect(c.state).toBe('connected');
  });
});
