/**
 * Files only this user may read: REST tokens, the cluster secret, job records. Written
 * atomically (a new file opened exclusively with mode 0600, fsynced, then renamed over the old
 * one) into a directory that must be ours and writable by nobody else, reached through
 * directories in which nobody else can rename entries; otherwise another user could read or swap
 * the file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigurationError, describeError, SluiceError } from './errors.js';
import { ensureDirectorySync, StorageDirectoryError } from './storage-directory.js';

/** Why `dir` must not hold private files, or undefined when it may. */
export function unsafeDirectory(dir: string): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // no POSIX owners (Windows): the ACLs of the profile apply
  const real = realpathSync(dir);
  const st = statSync(real);
  if (!st.isDirectory()) return `${real} is not a directory`;
  if (st.uid !== uid) return `${real} belongs to another user (uid ${st.uid})`;
  if ((st.mode & 0o022) !== 0) return `${real} is writable by others (mode ${(st.mode & 0o7777).toString(8)}); chmod 700 ${real}`;
  // Above it, another user must not be able to rename the directory away: owned by us or root,
  // and writable by others only with the sticky bit (as /tmp is).
  for (let d = dirname(real); ; d = dirname(d)) {
    const a = statSync(d);
    if (a.uid !== uid && a.uid !== 0) return `${d}, which contains it, belongs to another user (uid ${a.uid})`;
    if ((a.mode & 0o022) !== 0 && (a.mode & 0o1000) === 0) return `${d}, which contains it, is writable by others (mode ${(a.mode & 0o7777).toString(8)})`;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Creates `dir` (mode 0700) when missing and checks that it may hold private files; throws a
 * ConfigurationError naming `what` (e.g. 'the cluster secret'), the problem and `advice` (a
 * clause such as 'choose another place with --secret-file PATH').
 */
export function preparePrivateDirectory(dir: string, what: string, advice: string): void {
  try {
    ensureDirectorySync(dir, `directory for ${what}`, 0o700);
    const problem = unsafeDirectory(dir);
    if (problem === undefined) return;
    throw new ConfigurationError(`refusing to keep ${what} in ${dir}: ${problem}. ${advice.charAt(0).toUpperCase()}${advice.slice(1)}`);
  } catch (err) {
    if (err instanceof ConfigurationError) throw err;
    const why = err instanceof StorageDirectoryError ? err.reason : describeError(err);
    throw new ConfigurationError(`cannot keep ${what} in ${dir} (${why}); ${advice}`, { cause: err });
  }
}

/** Writes `content` to `file` (mode 0600) atomically; the directory must have been prepared. */
export function writePrivateFile(file: string, content: string, what: string): void {
  writeVia(file, content, what, (tmp) => renameSync(tmp, file));
}

/**
 * Creates `file` with `content` unless it exists, and returns what the file holds: `content`, or
 * what another process (a second entrypoint sharing the directory) put there first. Never a
 * partial file: it is complete before it is linked into place.
 */
export function createPrivateFileOnce(file: string, content: string, what: string): string {
  try {
    writeVia(file, content, what, (tmp) => {
      linkSync(tmp, file);
      unlinkSync(tmp);
    });
    return content;
  } catch (err) {
    if ((err as { cause?: { code?: unknown } }).cause?.code !== 'EEXIST') throw err;
    return readFileSync(file, 'utf8');
  }
}

function writeVia(file: string, content: string, what: string, place: (tmp: string) => void): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    place(tmp);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new SluiceError('PRIVATE_FILE', `cannot write ${what} to ${file}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * The secret a user keeps in `file` (the cluster secret, a Mesos principal's secret), without
 * the trailing newline or blanks `echo` or an editor leaves. `what` names it in errors (e.g.
 * '--mesos-secret-file'); an unreadable or empty file is a ConfigurationError. A file others may
 * read is reported through `warn` but used: a mounted secret's mode is not always the user's to set.
 */
export function readSecretFile(file: string, what: string, warn?: (message: string) => void): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    if (warn !== undefined && (statSync(file).mode & 0o077) !== 0) warn(`${what} ${file} is readable by other users; chmod 600 it`);
  } catch (err) {
    throw new ConfigurationError(`${what} ${file} cannot be read (${describeError(err)})`, { cause: err });
  }
  const secret = text.replace(/\s+$/, '');
  if (secret === '') throw new ConfigurationError(`${what} ${file} is empty: put the secret in it`);
  return secret;
}
