/**
 * A bearer-token gate in front of a loopback HTTP server, for checking that Prometheus sends the
 * cluster's token where sluice.yml says it does. Sluice's scheduler and REST API want the token
 * only when bound beyond loopback, and tests bind loopback; the gate wants it always: a request
 * without `Authorization: Bearer <token>` gets 401 (and is counted), one with it is forwarded to
 * the server unchanged except for its Host header, which names the server as the REST API's
 * rebinding check expects.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthGate {
  /** `127.0.0.1:PORT`, to put into the scrape configuration in place of the server's address. */
  readonly address: string;
  /** Requests forwarded, by path. */
  readonly forwarded: ReadonlyMap<string, number>;
  /** Requests refused for a missing or wrong token: `<path> <Authorization header or none>`. */
  readonly refused: readonly string[];
  close(): Promise<void>;
}

/** Starts a gate on 127.0.0.1 (free port) that forwards to `upstream` (`host:port`). */
export async function startAuthGate(upstream: string, token: string): Promise<AuthGate> {
  const target = new URL(`http://${upstream}`);
  const forwarded = new Map<string, number>();
  const refused: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (req.headers.authorization !== `Bearer ${token}`) {
      refused.push(`${path} ${req.headers.authorization === undefined ? '(no Authorization header)' : 'with another token'}`);
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('the auth gate wants the cluster token\n');
      req.resume();
      return;
    }
    forwarded.set(path, (forwarded.get(path) ?? 0) + 1);
    const upstreamReq = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`the auth gate could not reach ${upstream}: ${err.message}\n`);
    });
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    forwarded,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
