/**
 * Flags of the commands that talk to a cluster (or a `sluice run`) through its REST API: list,
 * info, savepoint, stop, cancel, taskmanagers and overview. They share `--address` and the token
 * file; the views take `--json`. Pure.
 */
import type { ParseArgsConfig } from 'node:util';
import { noMorePositionals, nonEmpty, strictParse, UsageError } from './arg-parsing.js';
import { COMMAND_HELP, type CommandName } from './usage.js';

/** Where `sluice run` serves its REST API unless told otherwise, and where the client commands look. */
export const DEFAULT_REST_PORT = 8081;
export const DEFAULT_REST_ADDRESS = `http://127.0.0.1:${DEFAULT_REST_PORT}`;
/** Environment variable naming the REST address for the client commands. */
export const ADDRESS_ENV_VAR = 'SLUICE_ADDRESS';
export const DEFAULT_SAVEPOINT_DIRECTORY = 'savepoints';

/** Options of the commands that talk to a cluster or a running job through its REST API. */
export interface ClientCommandOptions {
  /** `--address`, normalised (no trailing slash); undefined: SLUICE_ADDRESS or the default. */
  address?: string;
  /** `--token-file` (or `--rest-token-file`) as given; undefined: SLUICE_REST_TOKEN, else the default file. */
  restTokenFile?: string;
  verbose: boolean;
  /** The views (list, info, taskmanagers, overview): print the API's JSON instead of a table. */
  json?: true;
}

export interface JobIdCommandOptions extends ClientCommandOptions {
  jobId: string;
}

export interface SavepointCommandOptions extends JobIdCommandOptions {
  /** As given; undefined: DEFAULT_SAVEPOINT_DIRECTORY. Resolved against the working directory later. */
  targetDirectory?: string;
}

export interface StopCommandOptions extends JobIdCommandOptions {
  /** As given; resolved against the working directory later. */
  savepointPath: string;
  drain: boolean;
}

export type CancelCommandOptions = JobIdCommandOptions;
export type InfoCommandOptions = JobIdCommandOptions;

export type ClientCommand =
  | { kind: 'savepoint'; options: SavepointCommandOptions }
  | { kind: 'stop'; options: StopCommandOptions }
  | { kind: 'list'; options: ClientCommandOptions }
  | { kind: 'cancel'; options: CancelCommandOptions }
  | { kind: 'info'; options: InfoCommandOptions }
  | { kind: 'taskmanagers'; options: ClientCommandOptions }
  | { kind: 'overview'; options: ClientCommandOptions };

export type ClientCommandName = ClientCommand['kind'];
export const CLIENT_COMMANDS: readonly ClientCommandName[] = ['list', 'info', 'savepoint', 'stop', 'cancel', 'taskmanagers', 'overview'];

/** `--address` and the token file: every command that talks to the REST API takes them. */
export const CONNECTION_OPTIONS = {
  address: { type: 'string' },
  'token-file': { type: 'string' },
  'rest-token-file': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const CLIENT_OPTIONS = {
  ...CONNECTION_OPTIONS,
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const VIEW_OPTIONS = { ...CLIENT_OPTIONS, json: { type: 'boolean' } } as const satisfies ParseArgsConfig['options'];
const SAVEPOINT_OPTIONS = { ...CLIENT_OPTIONS, 'target-directory': { type: 'string' } } as const satisfies ParseArgsConfig['options'];
const STOP_OPTIONS = {
  ...CLIENT_OPTIONS,
  'savepoint-path': { type: 'string' },
  'target-directory': { type: 'string' },
  drain: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

export type ConnectionValues = { address?: string | undefined; 'token-file'?: string | undefined; 'rest-token-file'?: string | undefined };

type Parsed = ClientCommand | { kind: 'help'; text: string };

export function parseClientCommand(name: ClientCommandName, args: string[]): Parsed {
  switch (name) {
    case 'list':
    case 'taskmanagers':
    case 'overview': {
      const { values, positionals } = strictParse(name, args, VIEW_OPTIONS);
      if (values.help === true) return { kind: 'help', text: COMMAND_HELP[name] };
      noMorePositionals(positionals, 0, name);
      return { kind: name, options: clientOptions(name, values) };
    }
    case 'info':
    case 'cancel': {
      const { values, positionals } = strictParse(name, args, name === 'info' ? VIEW_OPTIONS : CLIENT_OPTIONS);
      if (values.help === true) return { kind: 'help', text: COMMAND_HELP[name] };
      noMorePositionals(positionals, 1, name);
      return { kind: name, options: { ...clientOptions(name, values), jobId: parseJobId(positionals[0], `${name} <jobId>`, name) } };
    }
    case 'savepoint':
      return parseSavepoint(args);
    case 'stop':
      return parseStop(args);
  }
}

function parseSavepoint(args: string[]): Parsed {
  const { values, positionals } = strictParse('savepoint', args, SAVEPOINT_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.savepoint };
  const [jobId, positional] = positionals;
  noMorePositionals(positionals, 2, 'savepoint');
  const options: SavepointCommandOptions = { ...clientOptions('savepoint', values), jobId: parseJobId(jobId, 'savepoint <jobId> [targetDirectory]', 'savepoint') };
  const flag = values['target-directory'];
  if (positional !== undefined && flag !== undefined) throw new UsageError('give the target directory once: as the argument after the job id or with --target-directory', 'savepoint');
  const target = flag ?? positional;
  if (target !== undefined) options.targetDirectory = nonEmpty(target, flag === undefined ? 'targetDirectory' : '--target-directory', 'a directory', 'savepoint');
  return { kind: 'savepoint', options };
}

function parseStop(args: string[]): Parsed {
  const { values, positionals } = strictParse('stop', args, STOP_OPTIONS);
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP.stop };
  noMorePositionals(positionals, 1, 'stop');
  const id = parseJobId(positionals[0], 'stop <jobId> --savepoint-path <dir>', 'stop');
  const path = values['savepoint-path'];
  const target = values['target-directory'];
  if (path !== undefined && target !== undefined) throw new UsageError('give the savepoint directory once: --savepoint-path and --target-directory are the same option', 'stop');
  const dir = path ?? target;
  if (dir === undefined) throw new UsageError('missing --savepoint-path <dir>: stop takes a savepoint into that directory before the job ends', 'stop');
  const flag = path === undefined ? '--target-directory' : '--savepoint-path';
  return { kind: 'stop', options: { ...clientOptions('stop', values), jobId: id, savepointPath: nonEmpty(dir, flag, 'a directory', 'stop'), drain: values.drain === true } };
}

function clientOptions(command: CommandName, values: ConnectionValues & { verbose?: boolean | undefined; json?: boolean | undefined }): ClientCommandOptions {
  const options: ClientCommandOptions = { ...connectionOptions(command, values), verbose: values.verbose === true };
  if (values.json === true) options.json = true;
  return options;
}

/** `--address` and `--token-file` / `--rest-token-file` (one of the two). */
export function connectionOptions(command: CommandName, values: ConnectionValues): Pick<ClientCommandOptions, 'address' | 'restTokenFile'> {
  const options: Pick<ClientCommandOptions, 'address' | 'restTokenFile'> = {};
  if (values.address !== undefined) options.address = parseAddress(values.address, '--address', command);
  const short = values['token-file'];
  const long = values['rest-token-file'];
  if (short !== undefined && long !== undefined) throw new UsageError('give the token file once: --token-file and --rest-token-file are the same option', command);
  if (short !== undefined) options.restTokenFile = nonEmpty(short, '--token-file', 'a file path', command);
  if (long !== undefined) options.restTokenFile = nonEmpty(long, '--rest-token-file', 'a file path', command);
  return options;
}

function parseJobId(raw: string | undefined, synopsis: string, command: CommandName): string {
  if (raw === undefined) throw new UsageError(`missing job id: sluice ${synopsis} ('sluice list' shows the ids)`, command);
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(raw)) throw new UsageError(`invalid job id '${raw}': expected letters, digits, '.', '_' or '-' as 'sluice list' shows them`, command);
  return raw;
}

/**
 * A REST address as given by `--address` or SLUICE_ADDRESS: `http://host:port[/prefix]`, or just
 * `host:port`. Returned without a trailing slash.
 */
export function parseAddress(raw: string, source: string, command: CommandName): string {
  const invalid = (why: string): UsageError => new UsageError(`invalid value '${raw}' for ${source}: ${why}`, command);
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`expected a URL like ${DEFAULT_REST_ADDRESS}`);
  }
  if (url.protocol !== 'http:') throw invalid(`expected an http:// URL like ${DEFAULT_REST_ADDRESS} (the REST API speaks plain HTTP)`);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') throw invalid(`expected a URL like ${DEFAULT_REST_ADDRESS}, without query, fragment or credentials`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
