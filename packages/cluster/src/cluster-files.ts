/**
 * The files an entrypoint keeps: the cluster secret and the REST token (in the cluster
 * directory, or with high availability in the shared storage directory, so every entrypoint of
 * the cluster uses the same ones — the first to start makes them, atomically, and the others
 * read what it made), and `entrypoint.json`, where this entrypoint listens.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, createPrivateFileOnce, preparePrivateDirectory } from '@sluice/common';

/** What `entrypoint.json` in the cluster directory says while the entrypoint runs. */
export interface EntrypointInfo {
  pid: number;
  rpcAddress: string;
  restUrl: string;
}

/**
 * The cluster secret in `dir/secret`, made (32 random bytes, mode 0600) when missing; `advice`
 * says which flag chooses another directory when this one is not private.
 */
export function ensureClusterSecret(dir: string, advice = 'choose another with --cluster-dir DIR'): string {
  preparePrivateDirectory(dir, 'the cluster secret', advice);
  const file = join(dir, 'secret');
  createPrivateFileOnce(file, `${randomBytes(32).toString('base64url')}\n`, 'the cluster secret');
  return file;
}

/** The cluster's REST token in `dir/rest.token`, made (32 random bytes) when missing; `created` when this call made it. */
export function ensureClusterRestToken(dir: string): { token: string; created?: string } {
  const file = join(dir, 'rest.token');
  const mine = randomBytes(32).toString('base64url');
  const token = createPrivateFileOnce(file, `${mine}\n`, 'the REST token').trim();
  if (!/^[A-Za-z0-9._~+/-]{32,512}=*$/.test(token)) {
    throw new ConfigurationError(`the REST token in ${file} is not a valid token (32 to 512 characters of A-Z, a-z, 0-9 and -._~+/); remove the file to have a new one made`);
  }
  return token === mine ? { token, created: file } : { token };
}

export function readEntrypointInfo(clusterDir: string): EntrypointInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(clusterDir, 'entrypoint.json'), 'utf8')) as EntrypointInfo;
  } catch {
    return undefined;
  }
}

/** Whether a process with this id exists (ours or another user's). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
