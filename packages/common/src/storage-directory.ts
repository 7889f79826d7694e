/**
 * Directories that Sluice writes state into (checkpoints, savepoints, file sinks), made and
 * checked without a path that can hang the process.
 *
 * Node's recursive `mkdir` never ends on a path under /proc: the kernel answers ENOENT for the
 * child and EEXIST for the parent, and Node retries the pair forever (a spinning core, and a
 * worker thread that no `terminate()` or `process.exit()` can stop). So directories are made
 * here one path component at a time, each tried once, and a storage root is probed before use:
 * it must be a writable directory on a filesystem that holds files (a probe file is written,
 * fsynced and deleted), within a time bound, or the caller gets one error naming the path and
 * the reason.
 */
import { mkdirSync, statfsSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, rm, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SluiceError, describeError } from './errors.js';
import { randomId } from './ids.js';

/** A storage directory that cannot be used; `path` is the directory asked for, `reason` why not. */
export class StorageDirectoryError extends SluiceError {
  constructor(
    readonly path: string,
    readonly reason: string,
    message: string,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super('STORAGE_DIRECTORY', message, options);
    this.name = 'StorageDirectoryError';
  }
}

/**
 * Kernel filesystems that hold no files of ours (statfs f_type, from linux/magic.h). Writing
 * into them fails in odd ways or, for procfs and recursive mkdir, never returns.
 */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x73636673, 'securityfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x6165676c, 'pstore'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0xde5e81e4, 'efivarfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x6e736673, 'nsfs'],
  [0x19800202, 'mqueue'],
  [0x65735543, 'fusectl'],
  [0x958458f6, 'hugetlbfs'],
]);

const ADVICE = 'choose a directory on a local disk or a shared mount that this process can write';

export interface StorageDirectoryCheckOptions {
  /** What the directory is for, as the user knows it: 'checkpoint directory', 'savepoint directory'. */
  what: string;
  /** Longest the whole check may take (a hung network mount); default 10 s. */
  timeoutMs?: number;
}

export const DEFAULT_STORAGE_CHECK_TIMEOUT_MS = 10_000;

/**
 * Makes `path` (and missing parents) a directory, one component at a time. Cannot loop: each
 * component is created at most once, and a filesystem that refuses is reported, not retried.
 * `mode` applies to the directories it creates (before the umask), as with mkdir.
 */
export async function ensureDirectory(path: string, what = 'directory', mode?: number): Promise<void> {
  const chain = ancestry(resolve(path));
  let i = chain.length - 1;
  for (; i >= 0; i--) {
    const st = await statOrMissing(chain[i]!, what, path);
    if (st === undefined) continue;
    if (!st.isDirectory()) throw notADirectory(what, path, chain[i]!);
    break;
  }
  for (let j = i + 1; j < chain.length; j++) {
    try {
      await mkdir(chain[j]!, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotCreate(what, path, chain[j]!, err);
      const st = await statOrMissing(chain[j]!, what, path);
      if (st === undefined || !st.isDirectory()) throw notADirectory(what, path, chain[j]!);
    }
  }
}

/** `ensureDirectory` for code that must stay synchronous (a file sink opening in a worker). */
export function ensureDirectorySync(path: string, what = 'directory', mode?: number): void {
  const chain = ancestry(resolve(path));
  let i = chain.length - 1;
  for (; i >= 0; i--) {
    let st: Stats | undefined;
    try {
      st = statSync(chain[i]!);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unusable(what, path, `${chain[i]!}: ${describeError(err)}`, err);
    }
    if (st === undefined) continue;
    if (!st.isDirectory()) throw notADirectory(what, path, chain[i]!);
    refusePseudoFilesystem(what, path, chain[i]!, statfsSync(chain[i]!).type);
    break;
  }
  for (let j = i + 1; j < chain.length; j++) {
    try {
      mkdirSync(chain[j]!, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotCreate(what, path, chain[j]!, err);
      if (!statSync(chain[j]!).isDirectory()) throw notADirectory(what, path, chain[j]!);
    }
  }
}

/**
 * Makes sure `path` can hold Sluice's files before anything relies on it: creates it if
 * missing, refuses kernel pseudo-filesystems, and writes, fsyncs and deletes a probe file.
 * Rejects with a StorageDirectoryError naming the path and the reason, at the latest after
 * `timeoutMs` (an operation still hanging then is abandoned, not waited for).
 */
export async function checkStorageDirectory(path: string, options: StorageDirectoryCheckOptions): Promise<void> {
  const dir = resolve(path);
  const { what } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORAGE_CHECK_TIMEOUT_MS;
  const work = (async () => {
    const chain = ancestry(dir);
    for (let i = chain.length - 1; i >= 0; i--) {
      if ((await statOrMissing(chain[i]!, what, dir)) === undefined) continue;
      refusePseudoFilesystem(what, dir, chain[i]!, (await statfs(chain[i]!)).type);
      break;
    }
    await ensureDirectory(dir, what);
    // A mount between the nearest existing parent and the directory itself.
    refusePseudoFilesystem(what, dir, dir, (await statfs(dir)).type);
    await probeWrite(dir, what);
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(unusable(what, dir, `it did not answer within ${timeoutMs / 1000} s (a hung network mount?)`, undefined, true)),
      timeoutMs,
    );
    timer.unref();
  });
  // Whatever the abandoned work does later must not surface as an unhandled rejection.
  work.catch(() => undefined);
  try {
    await Promise.race([work, timeout]);
  } catch (err) {
    if (err instanceof StorageDirectoryError) throw err;
    throw unusable(what, dir, describeError(err), err);
  } finally {
    clearTimeout(timer);
  }
}

async function probeWrite(dir: string, what: string): Promise<void> {
  const probe = resolve(dir, `.sluice-probe-${randomId(6)}`);
  const fh = await open(probe, 'wx', 0o600).catch((err: unknown) => {
    throw unusable(what, dir, `a file cannot be created in it (${describeError(err)})`, err);
  });
  try {
    await fh.writeFile('sluice storage probe\n');
    await fh.sync();
  } catch (err) {
    throw unusable(what, dir, `a file in it cannot be written and synced (${describeError(err)})`, err);
  } finally {
    await fh.close().catch(() => undefined);
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

function refusePseudoFilesystem(what: string, dir: string, at: string, type: number | bigint): void {
  const name = PSEUDO_FILESYSTEMS.get(Number(type));
  if (name !== undefined) throw unusable(what, dir, `${at} is on ${name}, a kernel pseudo-filesystem that cannot hold files`);
}

/** `/a/b/c` → ['/', '/a', '/a/b', '/a/b/c']. */
function ancestry(abs: string): string[] {
  const chain: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) return chain;
  }
}

async function statOrMissing(p: string, what: string, dir: string): Promise<Stats | undefined> {
  try {
    return await stat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') throw notADirectory(what, dir, dirname(p));
    throw unusable(what, dir, `${p}: ${describeError(err)}`, err);
  }
}

function unusable(what: string, dir: string, reason: string, cause?: unknown, retriable = false): StorageDirectoryError {
  return new StorageDirectoryError(dir, reason, `${what} ${dir} cannot be used: ${reason}; ${ADVICE}`, { cause, retriable });
}

function notADirectory(what: string, dir: string, at: string): StorageDirectoryError {
  return unusable(what, dir, at === dir ? 'it exists and is not a directory' : `${at} exists and is not a directory`);
}

function cannotCreate(what: string, dir: string, at: string, err: unknown): StorageDirectoryError {
  const code = (err as NodeJS.ErrnoException).code;
  // mkdir answering ENOENT although the parent exists: the filesystem refuses directories (procfs).
  const why = code === 'ENOENT' ? `the filesystem refuses to create ${at}` : `${at} cannot be created (${describeError(err)})`;
  return unusable(what, dir, why, err);
}
