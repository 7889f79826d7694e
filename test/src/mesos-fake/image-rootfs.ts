/**
 * A container's root filesystem provisioned from a pulled image, as the agent's `copy` backend
 * makes it: every layer's `layer.tar` applied in order into one directory, an upper layer's
 * whiteouts removing what lower layers put there (`.wh.<name>` one entry, `.wh..wh..opq` the
 * whole content of its directory) before the layer itself is extracted; and the users of the
 * image (its /etc/passwd), for the task user.
 *
 * Archives are test inputs made by this repository's own build; a layer's files are extracted
 * with GNU tar as root (owners kept by number), and whiteouts are resolved without leaving the
 * rootfs even through absolute symlinks.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { ImageError, type PulledImage } from './image-archive.js';

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 256 << 20 }, (err, stdout, stderr) =>
      err === null ? resolve(stdout) : reject(new ImageError(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`)),
    );
  });
}

/**
 * The host path of `path` (relative to the container's root) with every symlink on the way
 * resolved inside `root`, as the container would see it; the last component is not followed.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const todo = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift() as string;
    if (c === '..') {
      done.pop();
      continue;
    }
    if (todo.length === 0) {
      done.push(c);
      break;
    }
    const host = join(root, ...done, c);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isSymbolicLink() === true) {
      if (++links > 40) throw new ImageError(`Too many levels of symbolic links resolving '${path}' in the rootfs`);
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((t) => t !== '' && t !== '.'));
    } else done.push(c);
  }
  return join(root, ...done);
}

async function emptyDirectory(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (st?.isDirectory() !== true) return;
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

/** Applies one `layer.tar` onto the rootfs: its whiteouts first, then its files. */
export async function applyLayer(layerTar: string, rootfs: string): Promise<void> {
  const entries = (await run('tar', ['-tf', layerTar])).split('\n').filter((e) => e !== '');
  for (const entry of entries) {
    const name = posix.normalize(entry).replace(/^(\.\/)+|\/+$/g, '');
    const base = posix.basename(name);
    if (!base.startsWith('.wh.')) continue;
    const dir = posix.dirname(name);
    // Resolving the whiteout's own path follows every component of its directory.
    if (base === '.wh..wh..opq') await emptyDirectory(dirname(await resolveInRoot(rootfs, name)));
    else await rm(await resolveInRoot(rootfs, posix.join(dir, base.slice('.wh.'.length))), { recursive: true, force: true });
  }
  // As root GNU tar keeps owners and modes by default (--same-owner, --same-permissions).
  await run('tar', ['-xf', layerTar, '-C', rootfs, '--numeric-owner', '--exclude=.wh.*']);
}

/** The image's layers applied base first into `rootfs` (created; must not exist yet). */
export async function provisionRootfs(image: PulledImage, rootfs: string): Promise<void> {
  await mkdir(rootfs, { recursive: true, mode: 0o755 });
  for (const id of image.layers) await applyLayer(join(image.directory, id, 'layer.tar'), rootfs);
}

export interface ImageUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** `name` from the image's /etc/passwd, or undefined when the image has no such user. */
export async function lookupUser(rootfs: string, name: string): Promise<ImageUser | undefined> {
  const passwd = await readFile(await resolveInRoot(rootfs, 'etc/passwd'), 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || f[0] !== name) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
    return { name, uid, gid, home: f[5] ?? '/' };
  }
  return undefined;
}
