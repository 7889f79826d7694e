/**
 * The Mesos fake's reader of local-registry image archives (test/src/mesos-fake/image-archive.ts,
 * image-rootfs.ts) on tiny archives made here: references and file names as the agent forms
 * them, the `repositories` lookup (bare repository, then registry/repository), the parent chain,
 * the top layer's config, layers applied in order with whiteouts, and Mesos's failure texts.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageArchivePath, parseImageReference, pullImage } from './mesos-fake/image-archive.js';
import { lookupUser, provisionRootfs } from './mesos-fake/image-rootfs.js';
import { writeImageArchive } from './image-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-image-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nworker:x:4242:4343:Worker:/home/worker:/bin/sh\n';

function everyPath(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((e) => {
    const p = prefix === '' ? e.name : `${prefix}/${e.name}`;
    return e.isDirectory() ? [p, ...everyPath(root, p)] : [p];
  });
}

describe('image references and archive paths', () => {
  it.each([
    ['sluice/agent:0.1.0', { repository: 'sluice/agent', tag: '0.1.0' }, 'sluice/agent:0.1.0.tar'],
    ['busybox', { repository: 'busybox' }, 'busybox.tar'],
    ['busybox:latest', { repository: 'busybox', tag: 'latest' }, 'busybox:latest.tar'],
    ['localhost:5000/team/app:2', { registry: 'localhost:5000', repository: 'team/app', tag: '2' }, 'localhost:5000/team/app:2.tar'],
    ['registry.example.com/app@sha256:ab12', { registry: 'registry.example.com', repository: 'app', digest: 'sha256:ab12' }, 'registry.example.com/app@sha256:ab12.tar'],
    ['docker.io/library/busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' }, 'docker.io/library/busybox:1.36.tar'],
  ])('%s', (name, reference, file) => {
    expect(parseImageReference(name)).toEqual(reference);
    expect(imageArchivePath('/registry', parseImageReference(name))).toBe(`/registry/${file}`);
  });

  it('rejects what is no reference', () => {
    for (const bad of ['', 'a b', 'app:', 'app@']) expect(() => parseImageReference(bad)).toThrow(`Failed to parse image reference '${bad}'`);
  });
});

describe('pulling from a local registry directory', () => {
  const registry = join(dir, 'registry');
  const store = join(dir, 'store');
  // A host directory an absolute symlink in the image names: whiteouts must not reach it.
  const outside = join(dir, 'outside');
  beforeAll(() => {
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'victim'), 'host file');
    writeImageArchive(registry, {
      repository: 'team/app',
      tag: '1',
      layers: [
        {
          'etc/passwd': PASSWD,
          'a/keep': 'kept',
          'a/gone': 'removed by a whiteout',
          'a/gone-dir/x': 'removed with its directory',
          'opq/old': 'hidden by the opaque whiteout',
          'opq/sub/old': 'also hidden',
          'usr/lib/lib.txt': 'lib',
          lib: { link: 'usr/lib' },
          escape: { link: outside },
          'bin/tool': 'v1',
        },
        {
          'a/.wh.gone': '',
          'a/.wh.gone-dir': '',
          'opq/.wh..wh..opq': '',
          'opq/new': 'from layer 2',
          'lib/.wh.lib.txt': '',
          'escape/.wh.victim': '',
          'bin/tool': 'v2',
        },
        { 'bin/tool': 'v3', 'a/added': 'top' },
      ],
      config: { Entrypoint: ['/usr/bin/tini', '--'], Cmd: ['app', '--help'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'MODE=a=b'], WorkingDir: '/home/worker', User: 'worker' },
    });
  });

  it('finds the top layer in repositories, walks the parent chain, and reads the top layer config', async () => {
    const image = await pullImage(registry, 'team/app:1', store);
    expect(image.layers).toHaveLength(3);
    const parents = image.layers.map((id) => (JSON.parse(readFileSync(join(image.directory, id, 'json'), 'utf8')) as { parent?: string }).parent);
    expect(parents).toEqual([undefined, image.layers[0], image.layers[1]]);
    expect(image.config).toEqual({
      entrypoint: ['/usr/bin/tini', '--'],
      cmd: ['app', '--help'],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', MODE: 'a=b' },
      workingDir: '/home/worker',
      user: 'worker',
    });
    // A second pull uses the store.
    expect((await pullImage(registry, 'team/app:1', store)).directory).toBe(image.directory);
  });

  it('applies the layers in order: later files win, whiteouts and opaque directories hide lower entries, never outside the rootfs', async () => {
    const image = await pullImage(registry, 'team/app:1', store);
    const rootfs = join(dir, 'rootfs-1');
    await provisionRootfs(image, rootfs);
    const paths = everyPath(rootfs);
    expect(paths.filter((p) => p.split('/').some((c) => c.startsWith('.wh.')))).toEqual([]);
    expect(readFileSync(join(rootfs, 'bin/tool'), 'utf8')).toBe('v3');
    expect(readFileSync(join(rootfs, 'a/keep'), 'utf8')).toBe('kept');
    expect(readFileSync(join(rootfs, 'a/added'), 'utf8')).toBe('top');
    expect(existsSync(join(rootfs, 'a/gone'))).toBe(false);
    expect(existsSync(join(rootfs, 'a/gone-dir'))).toBe(false);
    expect(readdirSync(join(rootfs, 'opq'))).toEqual(['new']);
    // A whiteout below a relative symlink resolves through it inside the rootfs.
    expect(existsSync(join(rootfs, 'usr/lib/lib.txt'))).toBe(false);
    // One below an absolute symlink resolves inside the rootfs too: the host file stays.
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('host file');
    expect(await lookupUser(rootfs, 'worker')).toEqual({ name: 'worker', uid: 4242, gid: 4343, home: '/home/worker' });
    expect(await lookupUser(rootfs, 'nobody-here')).toBeUndefined();
  });

  it('fails as the agent does: no archive, a repository key the task does not name, an unknown tag', async () => {
    await expect(pullImage(registry, 'team/missing:1', store)).rejects.toThrow(
      `Failed to find archive for image 'team/missing:1' at '${join(registry, 'team/missing:1.tar')}': the file does not exist`,
    );
    // skopeo's own key, as written before build.sh rewrites it.
    writeImageArchive(registry, { repository: 'team/raw', tag: '1', repositoriesKey: 'docker.io/team/raw', layers: [{ f: 'x' }] });
    await expect(pullImage(registry, 'team/raw:1', store)).rejects.toThrow("Repository 'team/raw' does not exist in 'repositories'");
    writeFileSync(join(registry, 'team/app:2.tar'), readFileSync(join(registry, 'team/app:1.tar')));
    await expect(pullImage(registry, 'team/app:2', store)).rejects.toThrow("Layer id '2' is not found");
  });

  it('tries registry/repository when the reference names a registry and the bare repository is not there', async () => {
    writeImageArchive(registry, { repository: 'registry.example.com/app', repositoriesKey: 'registry.example.com/app', tag: '3', layers: [{ f: 'y' }] });
    const image = await pullImage(registry, 'registry.example.com/app:3', store);
    expect(image.layers).toHaveLength(1);
  });
});
