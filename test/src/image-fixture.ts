/**
 * Tiny Docker image archives for tests, in the legacy `docker save` layout a Mesos agent's local
 * registry reads: `repositories`, and per layer `<id>/json` (with `parent`, the top one with the
 * runtime `config`), `<id>/VERSION` and `<id>/layer.tar`. Layers are directory trees given as
 * plain data; a whiteout is just a file named `.wh.<name>` (or `.wh..wh..opq`) in a layer.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A path in the layer → file content, `{ link }` for a symlink, `{ dir: true }`, or `{ copy }` of a host file. */
export type LayerEntry = string | { link: string } | { dir: true } | { copy: string; mode?: number };
export type LayerTree = Record<string, LayerEntry>;

export interface FixtureImage {
  /** The key written to `repositories` (default: `repository`, as build.sh rewrites it). */
  repositoriesKey?: string;
  repository: string;
  tag: string;
  /** Base first. */
  layers: LayerTree[];
  /** The top layer's runtime config (Docker's names: Entrypoint, Cmd, Env, WorkingDir, User). */
  config?: Record<string, unknown>;
}

function writeTree(dir: string, tree: LayerTree): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, entry] of Object.entries(tree)) {
    const to = join(dir, path);
    mkdirSync(dirname(to), { recursive: true });
    if (typeof entry === 'string') writeFileSync(to, entry);
    else if ('link' in entry) symlinkSync(entry.link, to);
    else if ('dir' in entry) mkdirSync(to, { recursive: true });
    else {
      copyFileSync(entry.copy, to);
      chmodSync(to, entry.mode ?? 0o755);
    }
  }
}

/** Writes the archive to `<registryDir>/<repository>:<tag>.tar` and returns its path. */
export function writeImageArchive(registryDir: string, image: FixtureImage): string {
  mkdirSync(registryDir, { recursive: true });
  const work = mkdtempSync(join(registryDir, '.fixture-'));
  try {
    const ids: string[] = [];
    image.layers.forEach((tree, i) => {
      const id = createHash('sha256').update(`${image.repository}:${image.tag}#${i}:${JSON.stringify(tree)}`).digest('hex');
      const layerDir = join(work, id);
      writeTree(join(work, `tree-${i}`), tree);
      mkdirSync(layerDir);
      execFileSync('tar', ['-cf', join(layerDir, 'layer.tar'), '-C', join(work, `tree-${i}`), '--numeric-owner', '.']);
      rmSync(join(work, `tree-${i}`), { recursive: true });
      const top = i === image.layers.length - 1;
      const json = { id, ...(i === 0 ? {} : { parent: ids[i - 1] }), ...(top && image.config !== undefined ? { config: image.config } : {}) };
      writeFileSync(join(layerDir, 'json'), JSON.stringify(json));
      writeFileSync(join(layerDir, 'VERSION'), '1.0');
      ids.push(id);
    });
    const key = image.repositoriesKey ?? image.repository;
    writeFileSync(join(work, 'repositories'), JSON.stringify({ [key]: { [image.tag]: ids.at(-1) } }));
    const archive = join(registryDir, `${image.repository}:${image.tag}.tar`);
    mkdirSync(dirname(archive), { recursive: true });
    execFileSync('tar', ['-cf', archive, '-C', work, 'repositories', ...ids]);
    return archive;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The host's /bin/sh (dash on Debian) and the shared libraries it loads, as a layer: enough for
 * a container that runs shell commands with builtins only.
 */
export function hostShellLayer(): LayerTree {
  const tree: LayerTree = { 'bin/sh': { copy: '/bin/sh' } };
  const ldd = execFileSync('ldd', ['/bin/sh'], { encoding: 'utf8' });
  for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) tree[m[1]!.slice(1)] = { copy: m[1]!, mode: 0o755 };
  return tree;
}
