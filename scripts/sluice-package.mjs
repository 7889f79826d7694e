#!/usr/bin/env node
// Packs this (built) installation's runtime into one archive a Mesos agent's fetcher can unpack
// into an executor's sandbox: `npm run package [-- --out FILE]`. The archive holds `sluice/` with
// every workspace package but the CLI (its compiled `dist/`, package.json and README), and the
// production dependencies they need in `sluice/node_modules` (the workspace packages linked by
// relative symlinks, as npm links them). Left out: the CLI and esbuild (jobs reach the
// TaskManagers already bundled), dev dependencies, TypeScript sources and build caches.
//
// Some dependencies have native parts (piscina's optional @napi-rs/nice), so the archive is
// for this platform and architecture: its default name says which.
//
// `sluice mesos-session --sluice-package <archive>` serves it to the agents and starts the
// executor from it.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LEFT_OUT_PACKAGES = new Set(['cli']);
const LEFT_OUT_MODULES = /^node_modules\/(esbuild|@esbuild\/.*)$/;

function usage(problem) {
  process.stderr.write(`sluice-package: ${problem}\nusage: npm run package [-- --out FILE]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let out;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' && args[i + 1] !== undefined) out = resolve(args[++i]);
  else if (args[i] === '-h' || args[i] === '--help') usage('packs the built runtime for Mesos agents');
  else usage(`unknown argument '${args[i]}'`);
}
const version = JSON.parse(readFileSync(join(root, 'packages', 'mesos-executor', 'package.json'), 'utf8')).version;
out ??= join(root, 'build', `sluice-${version}-${process.platform}-${process.arch}.tar.gz`);

const packages = readdirSync(join(root, 'packages')).filter((p) => !LEFT_OUT_PACKAGES.has(p) && existsSync(join(root, 'packages', p, 'package.json')));
for (const p of packages) {
  if (!existsSync(join(root, 'packages', p, 'dist'))) usage(`packages/${p}/dist is missing: build first (npm run build)`);
}

// The production dependencies of the workspaces, as npm resolved them (locations in node_modules).
const prod = JSON.parse(execFileSync('npm', ['query', '.prod'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }));
const modules = [...new Set(prod.map((d) => d.location))].filter((l) => l.startsWith('node_modules/') && !l.startsWith('node_modules/@sluice/') && !LEFT_OUT_MODULES.test(l));

const staging = mkdtempSync(join(tmpdir(), 'sluice-package-'));
try {
  const top = join(staging, 'sluice');
  mkdirSync(join(top, 'node_modules', '@sluice'), { recursive: true });
  writeFileSync(join(top, 'package.json'), `${JSON.stringify({ name: 'sluice-runtime', version, private: true, type: 'module' }, null, 2)}\n`);
  for (const p of packages) {
    const from = join(root, 'packages', p);
    const to = join(top, 'packages', p);
    mkdirSync(to, { recursive: true });
    for (const f of ['package.json', 'README.md']) if (existsSync(join(from, f))) cpSync(join(from, f), join(to, f));
    cpSync(join(from, 'dist'), join(to, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
    const name = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')).name;
    const link = join(top, 'node_modules', ...name.split('/'));
    symlinkSync(relative(dirname(link), to), link);
  }
  for (const m of modules) cpSync(join(root, m), join(top, m), { recursive: true, dereference: true });
  mkdirSync(dirname(out), { recursive: true });
  execFileSync('tar', ['-czf', out, '-C', staging, 'sluice']);
  process.stdout.write(`${out}\n`);
} finally {
  rmSync(staging, { recursive: true, force: true });
}
