/**
 * The two REST routes whose bodies are bytes rather than JSON: uploading a job bundle into the
 * content-addressed ArtifactStore, and serving one back to TaskManagers and JobMasters (and the
 * Mesos fetcher). Nothing here builds a path from the request: an upload's name, if a client
 * sends one, is ignored, and a download's id must be 64 hex digits before the store is asked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ARTIFACT_ID_PATTERN, ArtifactTooLargeError, type ArtifactStore } from '../artifacts/artifact-store.js';
import type { ArtifactResponse } from './api.js';
import { RestRequestError } from './requests.js';

const BUNDLE_TYPES = new Set(['application/javascript', 'text/javascript', 'application/octet-stream']);

/** Bundles are JavaScript; a form or JSON body is a mistake (or a page trying its luck): 415. */
export function checkBundleContentType(contentType: string | undefined): void {
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (BUNDLE_TYPES.has(type)) return;
  throw new RestRequestError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `a job bundle must be sent as ${[...BUNDLE_TYPES].join(', ')}, got ${contentType === undefined ? 'no Content-Type' : `'${contentType}'`}`,
  );
}

function noStore(): RestRequestError {
  return new RestRequestError(404, 'SUBMISSION_NOT_SUPPORTED', 'this server runs one embedded job and stores no bundles; start a cluster with `sluice cluster start` and submit to it');
}

function tooLarge(req: IncomingMessage, res: ServerResponse, limit: number): RestRequestError {
  // Stop reading: the connection closes once the answer is out.
  res.setHeader('Connection', 'close');
  res.once('finish', () => req.destroy());
  return new RestRequestError(413, 'ARTIFACT_TOO_LARGE', `the job bundle is larger than ${limit} bytes, the most this cluster accepts; make the bundle smaller or start the cluster with a larger --max-artifact-bytes`);
}

export async function uploadArtifact(req: IncomingMessage, res: ServerResponse, store: ArtifactStore | undefined): Promise<{ status: number; body: ArtifactResponse }> {
  checkBundleContentType(req.headers['content-type']);
  if (store === undefined) throw noStore();
  if (Number(req.headers['content-length'] ?? '0') > store.maxBytes) throw tooLarge(req, res, store.maxBytes);
  try {
    const stored = await store.put(req);
    return { status: 201, body: stored };
  } catch (err) {
    // Thrown by the store in this process, so its class is known.
    if (err instanceof ArtifactTooLargeError) throw tooLarge(req, res, store.maxBytes);
    throw err;
  }
}

/** Streams the bundle; answers nothing itself when it returns (the stream did). */
export async function downloadArtifact(res: ServerResponse, store: ArtifactStore | undefined, id: string): Promise<void> {
  if (store === undefined) throw noStore();
  if (!ARTIFACT_ID_PATTERN.test(id)) throw new RestRequestError(400, 'BAD_REQUEST', `an artifact id is 64 hex digits (the bundle's SHA-256), got ${JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id)}`);
  const found = await store.open(id);
  if (found === undefined) throw new RestRequestError(404, 'ARTIFACT_NOT_FOUND', `no bundle with id ${id} was uploaded to this cluster`);
  res.writeHead(200, {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Content-Length': found.bytes,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  await pipeline(found.stream, res);
}
