import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkStorageDirectory, ensureDirectory, ensureDirectorySync, StorageDirectoryError } from './storage-directory.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sluice-storage-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ensureDirectory', () => {
  it('creates missing parents and accepts an existing directory', async () => {
    const dir = join(root, 'a', 'b', 'c');
    await ensureDirectory(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    await ensureDirectory(dir);
    ensureDirectorySync(join(dir, 'd'));
    expect(statSync(join(dir, 'd')).isDirectory()).toBe(true);
  });

  it('refuses a path through a regular file, naming it', async () => {
    writeFileSync(join(root, 'file'), 'x');
    await expect(ensureDirectory(join(root, 'file', 'sub'), 'checkpoint directory')).rejects.toThrow(`${join(root, 'file')} exists and is not a directory`);
    expect(() => ensureDirectorySync(join(root, 'file', 'sub'))).toThrow(StorageDirectoryError);
  });

  // Node's recursive mkdir never returns here (the reason this module exists).
  it('ends with an error under /proc instead of looping', async () => {
    await expect(ensureDirectory('/proc/sluice-test/cp', 'checkpoint directory')).rejects.toThrow(/filesystem refuses to create \/proc\/sluice-test/);
    expect(() => ensureDirectorySync('/proc/sluice-test/cp')).toThrow(/procfs/);
  });
});

describe('checkStorageDirectory', () => {
  it('creates the directory, leaves no probe file behind', async () => {
    const dir = join(root, 'checkpoints');
    await checkStorageDirectory(dir, { what: 'checkpoint directory' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['/proc/sluice-test/checkpoints', 'procfs'],
    ['/proc/self/sluice', 'procfs'],
    ['/sys/kernel/sluice', 'sysfs'],
  ])('refuses %s as a pseudo-filesystem (%s)', async (path, fs) => {
    const err = await checkStorageDirectory(path, { what: 'checkpoint directory' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StorageDirectoryError);
    expect((err as StorageDirectoryError).message).toContain(`checkpoint directory ${path} cannot be used`);
    expect((err as StorageDirectoryError).message).toContain(fs);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a file where the directory should be', async () => {
    const file = join(root, 'taken');
    writeFileSync(file, 'x');
    await expect(checkStorageDirectory(file, { what: 'savepoint directory' })).rejects.toThrow(`savepoint directory ${file} cannot be used: it exists and is not a directory`);
  });

  it('gives up after its time bound with an error that says so', async () => {
    // A zero bound expires before the dozen file operations of the check can all complete.
    const dir = join(root, 'slow');
    await expect(checkStorageDirectory(dir, { what: 'checkpoint directory', timeoutMs: 0 })).rejects.toThrow(`checkpoint directory ${dir} cannot be used: it did not answer within 0 s`);
  });
});
