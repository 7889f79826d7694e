/**
 * Confines savepoint targets sent over REST to the allowed savepoint roots. A target counts as
 * inside a root when its canonical form is: symlinks of the part of the path that exists are
 * resolved (realpath of the nearest existing ancestor), the rest is appended as sent. Roots are
 * canonicalised the same way at each request, so a root that is itself a symlink, or that does
 * not exist yet, still works. The target handed on is the canonical one, so what was checked is
 * what gets written.
 */
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { describeError } from '@sluice/common';
import { RestRequestError } from './requests.js';

/**
 * `path` (absolute, without '..' segments) with the symlinks of its existing part resolved.
 * A dangling symlink on the way is refused: where it points could be created later.
 */
export async function canonicalPath(path: string): Promise<string> {
  let existing = resolve(path);
  const missing: string[] = [];
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    const parent = dirname(existing);
    if (parent === existing) break;
    missing.unshift(basename(existing));
    existing = parent;
  }
  return join(await realpath(existing), ...missing);
}

function contains(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/** The canonical target when it lies inside one of `roots`; else a 400 SAVEPOINT_TARGET naming the roots. */
export async function confineSavepointTarget(target: string, roots: readonly string[]): Promise<string> {
  const listed = roots.join(', ');
  let canonical: string;
  try {
    canonical = await canonicalPath(target);
  } catch (err) {
    throw new RestRequestError(400, 'SAVEPOINT_TARGET', `savepoint directory ${target} cannot be resolved (${describeError(err)}); choose a directory inside ${listed}`);
  }
  for (const root of roots) {
    // A root that cannot be resolved (dangling symlink, no permission) confines nothing.
    const real = await canonicalPath(root).catch(() => undefined);
    if (real !== undefined && contains(real, canonical)) return canonical;
  }
  const via = canonical === resolve(target) ? '' : ` (it resolves to ${canonical})`;
  throw new RestRequestError(400, 'SAVEPOINT_TARGET', `savepoint directory ${target} is outside the allowed savepoint roots${via}; choose a directory inside ${listed}`);
}
