/**
 * Docker images from a local tarball "registry", read as the Mesos agent's local puller reads
 * them (`--docker_registry=<dir>`; shared/reference/cluster-notes.md §2): the file is
 * `<dir>/<[registry/]repository>[:tag|@digest].tar` for the reference as written, in the legacy
 * `docker save` layout (a top-level `repositories` file, `<id>/json` and `<id>/layer.tar` per
 * layer). The top layer comes from `repositories` (the bare repository first, then
 * `registry/repository`), the others from the `parent` chain of each layer's `json`, and the
 * runtime configuration from the top layer's `json`. Texts of failures follow Mesos's.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export class ImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface ImageReference {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** What `docker/runtime` takes from the image (the top layer's `config`). */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workingDir: string | undefined;
  user: string | undefined;
}

export interface PulledImage {
  reference: ImageReference;
  /** The extracted archive (one directory per layer id). */
  directory: string;
  /** Layer ids, the base first (the order the layers are applied in). */
  layers: string[];
  config: ImageConfig;
}

/**
 * Splits a reference as Docker and Mesos do: the first component is a registry when it holds a
 * '.' or a ':' or is `localhost`; then `@digest` or `:tag` after the last '/'.
 */
export function parseImageReference(name: string): ImageReference {
  if (name === '' || /\s/.test(name)) throw new ImageError(`Failed to parse image reference '${name}'`);
  let rest = name;
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (rest === '' || tag === '' || digest === '') throw new ImageError(`Failed to parse image reference '${name}'`);
  return { ...(registry === undefined ? {} : { registry }), repository: rest, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

export function formatImageReference(r: ImageReference): string {
  const base = r.registry === undefined ? r.repository : `${r.registry}/${r.repository}`;
  return r.digest !== undefined ? `${base}@${r.digest}` : r.tag !== undefined ? `${base}:${r.tag}` : base;
}

/** `<dir>/<reference as written>.tar`, a '/' in it making subdirectories (path::join). */
export function imageArchivePath(registryDir: string, reference: ImageReference): string {
  return join(registryDir, `${formatImageReference(reference)}.tar`);
}

function untar(archive: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('tar', ['-xf', archive, '-C', into], { maxBuffer: 16 << 20 }, (err, _out, stderr) =>
      err === null ? resolve() : reject(new ImageError(`Failed to extract '${archive}': ${stderr.trim() || err.message}`)),
    );
  });
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ImageError(`Failed to read ${what}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ImageError(`Failed to parse ${what}: ${(err as Error).message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

function configOf(manifest: Record<string, unknown>): ImageConfig {
  const c = isObject(manifest.config) ? manifest.config : {};
  const env: Record<string, string> = {};
  for (const kv of strings(c.Env)) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const workingDir = typeof c.WorkingDir === 'string' && c.WorkingDir !== '' ? c.WorkingDir : undefined;
  const user = typeof c.User === 'string' && c.User !== '' ? c.User : undefined;
  return { entrypoint: strings(c.Entrypoint), cmd: strings(c.Cmd), env, workingDir, user };
}

/** Layer ids from the top one down its `parent` chain, returned base first. */
async function layerChain(directory: string, top: string): Promise<{ layers: string[]; topManifest: Record<string, unknown> }> {
  const layers: string[] = [];
  let topManifest: Record<string, unknown> | undefined;
  let id: string | undefined = top;
  while (id !== undefined) {
    if (layers.includes(id) || !/^[A-Za-z0-9_.-]+$/.test(id)) throw new ImageError(`Failed to find parent layer id for layer '${top}': bad or cyclic layer id '${id}'`);
    layers.unshift(id);
    const manifest = await readJson(join(directory, id, 'json'), `manifest of layer '${id}'`);
    if (!isObject(manifest)) throw new ImageError(`Failed to parse manifest of layer '${id}': not an object`);
    topManifest ??= manifest;
    const parent = manifest.parent;
    if (parent !== undefined && parent !== null && typeof parent !== 'string') throw new ImageError(`Failed to find parent layer id for layer '${top}': Unexpected 'parent' type`);
    id = typeof parent === 'string' && parent !== '' ? parent : undefined;
  }
  return { layers, topManifest: topManifest ?? {} };
}

/** Reads an extracted archive: the top layer for `reference`, the chain below it, the config. */
export async function readImageDirectory(directory: string, reference: ImageReference): Promise<PulledImage> {
  const repositories = await readJson(join(directory, 'repositories'), "'repositories'");
  if (!isObject(repositories)) throw new ImageError("Failed to parse 'repositories': not an object");
  let repository = repositories[reference.repository];
  if (repository === undefined && reference.registry !== undefined) repository = repositories[`${reference.registry}/${reference.repository}`];
  if (repository === undefined) throw new ImageError(`Repository '${reference.repository}' does not exist in 'repositories'`);
  if (!isObject(repository)) throw new ImageError(`Failed to find repository '${reference.repository}' in 'repositories': not an object`);
  const tag = reference.tag ?? 'latest';
  const top = repository[tag];
  if (typeof top !== 'string') throw new ImageError(`Layer id '${tag}' is not found`);
  const { layers, topManifest } = await layerChain(directory, top);
  return { reference, directory, layers, config: configOf(topManifest) };
}

/**
 * Finds the archive for `name` in `registryDir` and extracts it once into `storeDir` (kept per
 * archive path, size and modification time, as a real agent keeps pulled images in its store).
 */
export async function pullImage(registryDir: string, name: string, storeDir: string): Promise<PulledImage> {
  const reference = parseImageReference(name);
  const archive = imageArchivePath(registryDir, reference);
  const info = await stat(archive).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    throw new ImageError(`Failed to find archive for image '${formatImageReference(reference)}' at '${archive}': the file does not exist`);
  }
  const key = createHash('sha256').update(`${archive}\0${info.size}\0${info.mtimeMs}`).digest('hex').slice(0, 24);
  const directory = join(storeDir, 'staging', key);
  // Agents of one cluster share the store: concurrent pulls of one archive extract it once.
  let extracting = extractions.get(directory);
  if (extracting === undefined) {
    extracting = extractOnce(archive, directory).finally(() => extractions.delete(directory));
    extractions.set(directory, extracting);
  }
  await extracting;
  return readImageDirectory(directory, reference);
}

const extractions = new Map<string, Promise<void>>();

async function extractOnce(archive: string, directory: string): Promise<void> {
  if (await stat(join(directory, '.extracted')).then(() => true, () => false)) return;
  const partial = `${directory}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    await untar(archive, partial);
    await readFile(join(partial, 'repositories')).catch(() => {
      throw new ImageError("Failed to read 'repositories': the archive has none (Mesos reads only the legacy `docker save` layout, e.g. skopeo's docker-archive)");
    });
    await mkdir(join(partial, '.extracted'));
    await rm(directory, { recursive: true, force: true });
    await rename(partial, directory);
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  }
}
