/**
 * A process's cache of job bundles, where they can be imported. A bundle keeps its `@sluice/*`
 * imports bare (the cluster supplies the engine, so every job runs on the cluster's version), so
 * the directory holding the bundles gets a `node_modules` link to the node_modules this Sluice
 * runs from: Node resolves `@sluice/api` from `<cache>/<sha256>.mjs` through it.
 */
import { lstat, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactCache, ensureDirectory, type ArtifactSource } from '@sluice/common';
import type { JobArtifact } from '@sluice/protocol';

/** The node_modules directory that holds this install's `@sluice/*` packages. */
export function sluiceNodeModules(): string {
  // …/node_modules/@sluice/api/dist/index.js → …/node_modules
  let dir = dirname(fileURLToPath(import.meta.resolve('@sluice/api')));
  while (!dir.endsWith(`${'/'}node_modules`) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

async function linkModules(directory: string): Promise<void> {
  await ensureDirectory(directory, 'job bundle cache', 0o700);
  const link = join(directory, 'node_modules');
  const target = sluiceNodeModules();
  try {
    const st = await lstat(link);
    if (st.isSymbolicLink() && (await readlink(link)) === target) return;
    await rm(link, { recursive: false, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await symlink(target, link, 'dir').catch((err: NodeJS.ErrnoException) => {
    // Another process of this machine linked it first.
    if (err.code !== 'EEXIST') throw err;
  });
}

export interface BundleCache {
  /** `artifact` with `entry` pointing at a local copy of its bundle (unchanged when it has none). */
  localArtifact(artifact: JobArtifact): Promise<JobArtifact>;
}

export function createBundleCache(directory: string, source: ArtifactSource): BundleCache {
  const cache = new ArtifactCache({ directory, source });
  let linked: Promise<void> | undefined;
  return {
    async localArtifact(artifact) {
      if (artifact.bundle === undefined) return artifact;
      linked ??= linkModules(directory);
      await linked;
      return { ...artifact, entry: await cache.resolve(artifact.bundle) };
    },
  };
}
