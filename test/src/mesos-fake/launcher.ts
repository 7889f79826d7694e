/**
 * Starting a custom executor as a real process, as the Mesos agent's fetcher and containerizer
 * do on a host without containers: a sandbox directory, the CommandInfo URIs fetched into it
 * (http/https downloads; local paths and file:// copied; tar archives extracted when `extract`;
 * `executable`; `output_file`), the command run with shell semantics, the environment of a real
 * agent (MESOS_* variables, the agent's own environment, CommandInfo.environment), and stdout /
 * stderr written to files in the sandbox. The process leads its own process group so the whole
 * "container" can be killed.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandInfo, CommandURI, ContainerInfo, ExecutorInfo, FrameworkInfo } from '@sluice/mesos-proto';
import { ImageError } from './image-archive.js';
import { CONTAINER_SANDBOX, prepareImageContainer, type ImageLaunch } from './image-container.js';
import { formatDuration, type ResolvedOptions } from './model.js';

export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchError';
  }
}

export interface LaunchSpec {
  options: ResolvedOptions;
  framework: FrameworkInfo & { id: { value: string } };
  executor: ExecutorInfo;
  agent: { id: string; ip: string; port: number };
  sandbox: string;
  token: string | undefined;
  /** The agent's directories for images: its store and this container's own directory. */
  storeDir: string;
  containerDir: string;
}

function download(url: string, file: string, redirects = 5): Promise<void> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined && redirects > 0) {
        res.resume();
        download(new URL(res.headers.location, url).toString(), file, redirects - 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new LaunchError(`Failed to fetch '${url}': HTTP ${status}`));
        return;
      }
      const out = createWriteStream(file);
      res.pipe(out);
      out.on('finish', () => resolve());
      out.on('error', reject);
      res.on('error', reject);
    });
    req.on('error', (err) => reject(new LaunchError(`Failed to fetch '${url}': ${err.message}`)));
  });
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz)$/;

async function fetchUri(uri: CommandURI, sandbox: string): Promise<void> {
  const value = uri.value;
  let name = uri.output_file;
  if (value.startsWith('http://') || value.startsWith('https://')) {
    name ??= basename(new URL(value).pathname) || 'download';
    await download(value, join(sandbox, name));
  } else if (value.startsWith('file://') || value.startsWith('/')) {
    const path = value.startsWith('file://') ? fileURLToPath(value) : value;
    name ??= basename(path);
    await copyFile(path, join(sandbox, name)).catch((err: Error) => {
      throw new LaunchError(`Failed to fetch '${value}': ${err.message}`);
    });
  } else {
    throw new LaunchError(`Failed to fetch '${value}': the Mesos fake fetches only http(s) URLs and local paths`);
  }
  const file = join(sandbox, name);
  if (uri.executable === true) {
    await chmod(file, 0o755);
  } else if (uri.extract !== false && ARCHIVE.test(name)) {
    await new Promise<void>((resolve, reject) => {
      execFile('tar', ['-xf', file, '-C', sandbox], (err, _out, stderr) => (err === null ? resolve() : reject(new LaunchError(`Failed to extract '${name}': ${stderr || err.message}`))));
    });
  }
}

/** The image a ContainerInfo asks for, or undefined when it runs on the host filesystem. */
export function imageOf(container: ContainerInfo | undefined): string | undefined {
  if (container === undefined) return undefined;
  if (container.type === 'DOCKER') return container.docker?.image ?? '';
  const image = container.mesos?.image;
  return image === undefined ? undefined : (image.docker?.name ?? image.appc?.name ?? '');
}

function nanosToMs(n: number | string | undefined): number | undefined {
  return n === undefined ? undefined : Number(n) / 1e6;
}

export function shutdownGraceMs(executor: ExecutorInfo, options: ResolvedOptions): number {
  return nanosToMs(executor.shutdown_grace_period?.nanoseconds) ?? options.executorShutdownGracePeriodMs;
}

/**
 * The environment a Mesos agent gives a custom executor (reference §4). On the host it starts
 * from the agent's own environment; in a container image from the image's Env instead (the
 * host's PATH or NODE_OPTIONS mean nothing there), with MESOS_SANDBOX the path inside.
 */
export function executorEnvironment(spec: LaunchSpec, container?: ImageLaunch): Record<string, string> {
  const { options, framework, executor, agent, sandbox } = spec;
  const checkpoint = framework.checkpoint === true;
  const env: Record<string, string> = {};
  if (container === undefined) {
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  } else Object.assign(env, container.config.env);
  Object.assign(env, options.agentEnv);
  const image = imageOf(executor.container);
  if (image !== undefined && container === undefined) {
    const mapping = options.images[image];
    if (mapping?.env !== undefined) Object.assign(env, mapping.env);
    if (mapping?.rootfs !== undefined) env.MESOS_FAKE_IMAGE_ROOTFS = mapping.rootfs;
  }
  Object.assign(env, {
    MESOS_FRAMEWORK_ID: framework.id.value,
    MESOS_EXECUTOR_ID: executor.executor_id.value,
    MESOS_AGENT_ENDPOINT: `${agent.ip}:${agent.port}`,
    MESOS_SLAVE_PID: `slave(1)@${agent.ip}:${agent.port}`,
    MESOS_SLAVE_ID: agent.id,
    MESOS_DIRECTORY: sandbox,
    MESOS_SANDBOX: container === undefined ? sandbox : CONTAINER_SANDBOX,
    MESOS_CHECKPOINT: checkpoint ? '1' : '0',
    MESOS_HTTP_COMMAND_EXECUTOR: '0',
    MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: formatDuration(shutdownGraceMs(executor, options)),
    LIBPROCESS_IP: agent.ip,
    LIBPROCESS_PORT: '0',
  });
  if (checkpoint) {
    env.MESOS_RECOVERY_TIMEOUT = formatDuration(options.recoveryTimeoutMs);
    env.MESOS_SUBSCRIPTION_BACKOFF_MAX = formatDuration(options.executorReregistrationTimeoutMs);
  }
  if (spec.token !== undefined) env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN = spec.token;
  for (const v of executor.command?.environment?.variables ?? []) {
    if (v.type === 'SECRET') {
      if (v.secret?.value?.data !== undefined) env[v.name] = Buffer.from(v.secret.value.data).toString('utf8');
    } else env[v.name] = v.value ?? '';
  }
  return env;
}

function argvOf(command: CommandInfo): { file: string; args: string[]; argv0: string | undefined } {
  if (command.shell === false) {
    // shell=false: `value` is the executable; `arguments` is the whole argv, argv[0] included.
    const [argv0, ...args] = command.arguments ?? [];
    return { file: command.value ?? '', args, argv0 };
  }
  return { file: '/bin/sh', args: ['-c', command.value ?? ''], argv0: undefined };
}

/**
 * Prepares the sandbox, fetches the URIs and starts the process. Throws LaunchError when the
 * container cannot be launched (unknown image, fetch failure, bad command).
 */
export interface Launched {
  child: ChildProcess;
  /**
   * Settles when the process exits (listened to from the spawn on, so a quick exit is not
   * missed) and, for a container image, its rootfs is removed.
   */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The provisioned root filesystem when the executor runs in a container image. */
  rootfs: string | undefined;
}

/** How a ContainerInfo's image is run: registered to run on the host, from the local registry, or not at all. */
function imageMode(executor: ExecutorInfo, options: ResolvedOptions): 'host' | 'registry' {
  const image = imageOf(executor.container);
  if (image === undefined || options.images[image] !== undefined) return 'host';
  if (options.dockerRegistry !== undefined && executor.container?.type === 'MESOS') return 'registry';
  const how =
    options.dockerRegistry !== undefined
      ? 'the fake runs images from dockerRegistry only in a ContainerInfo of type MESOS (no Docker daemon)'
      : `give startMesosCluster a dockerRegistry holding '${image}.tar', or register it with images: { '${image}': { rootfs } } to run the command on the host`;
  throw new LaunchError(`Failed to launch container: the Mesos fake cannot run container image '${image}': ${how}`);
}

export async function launchExecutor(spec: LaunchSpec): Promise<Launched> {
  const { executor, options, sandbox } = spec;
  const mode = imageMode(executor, options);
  const command = executor.command;
  const needsValue = mode === 'host' || command?.shell !== false;
  if (command === undefined || (needsValue && (command.value ?? '') === '')) throw new LaunchError('Failed to launch container: ExecutorInfo.command has no value');
  await mkdir(sandbox, { recursive: true });
  for (const uri of command.uris ?? []) await fetchUri(uri, sandbox);
  let container: ImageLaunch | undefined;
  if (mode === 'registry') {
    try {
      container = await prepareImageContainer({
        registryDir: options.dockerRegistry as string, storeDir: spec.storeDir, containerDir: spec.containerDir,
        image: imageOf(executor.container) as string, command, frameworkUser: spec.framework.user, hostSandbox: sandbox,
      });
    } catch (err) {
      await rm(spec.containerDir, { recursive: true, force: true });
      throw err instanceof ImageError ? new LaunchError(err.message) : err;
    }
  }
  const stdout = await open(join(sandbox, 'stdout'), 'a');
  const stderr = await open(join(sandbox, 'stderr'), 'a');
  try {
    if (container !== undefined) for (const f of [stdout, stderr]) await f.chown(container.user.uid, container.user.gid);
    const { file, args, argv0 } = container === undefined ? argvOf(command) : { file: container.file, args: container.args, argv0: undefined };
    const child = spawn(file, args, {
      cwd: sandbox,
      env: executorEnvironment(spec, container),
      stdio: ['ignore', stdout.fd, stderr.fd],
      detached: true,
      ...(argv0 === undefined ? {} : { argv0 }),
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // The container's mounts end with its mount namespace (its last process); the rootfs is
    // removed once the executor has exited.
    const exit = container === undefined ? exited : exited.then(async (r) => (await rm(spec.containerDir, { recursive: true, force: true }).catch(() => undefined), r));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new LaunchError(`Failed to launch container: ${err.message}`)));
    });
    return { child, exit, rootfs: container?.rootfs };
  } finally {
    await stdout.close();
    await stderr.close();
  }
}

/** Signals the executor's whole process group (its "container"). */
export function killContainer(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid === undefined) return;
  // The group may outlive its leader (children the executor started), so signal it regardless.
  try {
    process.kill(-child.pid, signal);
  } catch {
    // no such group any more
  }
}
