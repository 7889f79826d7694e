/**
 * The local directory's files: its layout, reads that tell a missing file from an unreadable
 * one, and the lock that makes a fenced write (token check, read, write) one step for every
 * process on the directory — the entrypoint and the JobMaster processes it starts.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describeError, preparePrivateDirectory, SluiceError } from '@sluice/common';
import { StoreUnavailableError } from '../errors.js';
import type { RecordLocation } from '../records.js';

const ADVICE = 'choose another directory with the high-availability `directory` option';

export class LocalLayout {
  readonly jobs: string;
  readonly leader: string;
  readonly mesos: string;
  readonly workers: string;

  constructor(readonly directory: string) {
    this.jobs = join(directory, 'jobs');
    this.leader = join(directory, 'leader');
    this.mesos = join(directory, 'mesos');
    this.workers = join(this.mesos, 'workers');
    for (const dir of [directory, this.jobs, this.leader, this.mesos, this.workers]) {
      preparePrivateDirectory(dir, 'the high-availability records', ADVICE);
    }
  }

  job(jobId: string, suffix: '.json' | '.checkpoint' | '.counter'): string {
    return join(this.jobs, `${jobId}${suffix}`);
  }

  frameworkId(): string {
    return join(this.mesos, 'framework-id');
  }

  worker(workerId: string): string {
    return join(this.workers, `${workerId}.json`);
  }

  /** The published LeaderInfo of a component. */
  leaderInfo(component: string): string {
    return join(this.leader, `${component}.json`);
  }

  /** The current term of a component: {token, pid, hostname}. */
  leaderToken(component: string): string {
    return join(this.leader, `${component}.token`);
  }

  lock(component: string): string {
    return join(this.leader, `${component}.lock`);
  }
}

export function fileLocation(file: string): RecordLocation {
  return { where: file, remove: `remove ${file}`, write: (json) => `write ${json} into ${file}` };
}

/** The file's text, or undefined when it does not exist. */
export function readText(file: string, what: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SluiceError('HA_STORE_IO', `cannot read ${what} at ${file}: ${describeError(err)}`, { cause: err });
  }
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** Whether the process `pid` on `host` may still run (another host's processes cannot be seen). */
export function processAlive(pid: number, host: string): boolean {
  if (host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const LOCK_RETRY_MS = 5;
const LOCK_PATIENCE_MS = 30_000;

/**
 * Runs `section` (synchronous, so no other code of this process runs meanwhile) holding the lock
 * file `lock`, created exclusively with this process's pid. A lock left by a process that died
 * holding it is broken; one held longer than LOCK_PATIENCE_MS by a live process is reported.
 */
export async function withFileLock<T>(lock: string, section: () => T): Promise<T> {
  const deadline = Date.now() + LOCK_PATIENCE_MS;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SluiceError('HA_STORE_IO', `cannot create the lock ${lock}: ${describeError(err)}`, { cause: err });
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, `${process.pid} ${hostname()}\n`);
        closeSync(fd);
        return section();
      } finally {
        removeFile(lock);
      }
    }
    const holder = lockHolder(lock);
    // Our own pid can only be a leftover: sections are synchronous, so none of ours is running.
    if (holder !== undefined && (holder.pid === process.pid ? holder.host === hostname() : !processAlive(holder.pid, holder.host))) {
      removeFile(lock);
      continue;
    }
    if (Date.now() > deadline) {
      throw new StoreUnavailableError(`the lock ${lock} is held by ${holder === undefined ? 'an unknown process' : `pid ${holder.pid} on ${holder.host}`}; if no Sluice process uses ${lock}'s directory, remove the lock file`);
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
}

function lockHolder(lock: string): { pid: number; host: string } | undefined {
  const text = readText(lock, 'a lock');
  const m = text === undefined ? null : /^(\d+) (\S+)\n$/.exec(text);
  // Half-written (the holder is between creating and writing it) or gone: not yet judged.
  if (m === null) return undefined;
  return { pid: Number(m[1]), host: m[2] ?? '' };
}
