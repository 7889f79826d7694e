/**
 * Turns a job file into a JavaScript ES module that the engine (and its worker threads) can
 * import. JavaScript (.js, .mjs) is used as is. TypeScript (.ts, .mts) is bundled with esbuild
 * into a content-addressed file inside the nearest `node_modules/.cache/sluice/` above the job,
 * so bare imports (`@sluice/api`, kafkajs, ...) still resolve from that node_modules at run time
 * and every process loads the one installed copy of each package. Repeated runs of unchanged
 * code reuse the same file name.
 *
 * With no node_modules above the job, the bundle goes to the OS temp dir; `@sluice/*` imports
 * then point at the packages this CLI itself runs with (one copy shared with the engine, so
 * classes and module state are not duplicated) and other packages are bundled in.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, parse, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuildOptions, Message, Plugin } from 'esbuild';
import { ConfigurationError, describeError, ensureDirectory } from '@sluice/common';

const AS_IS = new Set(['.js', '.mjs']);
const BUNDLED = new Set(['.ts', '.mts']);
/** Bundled CommonJS dependencies may call require(); an ESM bundle has none, so it gets one. */
const REQUIRE_BANNER = { js: "import { createRequire as __sluiceCreateRequire } from 'node:module';\nconst require = __sluiceCreateRequire(import.meta.url);" };

export interface CompileJobOptions {
  /** Where bundles go; by default the nearest node_modules/.cache/sluice (see file comment). */
  cacheDir?: string;
}

/** Returns the absolute path of an ES module to import for the job at `path`. */
export async function compileJob(path: string, options: CompileJobOptions = {}): Promise<string> {
  const file = resolve(path);
  await checkJobFile(path, file);
  const ext = extname(file).toLowerCase();
  if (AS_IS.has(ext)) return file;
  if (!BUNDLED.has(ext)) {
    throw new ConfigurationError(
      `unsupported job file '${path}': a job is an ES module ending in .ts, .mts, .js or .mjs (got '${ext || 'no extension'}')`,
    );
  }

  const nodeModules = await findNodeModules(dirname(file));
  const cacheDir = options.cacheDir ?? (nodeModules === undefined ? join(tmpdir(), 'sluice-jobs') : join(nodeModules, '.cache', 'sluice'));
  const code = await bundle(path, file, cacheDir, nodeModules !== undefined);

  return writeBundle(cacheDir, file, code);
}

/** A job bundled for a cluster: the bytes to upload and a local copy of them to build the graph from. */
export interface JobBundle {
  /** A file holding exactly `bytes`, where the bundle's `@sluice/*` imports resolve. */
  file: string;
  bytes: Uint8Array;
}

/**
 * Bundles the job at `path` (any of the four extensions) into one ES module for a cluster: the
 * job and every package it imports are inside, except `@sluice/*`, which stay bare imports that
 * the cluster resolves to its own installation, so classes and module state are the engine's.
 * The copy on disk sits in a `node_modules/.cache/sluice/` from which `@sluice/*` resolve here
 * too: the job's own node_modules when it has Sluice installed, else the one this CLI runs from.
 */
export async function bundleJob(path: string, options: CompileJobOptions = {}): Promise<JobBundle> {
  const file = resolve(path);
  await checkJobFile(path, file);
  const ext = extname(file).toLowerCase();
  if (!AS_IS.has(ext) && !BUNDLED.has(ext)) {
    throw new ConfigurationError(`unsupported job file '${path}': a job is an ES module ending in .ts, .mts, .js or .mjs (got '${ext || 'no extension'}')`);
  }
  let cacheDir = options.cacheDir;
  if (cacheDir === undefined) {
    const nodeModules = (await withSluice(await findNodeModules(dirname(file)))) ?? (await withSluice(cliNodeModules()));
    cacheDir = nodeModules === undefined ? join(tmpdir(), 'sluice-jobs') : join(nodeModules, '.cache', 'sluice');
  }
  const code = await esbuildJob(path, file, cacheDir, {
    external: ['@sluice/*'],
    banner: REQUIRE_BANNER,
  });
  return { file: await writeBundle(cacheDir, file, code), bytes: code };
}

/** Writes `code` as `<name>-<hash>.mjs` once; then rename, so a concurrent run never imports a half-written file. */
async function writeBundle(cacheDir: string, file: string, code: Uint8Array): Promise<string> {
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const out = join(cacheDir, `${parse(file).name}-${hash}.mjs`);
  if (!(await exists(out))) {
    await ensureDirectory(cacheDir, 'job bundle cache');
    const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, code);
    await rename(tmp, out);
  }
  return out;
}

/** `dir` when `@sluice/api` resolves from it. */
async function withSluice(dir: string | undefined): Promise<string | undefined> {
  return dir !== undefined && (await exists(join(dir, '@sluice', 'api', 'package.json'))) ? dir : undefined;
}

/** The nearest node_modules above this CLI (where its own `@sluice/*` are installed). */
function cliNodeModules(): string | undefined {
  return cliNodePaths().find((d) => existsSync(join(d, '@sluice', 'api', 'package.json')));
}

async function checkJobFile(given: string, file: string): Promise<void> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new ConfigurationError(`job file '${given}' is not a file (${file}); pass the job's .ts or .js module`);
  } catch (err) {
    if (err instanceof ConfigurationError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigurationError(`job file not found: '${given}' (looked at ${file}); check the path`);
    }
    throw new ConfigurationError(`cannot read job file '${given}': ${describeError(err)}`, { cause: err });
  }
}

function bundle(given: string, file: string, outdir: string, hasNodeModules: boolean): Promise<Uint8Array> {
  if (hasNodeModules) return esbuildJob(given, file, outdir, { packages: 'external' });
  return esbuildJob(given, file, outdir, {
    plugins: [sluicePackagesFromCli()],
    nodePaths: cliNodePaths(),
    banner: REQUIRE_BANNER,
  });
}

async function esbuildJob(given: string, file: string, outdir: string, extra: BuildOptions): Promise<Uint8Array> {
  const esbuild = await import('esbuild');
  const options: BuildOptions = {
    entryPoints: [file],
    absWorkingDir: dirname(file),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'inline',
    write: false,
    logLevel: 'silent',
    ...extra,
  };
  try {
    const result = await esbuild.build(options);
    const output = result.outputFiles?.find((f) => f.path.endsWith('.mjs'));
    if (output === undefined) throw new Error('esbuild produced no output');
    return output.contents;
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    const first = errors?.[0];
    if (first === undefined) throw new ConfigurationError(`cannot compile job '${given}': ${describeError(err)}`, { cause: err });
    const more = errors !== undefined && errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : '';
    throw new ConfigurationError(`cannot compile job: ${formatMessage(first, dirname(file))}${more}`, { cause: err });
  }
}

/** `path:line:column: text`, with the path relative to the working directory when inside it. */
function formatMessage(m: Message, workingDir: string): string {
  if (m.location === null) return m.text;
  const abs = resolve(workingDir, m.location.file);
  const rel = relative(process.cwd(), abs);
  const shown = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
  return `${shown}:${m.location.line}:${m.location.column + 1}: ${m.text}`;
}

/** Resolves `@sluice/*` to the packages this CLI runs with and leaves them external. */
function sluicePackagesFromCli(): Plugin {
  const require = createRequire(import.meta.url);
  return {
    name: 'sluice-packages-from-cli',
    setup(build) {
      build.onResolve({ filter: /^@sluice\// }, (args) => {
        try {
          return { path: pathToFileURL(require.resolve(args.path)).href, external: true };
        } catch {
          return { errors: [{ text: `cannot resolve "${args.path}": no node_modules above the job and the sluice CLI does not provide it` }] };
        }
      });
    },
  };
}

/** node_modules directories above this CLI, a last resort for bundling other packages. */
function cliNodePaths(): string[] {
  const dirs: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (basename(dir) !== 'node_modules') dirs.push(join(dir, 'node_modules'));
    const parent = dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

async function findNodeModules(start: string): Promise<string | undefined> {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'node_modules');
    try {
      if ((await stat(candidate)).isDirectory()) return candidate;
    } catch {
      // not here; look further up
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
