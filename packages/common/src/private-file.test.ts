import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrivateFileOnce, readSecretFile, writePrivateFile } from './private-file.js';

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

  it('readSecretFile drops trailing blanks, refuses an empty or missing file naming the flag, and warns when others may read it', () => {
    const d = dir();
    const f = join(d, 'secret');
    writeFileSync(f, 's3cret value \r\n\n', { mode: 0o600 });
    const warnings: string[] = [];
    expect(readSecretFile(f, '--mesos-secret-file', (m) => warnings.push(m))).toBe('s3cret value');
    expect(warnings).toEqual([]);
    writeFileSync(f, 'x\n');
    chmodSync(f, 0o644);
    expect(readSecretFile(f, '--mesos-secret-file', (m) => warnings.push(m))).toBe('x');
    expect(warnings).toEqual([`--mesos-secret-file ${f} is readable by other users; chmod 600 it`]);
    writeFileSync(f, ' \n');
    expect(() => readSecretFile(f, '--mesos-secret-file')).toThrow(`--mesos-secret-file ${f} is empty: put the secret in it`);
    expect(() => readSecretFile(join(d, 'missing'), '--mesos-secret-file')).toThrow(/^--mesos-secret-file .*missing cannot be read \(.*ENOENT/);
  });
});
