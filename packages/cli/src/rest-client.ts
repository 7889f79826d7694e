/**
 * The CLI's client of the REST API that `sluice run` serves (see @sluice/jobmanager rest/api.ts,
 * imported for its types only, so these commands load no engine code). node:http rather than
 * fetch, for separate limits on connecting (a wrong address fails within seconds) and on waiting
 * for an answer (a savepoint may legitimately take minutes).
 */
import { request, type IncomingMessage } from 'node:http';
import { describeError, SluiceError } from '@sluice/common';
import type { JobOverview } from '@sluice/protocol';
import type { CancelResponse, JobsResponse, RestErrorResponse, SavepointResponse } from '@sluice/jobmanager';
import { ADDRESS_ENV_VAR } from './args.js';

export interface RestClientOptions {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8081`. */
  address: string;
  /** Limit on establishing the TCP connection. */
  connectTimeoutMs?: number;
  /** Limit on the answer to quick requests (list, cancel). */
  requestTimeoutMs?: number;
  /** Limit on the answer to savepoint and stop requests (the server's checkpoint timeout is 10 min by default). */
  savepointTimeoutMs?: number;
  /**
   * The bearer token for POSTs (savepoint, stop, cancel), asked for only when one is sent, so
   * `list` works without a token. `source` names where it came from, for a 401's message. When
   * it throws, the request goes out without a token and the error is raised only if the server
   * answers 401: an address where nothing listens is the more useful thing to report.
   */
  token?: () => { token: string; source: string };
}

export const DEFAULT_REST_CLIENT_OPTIONS = Object.freeze({ connectTimeoutMs: 3_000, requestTimeoutMs: 30_000, savepointTimeoutMs: 15 * 60_000 });

/** Largest answer read; the API's answers are small. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface RestClient {
  listJobs(): Promise<JobOverview[]>;
  triggerSavepoint(jobId: string, targetDirectory: string): Promise<string>;
  stopJob(jobId: string, targetDirectory: string, drain: boolean): Promise<string>;
  cancelJob(jobId: string): Promise<void>;
}

/**
 * A failed exchange. `code` is REST_UNREACHABLE (no connection), REST_CONNECTION_LOST, REST_TIMEOUT,
 * REST_BAD_RESPONSE (not the Sluice API), or the server's own error code with `status` set.
 */
export class RestClientError extends SluiceError {
  constructor(
    code: string,
    message: string,
    readonly status?: number,
    cause?: unknown,
  ) {
    super(code, message, { cause, retriable: code === 'REST_UNREACHABLE' || code === 'REST_CONNECTION_LOST' });
    this.name = 'RestClientError';
  }
}

type ResolvedOptions = Required<Omit<RestClientOptions, 'token'>> & Pick<RestClientOptions, 'token'>;

export function createRestClient(options: RestClientOptions): RestClient {
  const o: ResolvedOptions = { ...DEFAULT_REST_CLIENT_OPTIONS, ...options };
  const job = (jobId: string, action = ''): string => `jobs/${encodeURIComponent(jobId)}${action}`;
  return {
    async listJobs() {
      return (await exchange<JobsResponse>(o, 'GET', 'jobs', undefined, o.requestTimeoutMs)).jobs;
    },
    async triggerSavepoint(jobId, targetDirectory) {
      return (await exchange<SavepointResponse>(o, 'POST', job(jobId, '/savepoints'), { targetDirectory }, o.savepointTimeoutMs)).path;
    },
    async stopJob(jobId, targetDirectory, drain) {
      return (await exchange<SavepointResponse>(o, 'POST', job(jobId, '/stop'), { targetDirectory, drain }, o.savepointTimeoutMs)).path;
    },
    async cancelJob(jobId) {
      // An empty object rather than no body: every POST is JSON (the server refuses others with 415).
      await exchange<CancelResponse>(o, 'POST', job(jobId, '/cancel'), {}, o.requestTimeoutMs);
    },
  };
}

function exchange<T>(o: ResolvedOptions, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<T> {
  let auth: { token: string; source: string } | undefined;
  let noToken: unknown;
  if (method === 'POST' && o.token !== undefined) {
    try {
      auth = o.token();
    } catch (err) {
      noToken = err;
    }
  }
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    if (auth !== undefined) headers.authorization = `Bearer ${auth.token}`;
    let settled = false;
    let connected = false;
    let answered = false;
    const finish = (err: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(answerTimer);
      if (err === undefined) resolve(value as T);
      else {
        req.destroy();
        reject(err);
      }
    };
    let req: ReturnType<typeof request>;
    try {
      req = request(new URL(path, `${o.address}/`), { method, headers, agent: false });
    } catch (err) {
      reject(new RestClientError('REST_UNREACHABLE', unreachableMessage(o.address, describeError(err)), undefined, err));
      return;
    }
    const connectTimer = setTimeout(() => finish(new RestClientError('REST_UNREACHABLE', unreachableMessage(o.address, `no connection within ${seconds(o.connectTimeoutMs)}`))), o.connectTimeoutMs);
    const answerTimer = setTimeout(
      () => finish(new RestClientError('REST_TIMEOUT', `no answer from the Sluice REST API at ${o.address} within ${seconds(timeoutMs)} (${method} /${path}); the job's process may be stuck or overloaded`)),
      timeoutMs,
    );
    req.on('socket', (socket) => {
      // A peer that vanishes without closing the connection is noticed while we wait.
      socket.setKeepAlive(true, 10_000);
      const onConnect = (): void => {
        connected = true;
        clearTimeout(connectTimer);
      };
      if (!socket.connecting) onConnect();
      else socket.once('connect', onConnect);
    });
    req.on('error', (err) => {
      if (answered) return;
      const why = networkReason(err);
      finish(
        connected
          ? new RestClientError('REST_CONNECTION_LOST', `the connection to the Sluice REST API at ${o.address} broke before it answered ${method} /${path} (${why}); the job's process may have ended — check with 'sluice list'`, undefined, err)
          : new RestClientError('REST_UNREACHABLE', unreachableMessage(o.address, why), undefined, err),
      );
    });
    req.on('response', (res) => {
      answered = true;
      readAnswer(res, o.address, method, path, auth?.source).then(
        (value) => finish(undefined, value as T),
        (err: unknown) => {
          if (!(err instanceof RestClientError)) {
            finish(new RestClientError('REST_CONNECTION_LOST', `the connection to the Sluice REST API at ${o.address} broke while it answered ${method} /${path} (${networkReason(err)})`, undefined, err));
          } else finish(err.status === 401 && noToken instanceof Error ? noToken : err);
        },
      );
    });
    req.end(payload);
  });
}

async function readAnswer(res: IncomingMessage, address: string, method: string, path: string, tokenSource: string | undefined): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_RESPONSE_BYTES) throw new RestClientError('REST_BAD_RESPONSE', `the answer from ${address} to ${method} /${path} is larger than ${MAX_RESPONSE_BYTES} bytes; is this a Sluice REST API?`);
    chunks.push(chunk as Buffer);
  }
  const status = res.statusCode ?? 0;
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    json = undefined;
  }
  const error = (json as Partial<RestErrorResponse> | undefined)?.error;
  if (status >= 200 && status < 300 && json !== undefined && error === undefined) return json;
  if (error !== undefined && typeof error.message === 'string') {
    // Say which token was refused: a stale file of an earlier run is the usual cause.
    const which = status === 401 && tokenSource !== undefined ? ` (the token sent came from ${tokenSource})` : '';
    throw new RestClientError(typeof error.code === 'string' ? error.code : 'REST_ERROR', `${error.message}${which}`, status);
  }
  const type = res.headers['content-type'] ?? 'no content type';
  throw new RestClientError('REST_BAD_RESPONSE', `unexpected answer from ${address} to ${method} /${path}: HTTP ${status} (${type}); is this the address of a Sluice REST API?`, status);
}

function unreachableMessage(address: string, why: string): string {
  return (
    `cannot reach the Sluice REST API at ${address} (${why}). Is the job running? ` +
    `'sluice run' prints its REST address when it starts; point at it with --address <url> or ${ADDRESS_ENV_VAR}=<url>`
  );
}

function networkReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { hostname?: string };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host${e.hostname === undefined ? '' : ` '${e.hostname}'`}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return describeError(err);
  }
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
