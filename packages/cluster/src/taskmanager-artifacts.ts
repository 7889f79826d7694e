/**
 * Job code for a TaskManager process: an uploaded bundle (a deployment's `artifact.bundle`) is
 * fetched once from the entrypoint's artifact endpoint into a local cache and run from there.
 * Bundles leave their `@sluice/*` imports bare, so the cache directory gets a `node_modules`
 * link to the node_modules this TaskManager's own `@sluice/*` packages are installed in: the
 * job then uses the engine's copy of every Sluice class, as an embedded run does.
 */
import { existsSync } from 'node:fs';
import { readlink, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactCache, ensureDirectory, randomId, SluiceError } from '@sluice/common';
import type { JobArtifact, RpcService } from '@sluice/protocol';
import { rpcArtifactSource } from './rpc-artifact-source.js';

/** The node_modules directory above this file that holds `@sluice/api`. */
export function sluiceNodeModules(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules');
    if (existsSync(join(candidate, '@sluice', 'api', 'package.json'))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new SluiceError('CONFIGURATION', `no node_modules with @sluice/api above ${from}: this TaskManager cannot run job bundles; install Sluice with npm`);
}

/** Points `<dir>/node_modules` at `target` (replaced atomically when it points elsewhere). */
export async function linkNodeModules(dir: string, target: string): Promise<void> {
  const link = join(dir, 'node_modules');
  const current = await readlink(link).catch(() => undefined);
  if (current === target) return;
  const temp = join(dir, `.node_modules-${randomId(6)}`);
  await symlink(target, temp, 'dir');
  try {
    await rename(temp, link);
  } catch (err) {
    await rm(temp, { force: true });
    throw new SluiceError('CONFIGURATION', `cannot link ${link} to ${target}: ${(err as Error).message}; give the TaskManager another --cache-dir`, { cause: err });
  }
}

/**
 * What TaskManagerOptions.resolveArtifact takes: the artifact itself when it names no bundle,
 * else the artifact with `entry` at the cached bundle.
 */
export async function bundleResolver(options: { rpc: RpcService; artifactsAddress: string | (() => string); cacheDir: string }): Promise<(artifact: JobArtifact) => Promise<JobArtifact>> {
  await ensureDirectory(options.cacheDir, 'job bundle cache', 0o700);
  await linkNodeModules(options.cacheDir, sluiceNodeModules());
  const cache = new ArtifactCache({ directory: options.cacheDir, source: rpcArtifactSource(options.rpc, options.artifactsAddress) });
  return async (artifact) => (artifact.bundle === undefined ? artifact : { ...artifact, entry: await cache.resolve(artifact.bundle) });
}
