/**
 * One error hierarchy for all of Sluice. Every error carries a stable `code` (for programs and
 * tests), a `retriable` flag (may the same action succeed later?) and an optional `cause`.
 * Messages say what failed, with which input, and what to do about it.
 */
export class SluiceError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad user input: flags, job files, options, REST bodies. Never retriable. */
export class ConfigurationError extends SluiceError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CONFIGURATION', message, options);
    this.name = 'ConfigurationError';
  }
}

/** A job definition that cannot be turned into a graph (invalid topology, invalid parallelism). */
export class JobDefinitionError extends SluiceError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('JOB_DEFINITION', message, options);
    this.name = 'JobDefinitionError';
  }
}

/**
 * A user function threw while processing. Names the operator, the subtask and a truncated
 * rendering of the record so the failure can be found without a debugger.
 */
export class UserFunctionError extends SluiceError {
  readonly operator: string;
  readonly subtask: number;
  readonly record: string | undefined;

  constructor(operator: string, subtask: number, record: string | undefined, cause: unknown) {
    const what = record === undefined ? '' : ` while processing record ${record}`;
    super('USER_FUNCTION', `operator '${operator}' (subtask ${subtask}) threw${what}: ${describeError(cause)}`, { cause });
    this.name = 'UserFunctionError';
    this.operator = operator;
    this.subtask = subtask;
    this.record = record;
  }
}

/** The job or task was cancelled on request; not a failure. */
export class CancellationError extends SluiceError {
  constructor(message = 'cancelled') {
    super('CANCELLED', message);
    this.name = 'CancellationError';
  }
}

/** One line for a user: the message of an error or of a thrown non-error value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** Renders a value for an error message, cut to `max` characters. */
export function truncateForMessage(value: unknown, max = 200): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value, bigintSafe) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}…(${text.length - max} more chars)` : text;
}

function bigintSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v;
}

/**
 * Plain-data form of an error, safe to post between threads and processes. What crosses a wire is
 * `{code, message, retriable}`: receivers decide by `code` (see hasErrorCode), never by class.
 */
export interface SerializedError {
  name: string;
  code: string;
  message: string;
  /** May the same action succeed later? Absent in errors serialized before it existed: false. */
  retriable?: boolean;
  stack?: string;
  details?: Record<string, string | number>;
}

/** The stack of `err` followed by those of its causes, so a user's frames survive wrapping. */
function stackWithCauses(err: Error): string | undefined {
  let stack = err.stack;
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    const text = cause instanceof Error ? cause.stack ?? `${cause.name}: ${cause.message}` : describeError(cause);
    stack = `${stack ?? `${err.name}: ${err.message}`}\nCaused by: ${text}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return stack;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof SluiceError) {
    const out: SerializedError = { name: err.name, code: err.code, message: err.message, retriable: err.retriable };
    const stack = stackWithCauses(err);
    if (stack !== undefined) out.stack = stack;
    if (err instanceof UserFunctionError) {
      out.details = { operator: err.operator, subtask: err.subtask };
      if (err.record !== undefined) out.details.record = err.record;
    }
    return out;
  }
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, code: 'INTERNAL', message: err.message, retriable: false };
    const stack = stackWithCauses(err);
    if (stack !== undefined) out.stack = stack;
    return out;
  }
  return { name: 'Error', code: 'INTERNAL', message: describeError(err), retriable: false };
}

/** Rebuilds a SluiceError from its plain-data form (the stack of the origin is kept). */
export function deserializeError(s: SerializedError): SluiceError {
  const e = new SluiceError(s.code, s.message, { retriable: s.retriable === true });
  e.name = s.name;
  if (s.stack !== undefined) e.stack = s.stack;
  return e;
}

/**
 * The stable code of an error, whatever carried it: a SluiceError, an error rebuilt from its
 * serialized form in another process, or the serialized form itself. Undefined for anything else.
 */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether `err` carries one of `codes`. Errors from other components are recognised this way,
 * never with `instanceof`: across a process boundary the class is gone, the code is not.
 */
export function hasErrorCode(err: unknown, ...codes: string[]): boolean {
  const code = errorCode(err);
  return code !== undefined && codes.includes(code);
}

/** Whether `err` says the same action may succeed later (its `retriable` flag, by duck typing). */
export function isRetriableError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true && errorCode(err) !== undefined;
}
