import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrivateFileOnce, writePrivateFile } from './private-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-private-'));
  dirs.push(d);
  return d;
}

describe('private files', () => {
  it('writePrivateFile replaces the content atomically, mode 0600, leaving no temporary file', () => {
    const d = dir();
    const f = join(d, 'secret');
    writePrivateFile(f, 'one\n', 'the secret');
    writePrivateFile(f, 'two\n', 'the secret');
    expect(readFileSync(f, 'utf8')).toBe('two\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['secret']);
  });

  it('createPrivateFileOnce keeps what the first writer put there, and says what that is', () => {
    const d = dir();
    const f = join(d, 'secret');
    expect(createPrivateFileOnce(f, 'first\n', 'the secret')).toBe('first\n');
    expect(createPrivateFileOnce(f, 'second\n', 'the secret')).toBe('first\n');
    expect(readFileSync(f, 'utf8')).toBe('first\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['secret']);
  });

  it('createPrivateFileOnce names the file when it cannot write at all', () => {
    const f = join(dir(), 'missing-dir', 'secret');
    expect(() => createPrivateFileOnce(f, 'x', 'the secret')).toThrow(/cannot write the secret to .*missing-dir/);
  });
});
