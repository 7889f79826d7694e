/**
 * The CLI's client of the REST API that a cluster or a `sluice run` serves (see
 * @sluice/jobmanager rest/api.ts, imported for its types only, so these commands load no engine
 * code). node:http rather than fetch, for separate limits on connecting (a wrong address fails
 * within seconds) and on waiting for an answer (a savepoint may legitimately take minutes), and
 * for upload progress.
 */
import { request, type IncomingMessage } from 'node:http';
import { describeError, SluiceError } from '@sluice/common';
import type { JobOverview, TaskManagerInfo } from '@sluice/protocol';
import type {
  ArtifactResponse,
  CancelResponse,
  CheckpointsResponse,
  ClusterConfigResponse,
  ClusterOverviewResponse,
  JobDetailsResponse,
  JobsResponse,
  RestErrorResponse,
  SavepointResponse,
  SubmitJobRequest,
  SubmitJobResponse,
  TaskManagersResponse,
} from '@sluice/jobmanager';
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
  /** Limit on a bundle upload, from the first byte sent to the answer. */
  uploadTimeoutMs?: number;
  /**
   * The bearer token, asked for on every request. `source` names where it came from, for a
   * 401's message. When it throws, the request goes out without a token and the error is raised
   * only if the server answers 401: a loopback server answers GETs without one, and an address
   * where nothing listens is the more useful thing to report.
   */
  token?: () => { token: string; source: string };
}

export const DEFAULT_REST_CLIENT_OPTIONS = Object.freeze({ connectTimeoutMs: 3_000, requestTimeoutMs: 30_000, savepointTimeoutMs: 15 * 60_000, uploadTimeoutMs: 10 * 60_000 });

/** Bytes of a bundle sent so far, of the total. */
export type UploadProgress = (sent: number, total: number) => void;

/** Largest answer read; the API's answers are small. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface RestClient {
  /** The address it talks to, for messages. */
  readonly address: string;
  listJobs(): Promise<JobOverview[]>;
  jobDetails(jobId: string): Promise<JobDetailsResponse>;
  checkpoints(jobId: string): Promise<CheckpointsResponse>;
  triggerSavepoint(jobId: string, targetDirectory: string): Promise<string>;
  stopJob(jobId: string, targetDirectory: string, drain: boolean): Promise<string>;
  cancelJob(jobId: string): Promise<void>;
  overview(): Promise<ClusterOverviewResponse>;
  /** GET /config: the cluster's job defaults, unchecked (see cluster-defaults.ts). */
  config(): Promise<ClusterConfigResponse>;
  taskManagers(): Promise<TaskManagerInfo[]>;
  /** Uploads a job bundle; `onProgress` hears of every chunk the connection took; `signal` abandons it. */
  uploadArtifact(bundle: Uint8Array, options?: { onProgress?: UploadProgress; signal?: AbortSignal }): Promise<ArtifactResponse>;
  submitJob(request: SubmitJobRequest): Promise<string>;
}

/** Bundles go out in chunks of this size, so progress can be reported. */
const UPLOAD_CHUNK_BYTES = 256 * 1024;

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
  const get = <T>(path: string): Promise<T> => exchange<T>(o, { method: 'GET', path, timeoutMs: o.requestTimeoutMs });
  const post = <T>(path: string, body: unknown, timeoutMs = o.requestTimeoutMs): Promise<T> => exchange<T>(o, { method: 'POST', path, body: json(body), timeoutMs });
  return {
    address: o.address,
    async listJobs() {
      return (await get<JobsResponse>('jobs')).jobs;
    },
    jobDetails: (jobId) => get<JobDetailsResponse>(job(jobId)),
    checkpoints: (jobId) => get<CheckpointsResponse>(job(jobId, '/checkpoints')),
    async triggerSavepoint(jobId, targetDirectory) {
      return (await post<SavepointResponse>(job(jobId, '/savepoints'), { targetDirectory }, o.savepointTimeoutMs)).path;
    },
    async stopJob(jobId, targetDirectory, drain) {
      return (await post<SavepointResponse>(job(jobId, '/stop'), { targetDirectory, drain }, o.savepointTimeoutMs)).path;
    },
    async cancelJob(jobId) {
      // An empty object rather than no body: every POST is JSON (the server refuses others with 415).
      await post<CancelResponse>(job(jobId, '/cancel'), {});
    },
    overview: () => get<ClusterOverviewResponse>('overview'),
    config: () => get<ClusterConfigResponse>('config'),
    async taskManagers() {
      return (await get<TaskManagersResponse>('taskmanagers')).taskManagers;
    },
    uploadArtifact(bundle, { onProgress, signal } = {}) {
      const body = { type: 'application/javascript', bytes: bundle, ...(onProgress === undefined ? {} : { onProgress }) };
      return exchange<ArtifactResponse>(o, { method: 'POST', path: 'artifacts', body, timeoutMs: o.uploadTimeoutMs, ...(signal === undefined ? {} : { signal }) });
    },
    async submitJob(request) {
      return (await post<SubmitJobResponse>('jobs', request)).jobId;
    },
  };
}

interface Body {
  type: string;
  bytes: Uint8Array;
  onProgress?: UploadProgress;
}

interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  body?: Body;
  timeoutMs: number;
  /** Abandons the request: it rejects with code ABORTED. */
  signal?: AbortSignal;
}

function json(value: unknown): Body {
  return { type: 'application/json', bytes: Buffer.from(JSON.stringify(value)) };
}

function exchange<T>(o: ResolvedOptions, { method, path, body, timeoutMs, signal }: Exchange): Promise<T> {
  let auth: { token: string; source: string } | undefined;
  let noToken: unknown;
  if (o.token !== undefined) {
    try {
      auth = o.token();
    } catch (err) {
      noToken = err;
    }
  }
  return new Promise<T>((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (body !== undefined) Object.assign(headers, { 'content-type': body.type, 'content-length': body.bytes.length });
    if (auth !== undefined) headers.authorization = `Bearer ${auth.token}`;
    let settled = false;
    let connected = false;
    let answered = false;
    const finish = (err: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(answerTimer);
      signal?.removeEventListener('abort', onAbort);
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
    const onAbort = (): void => finish(new RestClientError('ABORTED', `${method} /${path} to ${o.address} was abandoned`));
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
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
          ? new RestClientError('REST_CONNECTION_LOST', `the connection to the Sluice REST API at ${o.address} broke before it answered ${method} /${path} (${why}); the cluster or the job's process may have ended — check with 'sluice list'`, undefined, err)
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
    if (body === undefined) req.end();
    else sendBody(req, body);
  });
}

/** Writes the body in chunks, each after the connection took the last, reporting progress. */
function sendBody(req: ReturnType<typeof request>, { bytes, onProgress }: Body): void {
  if (onProgress === undefined) {
    req.end(bytes);
    return;
  }
  let offset = 0;
  const next = (): void => {
    if (req.destroyed) return;
    if (offset >= bytes.length) {
      req.end();
      return;
    }
    const chunk = bytes.subarray(offset, offset + UPLOAD_CHUNK_BYTES);
    offset += chunk.length;
    const sent = offset;
    req.write(chunk, (err) => {
      if (err !== undefined && err !== null) return;
      onProgress(sent, bytes.length);
      next();
    });
  };
  onProgress(0, bytes.length);
  next();
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
    `cannot reach the Sluice REST API at ${address} (${why}). Is the cluster running? Start one with 'sluice cluster start', ` +
    `or point at another with --address <url> or ${ADDRESS_ENV_VAR}=<url> ('sluice run' prints its REST address when it starts)`
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
