import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { zooKeeperOptionsOf } from './flags.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('zooKeeperOptionsOf: the digest from its file', () => {
  const base = { mode: 'zookeeper' as const, quorum: 'zk:2181' };

  it('reads user:password from a private file, without the line break', () => {
    const d = mkdtempSync(join(tmpdir(), 'sluice-digest-'));
    dirs.push(d);
    const file = join(d, 'zk.digest');
    writeFileSync(file, 'sluice:s3cret\n', { mode: 0o600 });
    expect(zooKeeperOptionsOf({ ...base, digestFile: file })).toEqual({ ...base, digest: 'sluice:s3cret' });
    expect(zooKeeperOptionsOf(base)).toEqual(base);
  });

  it('refuses a file others can read, and a missing one, naming the file', () => {
    const d = mkdtempSync(join(tmpdir(), 'sluice-digest-'));
    dirs.push(d);
    const file = join(d, 'zk.digest');
    writeFileSync(file, 'sluice:s3cret\n');
    chmodSync(file, 0o644);
    expect(() => zooKeeperOptionsOf({ ...base, digestFile: file })).toThrow(`cannot use the ZooKeeper digest file ${file}: it is readable by others (mode 644); chmod 600 ${file}`);
    expect(() => zooKeeperOptionsOf({ ...base, digestFile: join(d, 'missing') })).toThrow(/cannot use the ZooKeeper digest file .*missing: .*ENOENT/);
  });
});
