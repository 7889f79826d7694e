/**
 * What `sluice run` does around its REST API besides serving it: the security options it hands
 * the server (allowed host names, savepoint roots, where the 401 message points) and the token
 * file's life — its directory checked before the job starts, the file written once the port is
 * known and announced on stderr, removed when the run ends.
 */
import { resolve } from 'node:path';
import type { RestSecurityOptions } from '@sluice/jobmanager';
import type { RunCommandOptions } from './args.js';
import { defaultTokenFile, portOf, prepareTokenDirectory, removeTokenFile, TOKEN_ENV_VAR, writeTokenFile } from './rest-token.js';

export interface RunRest {
  /** For EngineRunOptions.rest. */
  readonly options: RestSecurityOptions;
  /** Creates and checks the token file's directory; throws ConfigurationError when it is unsafe. */
  prepare(): void;
  /** Writes the token file for the API at `restUrl`; returns the line to print on stderr. */
  publish(restUrl: string, token: string): string;
  /** Removes the token file if this run wrote it. Idempotent. */
  cleanUp(): void;
}

export function runRest(run: RunCommandOptions, env: Readonly<Record<string, string | undefined>>, cwd: string): RunRest {
  const explicit = run.restTokenFile === undefined ? undefined : resolve(cwd, run.restTokenFile);
  const fileFor = (port: number): string => explicit ?? defaultTokenFile(env, port);
  let written: { file: string; token: string } | undefined;
  const options: RestSecurityOptions = {
    tokenHint: (port) =>
      `'sluice run' printed the token when it started and keeps it in ${fileFor(port)}; savepoint, stop and cancel send it by themselves, ` +
      `read from --rest-token-file PATH, else $${TOKEN_ENV_VAR}, else ${defaultTokenFile(env, port)}`,
  };
  if (run.restAllowedHosts !== undefined) options.allowedHosts = run.restAllowedHosts;
  if (run.savepointRoots !== undefined) options.savepointRoots = run.savepointRoots.map((r) => resolve(cwd, r));
  return {
    options,
    prepare: () => prepareTokenDirectory(fileFor(run.restPort)),
    publish(restUrl, token) {
      const file = fileFor(portOf(restUrl));
      writeTokenFile(file, token);
      written = { file, token };
      return `REST API token (savepoint, stop and cancel need it): ${token}; kept in ${file} until the run ends\n`;
    },
    cleanUp() {
      if (written !== undefined) removeTokenFile(written.file, written.token);
      written = undefined;
    },
  };
}
