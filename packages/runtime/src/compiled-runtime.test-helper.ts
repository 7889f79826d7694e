/**
 * For tests that run the compiled runtime (worker threads, child processes): builds
 * packages/runtime when any of the given modules' dist files is older than its source, so a
 * direct `vitest run` after an edit tests the edit. (`npm test` builds everything first.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/runtime */
export const runtimeDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `modules` are paths under src without extension, e.g. 'io/record-writer'. */
export function buildRuntimeIfStale(modules: readonly string[]): void {
  const builtAt = (m: string): number => {
    const js = join(runtimeDir, 'dist', `${m}.js`);
    return existsSync(js) ? statSync(js).mtimeMs : -Infinity;
  };
  if (modules.every((m) => builtAt(m) >= statSync(join(runtimeDir, 'src', `${m}.ts`)).mtimeMs)) return;
  const repo = join(runtimeDir, '..', '..');
  execFileSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'packages/runtime'], { cwd: repo, stdio: 'pipe' });
}
