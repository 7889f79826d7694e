import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ArtifactStore, isArtifactId } from './artifact-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function store(maxBytes?: number): ArtifactStore {
  const root = mkdtempSync(join(tmpdir(), 'sluice-artifacts-'));
  dirs.push(root);
  return new ArtifactStore(join(root, 'store'), maxBytes);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('ArtifactStore', () => {
  it('names a bundle by the SHA-256 of its bytes and stores the same bytes once', async () => {
    const s = store();
    const bytes = Buffer.from('export default (env) => env.fromElements([1]).print();\n');
    const a = await s.put(Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]));
    const b = await s.put(bytes);
    expect(a).toEqual({ id: sha256(bytes), bytes: bytes.length });
    expect(b).toEqual(a);
    expect(readdirSync(s.directory)).toEqual([`${a.id}.mjs`]);
    expect(readFileSync((await s.locate(a.id))!)).toEqual(bytes);
    expect(await s.list()).toEqual([a]);
  });

  it('refuses an upload over the limit and keeps nothing of it', async () => {
    const s = store(16);
    await expect(s.put(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]))).rejects.toMatchObject({ code: 'ARTIFACT_TOO_LARGE' });
    expect(readdirSync(s.directory)).toEqual([]);
  });

  it('keeps nothing of a stream that breaks off', async () => {
    const s = store();
    const broken = new Readable({
      read() {
        this.push(Buffer.from('half a bundle'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(s.put(broken)).rejects.toThrow(/client went away/);
    expect(readdirSync(s.directory)).toEqual([]);
  });

  it('finds nothing for ids that are not 64 hex digits, whatever files exist', async () => {
    const s = store();
    const { id } = await s.put(Buffer.from('x'));
    writeFileSync(join(s.directory, 'passwd'), 'not a bundle');
    for (const bad of ['../../etc/passwd', 'passwd', `${id}.mjs`, id.toUpperCase(), `${id}/`, '', `${id.slice(1)}/`]) {
      expect(isArtifactId(bad)).toBe(false);
      expect(await s.locate(bad)).toBeUndefined();
    }
    expect(await s.locate(id)).toBeDefined();
    expect(await s.locate(sha256(Buffer.from('never stored')))).toBeUndefined();
  });

  it('clears uploads a crash left half-written when it first opens the directory', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sluice-artifacts-'));
    dirs.push(root);
    writeFileSync(join(root, '.upload-left-behind'), 'partial');
    const s = new ArtifactStore(root);
    const { id } = await s.put(Buffer.from('y'));
    expect(readdirSync(root)).toEqual([`${id}.mjs`]);
  });
});
