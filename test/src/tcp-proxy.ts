/**
 * A TCP proxy standing in for the network between two processes: forwards every connection it
 * accepts to a target, and `cut()` breaks the forwarded ones (both ends see a reset) while it
 * keeps accepting new ones, as after a brief outage.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private server: Server | undefined;
  port = 0;

  constructor(
    readonly host: string,
    readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<number> {
    const server = createServer((inbound) => {
      const outbound = connect(this.target);
      const pair: [Socket, Socket] = [inbound, outbound];
      this.pairs.add(pair);
      const end = (): void => {
        this.pairs.delete(pair);
        inbound.destroy();
        outbound.destroy();
      };
      for (const s of pair) {
        s.setNoDelay(true);
        s.on('error', end);
        s.on('close', end);
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.host, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Connections being forwarded now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Resets every forwarded connection. */
  cut(): void {
    for (const [a, b] of [...this.pairs]) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    const s = this.server;
    this.server = undefined;
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** A port nothing listens on at `host` (bound by the OS, then released). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
