/**
 * The REST API's bearer token on disk. `sluice run` writes the token its REST server generated to
 * a file only the user can read, `<state dir>/rest-<port>.token` unless `--rest-token-file` says
 * otherwise, and removes it when the run ends; savepoint, stop and cancel read it from there.
 * The state dir is $SLUICE_HOME, else ~/.sluice.
 *
 * The file is private (see @sluice/common's private-file.ts): written atomically with mode 0600
 * into a directory that must be ours and writable by nobody else.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError, describeError, preparePrivateDirectory, SluiceError, writePrivateFile } from '@sluice/common';

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

const TOKEN_ADVICE = `choose another place with --rest-token-file PATH or ${STATE_DIR_ENV_VAR}=DIR`;

/**
 * Creates the directory of `file` (mode 0700) when missing and checks that it is safe to hold a
 * token; throws ConfigurationError (exit 1, before anything runs) naming the problem.
 */
export function prepareTokenDirectory(file: string): void {
  preparePrivateDirectory(dirname(file), 'the REST token', TOKEN_ADVICE);
}

/** Writes `token` to `file` (mode 0600) atomically, after checking its directory again. */
export function writeTokenFile(file: string, token: string): void {
  prepareTokenDirectory(file);
  try {
    writePrivateFile(file, `${token}\n`, 'the REST token');
  } catch (err) {
    throw new SluiceError('REST_TOKEN_FILE', describeError(err), { cause: err });
  }
}

/**
 * The REST token a cluster is told to use (`--rest-token-from`, e.g. a DC/OS secret mounted as a
 * file): the whole file, one trailing newline dropped, held to the rule for the tokens a cluster
 * makes itself. Throws ConfigurationError (nothing has started yet) naming the file.
 */
export function readTokenSource(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigurationError(`--rest-token-from ${file} cannot be read (${describeError(err)})`, { cause: err });
  }
  const token = text.replace(/\r?\n$/, '');
  if (!/^[A-Za-z0-9._~+/-]{32,512}=*$/.test(token)) {
    throw new ConfigurationError(
      `--rest-token-from ${file} does not hold a usable REST token: it must be 32 to 512 characters of A-Z, a-z, 0-9 and -._~+/ (e.g. the output of 'openssl rand -base64 32' or 'head -c 32 /dev/urandom | base64')`,
    );
  }
  return token;
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
