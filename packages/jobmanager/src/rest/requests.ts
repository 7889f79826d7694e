/**
 * Validation of REST request bodies, at the edge: JSON text in, a typed request or a
 * RestRequestError (400) naming the field, what it must be and what arrived. Pure functions.
 */
import { isAbsolute } from 'node:path';
import { SluiceError } from '@sluice/common';
import type { SavepointRequest, StopRequest } from './api.js';

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
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`field 'targetDirectory' must be a non-empty string, got ${render(value)}`);
  if (value.includes('\0')) throw badRequest(`field 'targetDirectory' must not contain NUL characters, got ${render(value)}`);
  // A relative path would be resolved against the server's working directory, which the caller cannot see.
  if (!isAbsolute(value)) throw badRequest(`field 'targetDirectory' must be an absolute path (a relative one would depend on the server's working directory), got '${value}'`);
  // Checked on the string as sent, before anything normalises it: '/tmp/x/../../etc' must not become '/etc'.
  if (value.split(/[\\/]/).includes('..')) {
    throw new RestRequestError(400, 'SAVEPOINT_TARGET', `field 'targetDirectory' must not contain '..' segments, got '${value}'; send the directory as an absolute path without '..'`);
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
