#!/usr/bin/env node
// The `sluice` command as npm links it (node_modules/.bin/sluice, so `npx sluice` works right
// after `npm ci`). The CLI itself is compiled TypeScript in ../dist; on a fresh install that
// has not been built yet, this builds it once (the same `turbo run build` as `npm run build`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(cliDir, 'dist', 'main.js');
if (!existsSync(main)) {
  const root = join(cliDir, '..', '..');
  const turbo = join(root, 'node_modules', '.bin', 'turbo');
  if (!existsSync(turbo)) {
    process.stderr.write(`sluice: ${main} is missing and turbo is not installed; run 'npm ci && npm run build' in ${root}\n`);
    process.exit(1);
  }
  process.stderr.write('sluice: building Sluice first (npm run build; once)\n');
  // Build output goes to stderr, so `npx sluice plan job.ts > plan.txt` holds only the plan.
  const r = spawnSync(turbo, ['run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0 || !existsSync(main)) {
    process.stderr.write(`sluice: the build failed (exit ${r.status ?? r.signal}); run 'npm run build' in ${root} to see why\n`);
    process.exit(1);
  }
}
await import(main);
