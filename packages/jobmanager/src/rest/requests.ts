/**
 * Validation of REST request bodies, at the edge: JSON text in, a typed request or a
 * RestRequestError (400) naming the field, what it must be and what arrived. Pure functions.
 */
import { isAbsolute } from 'node:path';
import { SluiceError } from '@sluice/common';
import type { SavepointRequest, StopRequest, SubmitJobRequest } from './api.js';

/** A request the API refuses before doing anything: carries the HTTP status to answer with. */
export class RestRequestError extends SluiceError {
  readonly status: number;
  /** Response headers the refusal needs (Allow, WWW-Authenticate). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(code, message);
    this.name = 'RestRequestError';
    this.status = status;
    this.headers = headers;
  }
}

function badRequest(message: string): RestRequestError {
  return new RestRequestError(400, 'BAD_REQUEST', message);
}

/** The body as JSON, or undefined when it is empty. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw badRequest(`request body is not valid JSON (${why}); send a JSON object such as {"targetDirectory": "/var/savepoints"}`);
  }
}

const SAVEPOINT_EXAMPLE = '{"targetDirectory": "/var/savepoints"}';
const STOP_EXAMPLE = '{"targetDirectory": "/var/savepoints", "drain": false}';

export function savepointRequest(body: unknown): SavepointRequest {
  const obj = object(body, 'POST /jobs/:id/savepoints', SAVEPOINT_EXAMPLE);
  fields(obj, ['targetDirectory'], 'POST /jobs/:id/savepoints');
  return { targetDirectory: targetDirectory(obj.targetDirectory, SAVEPOINT_EXAMPLE) };
}

export function stopRequest(body: unknown): StopRequest {
  const obj = object(body, 'POST /jobs/:id/stop', STOP_EXAMPLE);
  fields(obj, ['targetDirectory', 'drain'], 'POST /jobs/:id/stop');
  const request: StopRequest = { targetDirectory: targetDirectory(obj.targetDirectory, STOP_EXAMPLE) };
  if (obj.drain !== undefined) {
    if (typeof obj.drain !== 'boolean') throw badRequest(`field 'drain' must be true or false, got ${render(obj.drain)}`);
    request.drain = obj.drain;
  }
  return request;
}

const SUBMIT_EXAMPLE = '{"artifactId": "<sha256 from POST /artifacts>", "jobGraph": {...}, "params": {"events": "1000"}}';
const SUBMIT_FIELDS = ['artifactId', 'jobGraph', 'source', 'params', 'parallelism', 'config', 'restoreFrom'];

/**
 * The fields' types; the graph and the config are checked in depth by the Dispatcher
 * (validateSubmission), which names every problem at once.
 */
export function submitRequest(body: unknown): SubmitJobRequest {
  const obj = object(body, 'POST /jobs', SUBMIT_EXAMPLE);
  fields(obj, SUBMIT_FIELDS, 'POST /jobs');
  if (typeof obj.artifactId !== 'string' || !/^[0-9a-f]{64}$/.test(obj.artifactId)) {
    throw badRequest(`field 'artifactId' must be the id POST /artifacts answered with (64 hex digits), got ${obj.artifactId === undefined ? 'nothing' : render(obj.artifactId)}`);
  }
  if (obj.jobGraph === undefined || typeof obj.jobGraph !== 'object' || obj.jobGraph === null || Array.isArray(obj.jobGraph)) {
    throw badRequest(`field 'jobGraph' must be the job's graph as an object (sluice submit builds it from the bundle), got ${obj.jobGraph === undefined ? 'nothing' : render(obj.jobGraph)}`);
  }
  const request: SubmitJobRequest = { artifactId: obj.artifactId, jobGraph: obj.jobGraph as SubmitJobRequest['jobGraph'] };
  if (obj.source !== undefined) {
    if (typeof obj.source !== 'string' || obj.source.length > 4096) throw badRequest(`field 'source' must be a string (the job's file name, for messages), got ${render(obj.source)}`);
    request.source = obj.source;
  }
  if (obj.params !== undefined) {
    const params = obj.params;
    if (typeof params !== 'object' || params === null || Array.isArray(params) || !Object.values(params).every((v) => typeof v === 'string')) {
      throw badRequest(`field 'params' must be an object of string values such as {"events": "1000"}, got ${render(params)}`);
    }
    request.params = params as Record<string, string>;
  }
  if (obj.parallelism !== undefined) {
    if (!Number.isInteger(obj.parallelism) || (obj.parallelism as number) < 1) throw badRequest(`field 'parallelism' must be a positive integer, got ${render(obj.parallelism)}`);
    request.parallelism = obj.parallelism as number;
  }
  if (obj.config !== undefined) {
    if (typeof obj.config !== 'object' || obj.config === null || Array.isArray(obj.config)) throw badRequest(`field 'config' must be an object of configuration overrides, got ${render(obj.config)}`);
    request.config = obj.config as SubmitJobRequest['config'] & object;
  }
  if (obj.restoreFrom !== undefined) {
    const r = object(obj.restoreFrom, "field 'restoreFrom' of POST /jobs", '{"path": "/var/savepoints/savepoint-1a2b"}');
    fields(r, ['path', 'allowNonRestoredState'], "field 'restoreFrom' of POST /jobs");
    const path = absolutePath('restoreFrom.path', r.path);
    if (r.allowNonRestoredState !== undefined && typeof r.allowNonRestoredState !== 'boolean') {
      throw badRequest(`field 'restoreFrom.allowNonRestoredState' must be true or false, got ${render(r.allowNonRestoredState)}`);
    }
    request.restoreFrom = { path, ...(r.allowNonRestoredState === undefined ? {} : { allowNonRestoredState: r.allowNonRestoredState as boolean }) };
  }
  return request;
}

/** Cancel takes no parameters: an empty body or an empty object. */
export function emptyRequest(body: unknown, what: string): void {
  if (body === undefined) return;
  const obj = object(body, what, '{}');
  fields(obj, [], what);
}

function object(body: unknown, what: string, example: string): Record<string, unknown> {
  if (body === undefined) throw badRequest(`${what} needs a JSON body such as ${example}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(`the body of ${what} must be a JSON object such as ${example}, got ${render(body)}`);
  }
  return body as Record<string, unknown>;
}

function fields(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const known = allowed.length === 0 ? 'it takes no fields' : `known fields: ${allowed.join(', ')}`;
      throw badRequest(`unknown field '${key}' in the body of ${what}; ${known}`);
    }
  }
}

function targetDirectory(value: unknown, example: string): string {
  if (value === undefined) throw badRequest(`missing field 'targetDirectory': the directory to write the savepoint into, e.g. ${example}`);
  return absolutePath('targetDirectory', value, 'SAVEPOINT_TARGET');
}

/** A path-like field: an absolute path without NUL or '..' segments. */
function absolutePath(field: string, value: unknown, traversalCode = 'BAD_REQUEST'): string {
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`field '${field}' must be a non-empty string, got ${render(value)}`);
  if (value.includes('\0')) throw badRequest(`field '${field}' must not contain NUL characters, got ${render(value)}`);
  // A relative path would be resolved against the server's working directory, which the caller cannot see.
  if (!isAbsolute(value)) throw badRequest(`field '${field}' must be an absolute path (a relative one would depend on the server's working directory), got '${value}'`);
  // Checked on the string as sent, before anything normalises it: '/tmp/x/../../etc' must not become '/etc'.
  if (value.split(/[\\/]/).includes('..')) {
    throw new RestRequestError(400, traversalCode, `field '${field}' must not contain '..' segments, got '${value}'; send the directory as an absolute path without '..'`);
  }
  return value;
}

function render(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}
