/**
 * The REST API of a Dispatcher on node:http: checks who is asking (security.ts), reads
 * size-limited JSON bodies, routes (routes.ts), runs the handler (handlers.ts) and writes JSON.
 * Binds loopback unless told otherwise. Closing stops accepting connections, lets requests in
 * flight finish for a grace period (a stop-with-savepoint answers just as its job ends and the
 * cluster shuts down), then drops every connection, keep-alive ones included.
 *
 * Every request must name the server in its Host header and must not come from another site's
 * page (Origin, Sec-Fetch-Site): 403 otherwise. POSTs, which change jobs or write files, also need
 * the bearer token (401) and a JSON content type (415; a bundle upload: JavaScript). On loopback,
 * GETs need no token: without CORS headers, which this server never sends, a page of another
 * site cannot read their answers. Bound to any other address, GETs need it too (everyone on the
 * network could read them), except /healthz; bundles (user code) need it always.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ConfigurationError, describeError, SluiceError, silentLogger, type Logger } from '@sluice/common';
import type { DispatcherGateway, ResourceManagerGateway } from '@sluice/protocol';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { JobDefaults } from './api.js';
import { downloadArtifact, uploadArtifact } from './artifact-routes.js';
import { errorResponse, handleRoute, type HandlerContext, type RestResponse } from './handlers.js';
import { resolveJobDefaults } from './job-defaults.js';
import { openApiDocument } from './openapi.js';
import { parseJsonBody, RestRequestError } from './requests.js';
import { matchRoute, TOKEN_ALWAYS } from './routes.js';
import { confineSavepointTarget } from './savepoint-roots.js';
import { allowedHostValues, checkBearerToken, checkHost, checkJsonContentType, checkOrigin, isLoopback, isWildcard, parseAllowedHost, validateToken } from './security.js';

/** Who may use the API and where it may write; see the file comment. */
export interface RestSecurityOptions {
  /** Bearer token POSTs must carry; default: 32 random bytes, base64url (see `RestServer.token`). */
  token?: string;
  /** Where clients find the token, for the 401 message; given the port the server listens on. */
  tokenHint?: (port: number) => string;
  /** Extra Host names the API answers to besides its bound address: `name` or `name:port`. */
  allowedHosts?: readonly string[];
  /** When given, savepoint targets must lie inside one of these absolute directories (symlinks resolved). */
  savepointRoots?: readonly string[];
}

export interface RestServerOptions extends RestSecurityOptions {
  dispatcher: DispatcherGateway;
  /** Serves the cluster overview and the TaskManager list. */
  resourceManager?: ResourceManagerGateway;
  /** Where uploaded bundles go; without one the server takes no uploads or submissions. */
  artifacts?: ArtifactStore;
  /**
   * Served at GET /metrics (Prometheus text), under the same token rule as other reads; without
   * one, /metrics answers 404.
   */
  metrics?: { readonly contentType: string; metrics(): Promise<string> };
  /** Served at GET /config for `sluice submit` to apply under its own flags; default none (`{}`). */
  jobDefaults?: JobDefaults;
  /** Whether GETs need the bearer token; default: when bound to an address other than loopback. */
  tokenForReads?: boolean;
  /** TCP port; 0 picks a free one (see `RestServer.port`). */
  port: number;
  /** Interface to bind; loopback by default so the API is not exposed by accident. */
  host?: string;
  /** Larger request bodies are refused with 413 (bundles have the store's own limit). */
  maxBodyBytes?: number;
  /** Larger job submissions (the graph is in the body) are refused with 413. */
  maxSubmitBytes?: number;
  /** How long `close()` lets requests in flight finish before dropping their connections. */
  closeGraceMs?: number;
  logger?: Logger;
}

export const DEFAULT_REST_SERVER_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  maxBodyBytes: 64 * 1024,
  maxSubmitBytes: 4 * 1024 * 1024,
  closeGraceMs: 10_000,
  allowedHosts: [] as readonly string[],
  savepointRoots: [] as readonly string[],
});

type Optional = 'tokenHint' | 'resourceManager' | 'artifacts' | 'metrics';
type ResolvedRestServerOptions = Required<Omit<RestServerOptions, Optional>> & Pick<RestServerOptions, Optional>;

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export function resolveRestServerOptions(options: RestServerOptions): ResolvedRestServerOptions {
  const host = options.host ?? DEFAULT_REST_SERVER_OPTIONS.host;
  const o = {
    ...DEFAULT_REST_SERVER_OPTIONS,
    logger: silentLogger,
    tokenForReads: !isLoopback(host),
    ...options,
    token: options.token ?? randomBytes(32).toString('base64url'),
  };
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new ConfigurationError(`REST API: port must be an integer in 0..65535 (0 = any free port), got ${String(o.port)}`);
  }
  for (const k of ['maxBodyBytes', 'maxSubmitBytes'] as const) {
    if (!Number.isInteger(o[k]) || o[k] <= 0) throw new ConfigurationError(`REST API: ${k} must be a positive integer, got ${String(o[k])}`);
  }
  if (!(o.closeGraceMs >= 0)) throw new ConfigurationError(`REST API: closeGraceMs must be ≥ 0, got ${String(o.closeGraceMs)}`);
  validateToken(o.token);
  for (const h of o.allowedHosts) parseAllowedHost(h);
  for (const root of o.savepointRoots) {
    if (!isAbsolute(root)) throw new ConfigurationError(`REST API: savepoint root '${root}' must be an absolute path`);
  }
  return { ...o, savepointRoots: o.savepointRoots.map((r) => resolve(r)), jobDefaults: resolveJobDefaults(o.jobDefaults) };
}

export interface RestServer {
  /** e.g. `http://127.0.0.1:8081` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** The bearer token POSTs must carry. */
  readonly token: string;
  /** Stops serving: see the file comment. Idempotent. */
  close(): Promise<void>;
}

/** The port is taken: callers turn this into advice about their own flag or option. */
export class RestPortInUseError extends SluiceError {
  constructor(readonly host: string, readonly port: number, cause: unknown) {
    super('REST_PORT_IN_USE', `the REST API cannot listen on ${host}:${port}: the port is already in use; choose another port, or 0 for any free port`, { cause });
    this.name = 'RestPortInUseError';
  }
}

export async function createRestServer(options: RestServerOptions): Promise<RestServer> {
  const o = resolveRestServerOptions(options);
  const logger = o.logger.child('rest');
  // Filled in once the port is known (it may be 0 until then).
  let allowedHosts: ReadonlySet<string> = new Set();
  let tokenHint = '';
  const refusalsLogged = new Set<string>();
  const store = o.artifacts;
  const openApi = openApiDocument(VERSION, o.tokenForReads);
  const context: HandlerContext = {
    dispatcher: o.dispatcher,
    savepointTarget: (dir) => (o.savepointRoots.length === 0 ? Promise.resolve(dir) : confineSavepointTarget(dir, o.savepointRoots)),
    ...(o.resourceManager === undefined ? {} : { resourceManager: o.resourceManager }),
    ...(store === undefined ? {} : { locateArtifact: (id: string) => store.locate(id) }),
    openApi: () => openApi,
    jobDefaults: o.jobDefaults,
  };
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  // Host is checked by serve() with a JSON answer, instead of node's bare 400.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    inFlight++;
    void serve(req, res).finally(() => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let response: RestResponse;
    try {
      checkHost(req.headers.host, allowedHosts);
      checkOrigin(req.headers.origin, header(req, 'sec-fetch-site'), allowedHosts);
      const match = matchRoute(req.method ?? 'GET', req.url ?? '/');
      if (match.type === 'notFound') throw new RestRequestError(404, 'NOT_FOUND', match.message);
      if (match.type === 'methodNotAllowed') throw new RestRequestError(405, 'METHOD_NOT_ALLOWED', match.message, { Allow: match.allow.join(', ') });
      const route = match.route;
      const mutating = req.method !== 'GET';
      if (route.name !== 'healthz' && (mutating || o.tokenForReads || TOKEN_ALWAYS.has(route.name))) checkBearerToken(req.headers.authorization, o.token, tokenHint);
      if (route.name === 'uploadArtifact') {
        response = await uploadArtifact(req, res, store);
      } else if (route.name === 'downloadArtifact') {
        await downloadArtifact(res, store, route.artifactId);
        return;
      } else if (route.name === 'metrics') {
        if (o.metrics === undefined) throw new RestRequestError(404, 'NOT_FOUND', 'this server serves no metrics');
        const text = await o.metrics.metrics();
        if (closing) res.setHeader('Connection', 'close');
        res.writeHead(200, { 'Content-Type': o.metrics.contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
        res.end(text);
        return;
      } else {
        if (mutating) checkJsonContentType(req.headers['content-type']);
        const text = await readBody(req, res, route.name === 'submitJob' ? o.maxSubmitBytes : o.maxBodyBytes);
        response = await handleRoute(route, mutating ? parseJsonBody(text) : undefined, context);
      }
    } catch (err) {
      response = errorResponse(err);
      if (response.status >= 500) logger.warn(`${req.method ?? '?'} ${req.url ?? '?'} failed`, { error: describeError(err) });
      if (response.status === 401 || response.status === 403) logRefusal(req, response);
    }
    send(res, response, closing);
  }

  // Once per kind: a page hammering the API must not flood the terminal of the run.
  function logRefusal(req: IncomingMessage, response: RestResponse): void {
    const code = 'error' in response.body ? response.body.error.code : String(response.status);
    if (refusalsLogged.has(code)) return;
    refusalsLogged.add(code);
    const from = req.headers.origin === undefined ? '' : ` (Origin ${req.headers.origin})`;
    logger.warn(`refused ${req.method ?? '?'} ${req.url ?? '?'}${from} with ${response.status}; further refusals of this kind are not logged`, { code });
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new RestPortInUseError(o.host, o.port, err));
      else if (err.code === 'EADDRNOTAVAIL') reject(new ConfigurationError(`the REST API cannot listen on ${o.host}: not an address of this machine; use 127.0.0.1 or 0.0.0.0`, { cause: err }));
      else reject(new SluiceError('REST_LISTEN_FAILED', `the REST API cannot listen on ${o.host}:${o.port}: ${describeError(err)}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(o.port, o.host);
  });
  server.on('error', (err) => logger.warn('REST server error', { error: describeError(err) }));

  const port = (server.address() as AddressInfo).port;
  const urlHost = o.host.includes(':') ? `[${o.host}]` : o.host;
  allowedHosts = allowedHostValues(o.host, port, o.allowedHosts.map(parseAllowedHost), isWildcard(o.host) ? interfaceAddresses() : []);
  tokenHint = o.tokenHint?.(port) ?? 'the token is the one this REST server was started with';
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    token: o.token,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            drained = resolve;
            timer = setTimeout(resolve, o.closeGraceMs);
          });
          clearTimeout(timer);
        }
        server.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}

/** The request body as text; refuses (413) more than `limit` bytes, announced or actually sent. */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<string> {
  const tooLarge = (): RestRequestError => {
    // Stop reading: the connection closes once the answer is out.
    res.setHeader('Connection', 'close');
    res.once('finish', () => req.destroy());
    return new RestRequestError(413, 'BODY_TOO_LARGE', `request body larger than ${limit} bytes; the API's bodies are small JSON objects`);
  };
  const announced = Number(req.headers['content-length'] ?? '0');
  if (announced > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Addresses of this machine, for a server bound to all of them. */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.replace(/%.*$/, '')));
}

function send(res: ServerResponse, response: RestResponse, closing: boolean): void {
  // The client went away (e.g. gave up on a long savepoint): nothing to answer.
  if (res.writableEnded || res.destroyed) return;
  const text = `${JSON.stringify(response.body)}\n`;
  if (closing) res.setHeader('Connection', 'close');
  res.writeHead(response.status, {
    ...response.headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
