/**
 * The Dispatcher's store of job bundles, content-addressed: a bundle is named by the SHA-256 of
 * its bytes and nothing else, so no file name ever comes from a request (the class of Flink's
 * CVE-2020-17518, where an upload's name became a path). Uploads stream into a temporary file
 * while they are hashed and counted; only a complete upload within the size limit is renamed to
 * `<sha256>.mjs`, so a refused or broken upload leaves nothing behind. Storing the same bytes
 * twice is one file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describeError, ensureDirectory, randomId, SluiceError } from '@sluice/common';

/** A bundle id: 64 lower-case hex digits (its SHA-256). */
export const ARTIFACT_ID_PATTERN = /^[0-9a-f]{64}$/;

export const DEFAULT_MAX_ARTIFACT_BYTES = 100 * 1024 * 1024;

export function isArtifactId(value: unknown): value is string {
  return typeof value === 'string' && ARTIFACT_ID_PATTERN.test(value);
}

export interface StoredArtifact {
  id: string;
  bytes: number;
}

/** An upload larger than the store takes; nothing was kept. */
export class ArtifactTooLargeError extends SluiceError {
  constructor(readonly limit: number) {
    super('ARTIFACT_TOO_LARGE', `the job bundle is larger than ${limit} bytes, the most this cluster accepts; raise the limit with --max-artifact-bytes or make the bundle smaller`);
    this.name = 'ArtifactTooLargeError';
  }
}

const TEMP_PREFIX = '.upload-';
const SUFFIX = '.mjs';

export class ArtifactStore {
  private ready: Promise<void> | undefined;

  constructor(
    readonly directory: string,
    readonly maxBytes = DEFAULT_MAX_ARTIFACT_BYTES,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new SluiceError('CONFIGURATION', `maximum artifact size must be a positive integer of bytes, got ${String(maxBytes)}`);
  }

  /** Makes the directory and removes uploads a crash left half-written. */
  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      await ensureDirectory(this.directory, 'job bundle store', 0o700);
      for (const name of await readdir(this.directory)) {
        if (name.startsWith(TEMP_PREFIX)) await rm(join(this.directory, name), { force: true });
      }
    })();
    return this.ready;
  }

  /**
   * Stores the bytes `body` yields. Refuses (ArtifactTooLargeError) as soon as more than
   * `maxBytes` arrive; a stream that errors or ends early stores nothing.
   */
  async put(body: Readable | Uint8Array): Promise<StoredArtifact> {
    await this.prepare();
    const temp = join(this.directory, `${TEMP_PREFIX}${randomId(8)}`);
    const file = await open(temp, 'wx', 0o600);
    const hash = createHash('sha256');
    let bytes = 0;
    let kept = false;
    try {
      const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = body instanceof Uint8Array ? [body] : (body as AsyncIterable<Uint8Array>);
      for await (const chunk of chunks) {
        bytes += chunk.length;
        if (bytes > this.maxBytes) throw new ArtifactTooLargeError(this.maxBytes);
        hash.update(chunk);
        await file.write(chunk);
      }
      await file.sync();
      await file.close();
      const id = hash.digest('hex');
      await rename(temp, this.pathOf(id));
      kept = true;
      return { id, bytes };
    } finally {
      if (!kept) {
        await file.close().catch(() => undefined);
        await rm(temp, { force: true });
      }
    }
  }

  /** The local file of a stored bundle, or undefined when there is none by that id. */
  async locate(id: string): Promise<string | undefined> {
    if (!isArtifactId(id)) return undefined;
    const path = this.pathOf(id);
    try {
      return (await stat(path)).isFile() ? path : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SluiceError('ARTIFACT_STORE', `cannot read the job bundle store ${this.directory}: ${describeError(err)}`, { cause: err });
    }
  }

  /** The bundle's bytes as a stream; undefined when unknown. */
  async open(id: string): Promise<{ stream: Readable; bytes: number } | undefined> {
    const path = await this.locate(id);
    if (path === undefined) return undefined;
    return { stream: createReadStream(path), bytes: (await stat(path)).size };
  }

  async list(): Promise<StoredArtifact[]> {
    await this.prepare();
    const out: StoredArtifact[] = [];
    for (const name of await readdir(this.directory)) {
      const id = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : '';
      if (isArtifactId(id)) out.push({ id, bytes: (await stat(join(this.directory, name))).size });
    }
    return out;
  }

  // Only ever called with an id that matched ARTIFACT_ID_PATTERN or came from our own hash.
  private pathOf(id: string): string {
    if (!isArtifactId(id)) throw new SluiceError('INTERNAL', `not an artifact id: ${JSON.stringify(id)}`);
    return join(this.directory, `${id}${SUFFIX}`);
  }
}
