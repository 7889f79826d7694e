import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactCache, httpArtifactSource } from './artifact-cache.js';

const TOKEN = 't'.repeat(43);
const BUNDLE = Buffer.from('export default (env) => {};\n');
const ID = createHash('sha256').update(BUNDLE).digest('hex');
const OTHER_ID = createHash('sha256').update('something else').digest('hex');

let server: Server | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
  server = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Serves BUNDLE as ID and, for OTHER_ID, bytes that do not hash to it; fails the first `failures` requests with 503. */
async function serve(failures = 0): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end('no token');
    if (failures-- > 0) return void res.writeHead(503).end('busy');
    if (req.url === `/artifacts/${ID}`) return void res.writeHead(200).end(BUNDLE);
    if (req.url === `/artifacts/${OTHER_ID}`) return void res.writeHead(200).end(BUNDLE);
    res.writeHead(404).end('{"error":{"code":"ARTIFACT_NOT_FOUND"}}');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function cache(url: string, token = TOKEN): ArtifactCache {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-artifact-cache-'));
  dirs.push(dir);
  return new ArtifactCache({ directory: join(dir, 'bundles'), source: httpArtifactSource(url, token), attempts: 3 });
}

describe('ArtifactCache', () => {
  it('fetches a bundle once for concurrent callers and keeps it under its id', async () => {
    const { url, requests } = await serve();
    const c = cache(url);
    const paths = await Promise.all([c.resolve(ID), c.resolve(ID), c.resolve(ID)]);
    expect(new Set(paths).size).toBe(1);
    expect(readFileSync(paths[0]!)).toEqual(BUNDLE);
    expect(await c.resolve(ID)).toBe(paths[0]);
    expect(requests).toEqual([`/artifacts/${ID}`]);
  });

  it('retries a busy server', async () => {
    const { url, requests } = await serve(2);
    expect(readFileSync(await cache(url).resolve(ID))).toEqual(BUNDLE);
    expect(requests).toHaveLength(3);
  });

  it('keeps nothing whose bytes do not hash to the id asked for', async () => {
    const { url } = await serve();
    const c = cache(url);
    await expect(c.resolve(OTHER_ID)).rejects.toMatchObject({ code: 'ARTIFACT_FETCH_FAILED', message: expect.stringMatching(/has SHA-256 [0-9a-f]{64}, not the/) });
    expect(readdirSync(join(dirs[0]!, 'bundles'))).toEqual([]);
  });

  it('names the answer when the server refuses, without retrying a 4xx', async () => {
    const { url, requests } = await serve();
    await expect(cache(url, 'w'.repeat(43)).resolve(ID)).rejects.toThrow(/answered 401: no token/);
    await expect(cache(url).resolve('0'.repeat(64))).rejects.toThrow(/answered 404/);
    expect(requests).toHaveLength(2);
  });

  it('refuses ids that are not 64 hex digits before any request', async () => {
    const { url, requests } = await serve();
    await expect(cache(url).resolve('../../etc/passwd')).rejects.toMatchObject({ code: 'CONFIGURATION' });
    expect(requests).toEqual([]);
  });
});
