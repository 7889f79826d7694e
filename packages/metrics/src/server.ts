/**
 * A minimal HTTP endpoint serving one registry at GET /metrics in the Prometheus text format.
 * It knows nothing about TaskManagers: anything with a registry (TaskManager, Mesos scheduler,
 * tests) can serve it. Binds loopback unless told otherwise; port 0 picks a free port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, describeError } from '@sluice/common';

/** The part of a prom-client Registry the server needs. */
export interface ScrapableRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one (see `MetricsServer.port`). */
  port: number;
  /** Interface to bind. Loopback by default so metrics are not exposed by accident. */
  host?: string;
  registry: ScrapableRegistry;
}

export interface MetricsServer {
  /** e.g. `http://127.0.0.1:9249/metrics` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open (keep-alive) connections. */
  close(): Promise<void>;
}

export const DEFAULT_METRICS_HOST = '127.0.0.1';

/**
 * Serves several registries as one target, their series one after another — e.g. a
 * TaskManager's registry with the job registry, each keeping its own default labels (prom-client's
 * `Registry.merge` would drop them). Metric names must not repeat across the registries.
 */
export function combineRegistries(...registries: ScrapableRegistry[]): ScrapableRegistry {
  const first = registries[0];
  if (first === undefined) throw new ConfigurationError('combineRegistries: pass at least one registry');
  for (const r of registries) {
    if (r.contentType.startsWith('application/openmetrics-text')) {
      throw new ConfigurationError(`combineRegistries: OpenMetrics output ends with '# EOF' and cannot be concatenated; use registries in the Prometheus text format, got ${r.contentType}`);
    }
    if (r.contentType !== first.contentType) {
      throw new ConfigurationError(`combineRegistries: all registries must have one content type, got ${first.contentType} and ${r.contentType}`);
    }
  }
  return {
    contentType: first.contentType,
    async metrics() {
      const texts = await Promise.all(registries.map((r) => r.metrics()));
      return texts.map((t) => (t === '' || t.endsWith('\n') ? t : `${t}\n`)).join('');
    },
  };
}

export async function createMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  const { port, registry } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigurationError(`metrics server: port must be an integer in 0..65535 (0 = any free port), got ${String(port)}`);
  }

  const server = createServer((req, res) => {
    void handle(registry, req, res);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const hint =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use; choose another port or 0 for any free port`
          : err.code === 'EADDRNOTAVAIL'
            ? `address ${host} is not an interface of this machine; use 127.0.0.1 or 0.0.0.0`
            : describeError(err);
      reject(new ConfigurationError(`metrics server cannot listen: ${hint}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });

  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${actualPort}/metrics`,
    port: actualPort,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(registry: ScrapableRegistry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== '/metrics') {
    send(res, 404, 'text/plain; charset=utf-8', 'not found: metrics are served at /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET /metrics\n');
    return;
  }
  try {
    const body = await registry.metrics();
    send(res, 200, registry.contentType, req.method === 'HEAD' ? '' : body, Buffer.byteLength(body));
  } catch (err) {
    send(res, 500, 'text/plain; charset=utf-8', `collecting metrics failed: ${describeError(err)}\n`);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, length = Buffer.byteLength(body)): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': length });
  res.end(body);
}
