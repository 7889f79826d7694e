/**
 * How the data exchange gets its byte streams: a DataTransport connects to a peer's data
 * address and accepts connections, handing over established duplex streams. Everything above
 * it (framing, handshake, channels, credits) is the exchange's; authentication and TLS belong
 * to the transport, so an authenticated one plugs in here without touching the exchange.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { DataAddress } from './../shuffle-service.js';

export interface DataTransport {
  /** Opens a stream to a peer's data exchange; resolves once bytes can flow (after any handshake of the transport's own). */
  connect(address: DataAddress): Promise<Duplex>;
  /** Starts accepting; each established stream goes to `onConnection`. Resolves with the address peers should dial. */
  listen(onConnection: (stream: Duplex) => void): Promise<DataAddress>;
  /** Stops accepting (streams already handed over are the exchange's to close). */
  close(): Promise<void>;
}

export interface PlainDataTransportOptions {
  /** Address to bind; default 127.0.0.1 (plain TCP carries no authentication: keep it off open networks). */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The host peers dial, when it differs from the bind address (e.g. bound to 0.0.0.0). */
  advertisedHost?: string;
}

/** Plain, unauthenticated TCP (node:net), with Nagle off: buffers carry latency-sensitive batches. */
export function createPlainDataTransport(options: PlainDataTransportOptions = {}): DataTransport {
  let server: net.Server | undefined;
  return {
    connect(address) {
      return new Promise((resolve, reject) => {
        const socket = net.connect({ host: address.host, port: address.port });
        socket.setNoDelay(true);
        socket.once('connect', () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.once('error', reject);
      });
    },
    listen(onConnection) {
      const host = options.host ?? '127.0.0.1';
      const s = net.createServer((socket) => {
        socket.setNoDelay(true);
        onConnection(socket);
      });
      server = s;
      return new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(options.port ?? 0, host, () => {
          s.off('error', reject);
          const bound = s.address() as net.AddressInfo;
          resolve({ host: options.advertisedHost ?? host, port: bound.port });
        });
      });
    },
    close() {
      const s = server;
      server = undefined;
      if (s === undefined) return Promise.resolve();
      return new Promise((resolve) => s.close(() => resolve()));
    },
  };
}
