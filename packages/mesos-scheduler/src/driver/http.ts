/**
 * The scheduler's small HTTP endpoint: `GET /metrics` (its Prometheus registry), `GET /http_sd`
 * (Prometheus HTTP service discovery: every running TaskManager's metrics address with its
 * framework, agent host and task id) and `GET /healthz`. Loopback by default; with a token,
 * /metrics and /http_sd need `Authorization: Bearer <token>` (Prometheus sends it with
 * `authorization` in both scrape and http_sd configs). Paths are matched exactly; nothing from
 * the request is echoed back.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError, describeError } from '@sluice/common';
import { DEFAULT_METRICS_HOST, type ScrapableRegistry } from '@sluice/metrics';
import type { HttpSdTargetGroup } from './framework-messages.js';

export interface SchedulerHttpSource {
  httpSdTargets(): HttpSdTargetGroup[];
  health(): { state: string; subscribed: boolean; frameworkId?: string };
}

export interface SchedulerHttpServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Required on /metrics and /http_sd when set. */
  /**
   * Required on /metrics and /http_sd when set. A function is asked on every request (a token
   * known only later); while it returns undefined those paths answer 503.
   */
  token?: string | (() => string | undefined);
  registry: ScrapableRegistry;
  driver: SchedulerHttpSource;
  /**
   * Files the agents' fetchers download (the Sluice package): `/artifacts/<name>` serves the file
   * registered under that name, without the token (a fetcher cannot send one), so nothing secret
   * belongs here. Only these names are served; no path is built from the request.
   */
  artifacts?: ReadonlyMap<string, string>;
}

export interface SchedulerHttpServer {
  /** e.g. `http://127.0.0.1:9250` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const PATHS = new Set(['/metrics', '/http_sd', '/healthz']);

export async function createSchedulerHttpServer(o: SchedulerHttpServerOptions): Promise<SchedulerHttpServer> {
  const host = o.host ?? DEFAULT_METRICS_HOST;
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new ConfigurationError(`scheduler HTTP server: port must be an integer in 0..65535, got ${String(o.port)}`);
  if (typeof o.token === 'string' && !/^[A-Za-z0-9._~+/-]{16,512}=*$/.test(o.token)) {
    throw new ConfigurationError('scheduler HTTP server: token must be 16 to 512 characters of A-Z, a-z, 0-9 and -._~+/');
  }
  const server = createServer((req, res) => void handle(o, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ConfigurationError(`scheduler HTTP server cannot listen on ${host}:${o.port}: ${describeError(err)}`, { cause: err })));
    server.listen(o.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function authorized(header: string | undefined, token: string): boolean {
  const sent = /^bearer +(\S+) *$/i.exec(header?.trim() ?? '')?.[1];
  return sent !== undefined && timingSafeEqual(digest(sent), digest(token));
}

async function handle(o: SchedulerHttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  const artifact = path.startsWith('/artifacts/') ? o.artifacts?.get(path.slice('/artifacts/'.length)) : undefined;
  if (artifact !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
    serveFile(artifact, req.method === 'HEAD', res);
    return;
  }
  if (!PATHS.has(path)) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found: this endpoint serves /metrics, /http_sd and /healthz\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed: use GET\n');
    return;
  }
  const token = typeof o.token === 'function' ? o.token() : o.token;
  if (path !== '/healthz' && typeof o.token === 'function' && token === undefined) {
    send(res, 503, 'text/plain; charset=utf-8', 'not ready: the token this endpoint wants is not known yet; retry shortly\n');
    return;
  }
  if (path !== '/healthz' && token !== undefined && !authorized(req.headers.authorization, token)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="sluice-mesos-scheduler"');
    send(res, 401, 'text/plain; charset=utf-8', "unauthorized: send 'Authorization: Bearer <token>' with the scheduler's metrics token\n");
    return;
  }
  const head = req.method === 'HEAD';
  try {
    if (path === '/metrics') {
      send(res, 200, o.registry.contentType, await o.registry.metrics(), head);
    } else if (path === '/http_sd') {
      send(res, 200, 'application/json', JSON.stringify(o.driver.httpSdTargets()), head);
    } else {
      const h = o.driver.health();
      send(res, h.state === 'closed' ? 503 : 200, 'application/json', JSON.stringify(h), head);
    }
  } catch (err) {
    send(res, 500, 'text/plain; charset=utf-8', `collecting ${path.slice(1)} failed: ${describeError(err)}\n`);
  }
}

function serveFile(file: string, head: boolean, res: ServerResponse): void {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    send(res, 500, 'text/plain; charset=utf-8', `the artifact cannot be read: ${describeError(err)}\n`);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size, 'Cache-Control': 'no-cache' });
  if (head) {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head = false): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}
