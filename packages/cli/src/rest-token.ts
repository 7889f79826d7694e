/**
 * The REST API's bearer token on disk. `sluice run` writes the token its REST server generated to
 * a file only the user can read, `<state dir>/rest-<port>.token` unless `--rest-token-file` says
 * otherwise, and removes it when the run ends; savepoint, stop and cancel read it from there.
 * The state dir is $SLUICE_HOME, else ~/.sluice.
 *
 * The file is written atomically (a new file opened exclusively with mode 0600, then renamed over
 * the old one), into a directory that must be ours and writable by nobody else, reached through
 * directories that nobody else can rename entries in; otherwise another user could swap the file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigurationError, describeError, ensureDirectorySync, SluiceError, StorageDirectoryError } from '@sluice/common';

export const STATE_DIR_ENV_VAR = 'SLUICE_HOME';
export const TOKEN_ENV_VAR = 'SLUICE_REST_TOKEN';

type Env = Readonly<Record<string, string | undefined>>;

/** $SLUICE_HOME, else ~/.sluice. */
export function stateDirectory(env: Env): string {
  const home = env[STATE_DIR_ENV_VAR]?.trim();
  return home !== undefined && home !== '' ? resolve(home) : join(homedir(), '.sluice');
}

/** Where `sluice run` with the REST API on `port` keeps its token unless told otherwise. */
export function defaultTokenFile(env: Env, port: number): string {
  return join(stateDirectory(env), `rest-${port}.token`);
}

/** The port of an http:// URL, 80 when it names none. */
export function portOf(url: string): number {
  const { port } = new URL(url);
  return port === '' ? 80 : Number(port);
}

/** Why a directory must not hold the token file, or undefined when it may. */
function unsafeDirectory(dir: string): string | undefined {
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
 * Creates the directory of `file` (mode 0700) when missing and checks that it is safe to hold a
 * token; throws ConfigurationError (exit 1, before anything runs) naming the problem.
 */
export function prepareTokenDirectory(file: string): void {
  const dir = dirname(file);
  try {
    ensureDirectorySync(dir, 'REST token directory', 0o700);
    const problem = unsafeDirectory(dir);
    if (problem === undefined) return;
    throw new ConfigurationError(`refusing to keep the REST token in ${dir}: ${problem}. Choose another place with --rest-token-file PATH or ${STATE_DIR_ENV_VAR}=DIR`);
  } catch (err) {
    if (err instanceof ConfigurationError) throw err;
    const why = err instanceof StorageDirectoryError ? err.reason : describeError(err);
    throw new ConfigurationError(`cannot keep the REST token in ${dir} (${why}); choose another place with --rest-token-file PATH or ${STATE_DIR_ENV_VAR}=DIR`, { cause: err });
  }
}

/** Writes `token` to `file` (mode 0600) atomically, after checking its directory again. */
export function writeTokenFile(file: string, token: string): void {
  prepareTokenDirectory(file);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw new SluiceError('REST_TOKEN_FILE', `cannot write the REST token to ${file}: ${describeError(err)}`, { cause: err });
  }
}

/** Removes `file` if it still holds `token` (another run may have taken the file over since). */
export function removeTokenFile(file: string, token: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === token) unlinkSync(file);
  } catch {
    // gone already, or not ours to remove
  }
}

/** A token for the client commands and where it came from, for error messages. */
export interface ClientToken {
  token: string;
  source: string;
}

/** The token cannot be found: names every place that was tried. */
export class RestTokenMissingError extends SluiceError {
  constructor(message: string) {
    super('REST_TOKEN_MISSING', message);
    this.name = 'RestTokenMissingError';
  }
}

/**
 * The token for the REST API at `address`: from `tokenFile` (--token-file), else
 * $SLUICE_REST_TOKEN, else the default file for the address's port.
 */
export function findClientToken(address: string, tokenFile: string | undefined, env: Env, cwd: string): ClientToken {
  if (tokenFile !== undefined) return readTokenFile(address, resolve(cwd, tokenFile), '');
  const fromEnv = env[TOKEN_ENV_VAR]?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, source: `$${TOKEN_ENV_VAR}` };
  return readTokenFile(address, defaultTokenFile(env, portOf(address)), `${TOKEN_ENV_VAR} is not set and `);
}

function readTokenFile(address: string, file: string, tried: string): ClientToken {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${describeError(err)})`;
    throw new RestTokenMissingError(
      `no REST token for ${address}: ${tried}${file} ${why}. A cluster ('sluice cluster start') and 'sluice run' keep their token in that file and print it at start; ` +
        `pass --token-file PATH or set ${TOKEN_ENV_VAR}`,
    );
  }
  if (text === '') throw new RestTokenMissingError(`no REST token for ${address}: ${file} is empty; pass --token-file PATH or set ${TOKEN_ENV_VAR}`);
  return { token: text, source: file };
}
