/**
 * A process's local copies of job bundles, fetched from the cluster: over RPC from the
 * entrypoint's artifact endpoint (what TaskManagers and JobMasters use: the cluster secret
 * authenticates it), or over HTTP (`GET /artifacts/<sha256>` of the REST API, with its token). A
 * bundle is fetched once per process even when many subtasks ask at the same time, checked
 * against its id (the SHA-256 of its bytes) before it is kept, and written atomically as
 * `<sha256>.mjs`, so a worker thread never imports a half-written or substituted file. The file
 * name comes only from a validated id.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, SluiceError } from './errors.js';
import { randomId } from './ids.js';
import { retry } from './retry.js';
import { ensureDirectory } from './storage-directory.js';

const ID = /^[0-9a-f]{64}$/;

/** Where bundles come from: their bytes by id, or an error saying why not (retriable or not). */
export interface ArtifactSource {
  /** For messages: 'http://10.0.0.5:8081', 'sluice://10.0.0.5:6123/artifacts'. */
  readonly description: string;
  open(id: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

export interface ArtifactCacheOptions {
  /** Where bundles are kept (made, mode 0700, on first use). */
  directory: string;
  source: ArtifactSource;
  /** Refuse bundles larger than this (default 100 MiB). */
  maxBytes?: number;
  /** Per attempt; default 60 s. */
  timeoutMs?: number;
  /** Attempts for retriable failures (connection refused, 5xx); default 5. */
  attempts?: number;
}

export class ArtifactFetchError extends SluiceError {
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super('ARTIFACT_FETCH_FAILED', message, options);
    this.name = 'ArtifactFetchError';
  }
}

export class ArtifactCache {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly maxBytes: number;

  constructor(private readonly options: ArtifactCacheOptions) {
    this.maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
  }

  /** The local file of bundle `id`, fetched first when this process has none. */
  resolve(id: string): Promise<string> {
    if (!ID.test(id)) return Promise.reject(new SluiceError('CONFIGURATION', `not a bundle id (64 hex digits): ${JSON.stringify(id)}`));
    let p = this.inFlight.get(id);
    if (p === undefined) {
      p = this.fetchOnce(id);
      this.inFlight.set(id, p);
      // A failed fetch may be tried again later; a kept file is found by stat next time.
      p.then(
        () => this.inFlight.delete(id),
        () => this.inFlight.delete(id),
      );
    }
    return p;
  }

  private async fetchOnce(id: string): Promise<string> {
    const path = join(this.options.directory, `${id}.mjs`);
    if (await isFile(path)) return path;
    await ensureDirectory(this.options.directory, 'job bundle cache', 0o700);
    await retry(() => this.download(id, path), { attempts: this.options.attempts ?? 5, initialDelayMs: 200, maxDelayMs: 2_000 });
    return path;
  }

  private async download(id: string, path: string): Promise<void> {
    const from = this.options.source.description;
    const body = await this.options.source.open(id, AbortSignal.timeout(this.options.timeoutMs ?? 60_000));
    const temp = join(this.options.directory, `.fetch-${randomId(8)}`);
    const file = await open(temp, 'wx', 0o600);
    let kept = false;
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > this.maxBytes) throw new ArtifactFetchError(`job bundle ${id} from ${from} is larger than ${this.maxBytes} bytes`, { retriable: false });
        hash.update(chunk);
        await file.write(chunk);
      }
      const got = hash.digest('hex');
      if (got !== id) throw new ArtifactFetchError(`job bundle from ${from} has SHA-256 ${got}, not the ${id} asked for; it was not kept`, { retriable: false });
      await file.sync();
      await file.close();
      await rename(temp, path);
      kept = true;
    } finally {
      if (!kept) {
        await file.close().catch(() => undefined);
        await rm(temp, { force: true });
      }
    }
  }
}

/** Bundles from a REST API's `GET /artifacts/<id>`, with its bearer token. */
export function httpArtifactSource(baseUrl: string, token: string): ArtifactSource {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    description: base,
    async open(id, signal) {
      const url = `${base}/artifacts/${id}`;
      let res: Response;
      try {
        res = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal });
      } catch (err) {
        throw new ArtifactFetchError(`cannot fetch job bundle ${id} from ${url}: ${describeError(err)}`, { retriable: true, cause: err });
      }
      if (!res.ok || res.body === null) {
        const text = await res.text().catch(() => '');
        throw new ArtifactFetchError(`fetching job bundle ${id} from ${url} answered ${res.status}${text === '' ? '' : `: ${text.trim().slice(0, 300)}`}`, { retriable: res.status >= 500 });
      }
      return res.body as unknown as AsyncIterable<Uint8Array>;
    },
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
