/**
 * An executor in a Docker image from the local registry (`dockerRegistry`), the way the Mesos
 * containerizer runs it with `--isolation=filesystem/linux,docker/runtime`: the image pulled from
 * `<dir>/<repository>:<tag>.tar` into the agent's store, a rootfs provisioned from its layers,
 * the sandbox at /mnt/mesos/sandbox inside it (MESOS_SANDBOX; MESOS_DIRECTORY stays the host
 * path), /proc and a minimal /dev mounted, the image's Env under the agent's variables, its
 * WorkingDir, and the command run in the rootfs as the task user (CommandInfo.user, else
 * FrameworkInfo.user), looked up in the image's /etc/passwd.
 *
 * The mounts are made in a private mount namespace of the container's own (`unshare --mount`),
 * so they exist for its processes only and the kernel unmounts them when the last one ends:
 * nothing is ever mounted in the agent's (the test's) namespace, and removing the rootfs after
 * the container ended cannot reach into /proc or the sandbox. Needs root, as the real isolator.
 */
import { chown, lstat, mkdir, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { accessSync, constants as fsConstants } from 'node:fs';
import type { CommandInfo } from '@sluice/mesos-proto';
import { ImageError, pullImage, type ImageConfig, type PulledImage } from './image-archive.js';
import { lookupUser, provisionRootfs, type ImageUser } from './image-rootfs.js';

export const CONTAINER_SANDBOX = '/mnt/mesos/sandbox';

/** Runs on the host inside the new mount namespace: mounts, then enters the rootfs as the user. */
const ENTER_CONTAINER = `set -eu
root=$1 sandbox=$2 uid=$3 gid=$4 cwd=$5 container_path=$6
shift 6
PATH=/usr/sbin:/usr/bin:/sbin:/bin
unshare_bin=$(command -v unshare)
mount --bind "$sandbox" "$root${CONTAINER_SANDBOX}"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t tmpfs -o nosuid,mode=0755 tmpfs "$root/dev"
for d in null zero full random urandom tty; do
  : > "$root/dev/$d"
  mount --bind "/dev/$d" "$root/dev/$d"
done
mkdir "$root/dev/shm"
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
export PATH="$container_path"
exec "$unshare_bin" --root="$root" --wd="$cwd" --setgid="$gid" --setuid="$uid" -- "$@"
`;

export interface ImageLaunchInput {
  registryDir: string;
  storeDir: string;
  /** This container's directory; the rootfs is provisioned in `<dir>/rootfs`. */
  containerDir: string;
  image: string;
  command: CommandInfo;
  /** FrameworkInfo.user, the default task user. */
  frameworkUser: string | undefined;
  hostSandbox: string;
}

export interface ImageLaunch {
  rootfs: string;
  user: ImageUser;
  config: ImageConfig;
  /** The argv run inside the container. */
  argv: string[];
  /** What to spawn on the host (the mount-namespace wrapper around `argv`). */
  file: string;
  args: string[];
}

function hostTool(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  throw new ImageError(`Failed to launch container: '${name}' (util-linux) is not installed on the agent host`);
}

/** What runs in the container (docker/runtime): a shell command, an executable, or the image's Entrypoint/Cmd. */
function containerArgv(command: CommandInfo, config: ImageConfig): string[] {
  const value = command.value ?? '';
  if (command.shell !== false) return ['/bin/sh', '-c', value];
  if (value !== '') return [value, ...(command.arguments ?? []).slice(1)];
  const args = command.arguments ?? [];
  return [...config.entrypoint, ...(args.length > 0 ? args : config.cmd)];
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const st = await lstat(path);
  await chown(path, uid, gid);
  if (!st.isDirectory()) return;
  for (const name of await readdir(path)) await chownTree(join(path, name), uid, gid);
}

/**
 * Pulls and provisions the image, resolves the user and gives the sandbox to it. Throws
 * ImageError with a Mesos-like "Failed to launch container: …" text when the container cannot start.
 */
export async function prepareImageContainer(input: ImageLaunchInput): Promise<ImageLaunch> {
  if (process.getuid?.() !== 0) {
    throw new ImageError(`Failed to launch container: the Mesos fake runs container image '${input.image}' only as root (chroot, mounts and the task user need it, as the filesystem/linux isolator does); run the test as root or leave out dockerRegistry`);
  }
  let pulled: PulledImage;
  try {
    pulled = await pullImage(input.registryDir, input.image, input.storeDir);
  } catch (err) {
    throw new ImageError(`Failed to launch container: ${(err as Error).message}`);
  }
  const rootfs = join(input.containerDir, 'rootfs');
  try {
    await provisionRootfs(pulled, rootfs);
  } catch (err) {
    throw new ImageError(`Failed to launch container: Failed to provision the rootfs of '${input.image}': ${(err as Error).message}`);
  }
  const name = input.command.user ?? input.frameworkUser ?? '';
  const user = name === '' ? { name: 'root', uid: 0, gid: 0, home: '/root' } : await lookupUser(rootfs, name);
  if (user === undefined) {
    throw new ImageError(`Failed to launch container: Failed to change user to '${name}': Failed to getgid: unknown user (the image '${input.image}' has no such user in /etc/passwd)`);
  }
  const argv = containerArgv(input.command, pulled.config);
  if (argv.length === 0 || argv[0] === '') throw new ImageError(`Failed to launch container: no command: CommandInfo has no value and the image '${input.image}' no Entrypoint or Cmd`);
  for (const dir of ['proc', 'dev', CONTAINER_SANDBOX.slice(1)]) await mkdir(join(rootfs, dir), { recursive: true });
  await chownTree(input.hostSandbox, user.uid, user.gid);
  const cwd = pulled.config.workingDir ?? CONTAINER_SANDBOX;
  const containerPath = pulled.config.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return {
    rootfs,
    user,
    config: pulled.config,
    argv,
    file: hostTool('unshare'),
    args: ['--mount', '--propagation', 'private', hostTool('sh'), '-c', ENTER_CONTAINER, 'mesos-fake-container', rootfs, input.hostSandbox, String(user.uid), String(user.gid), cwd, containerPath, ...argv],
  };
}
