/**
 * Kafka failures as Sluice errors. kafkajs reports a refused request as a protocol error type
 * (TOPIC_AUTHORIZATION_FAILED, SASL_AUTHENTICATION_FAILED, …), often wrapped in a retry error
 * and without saying which topic or group was refused; these helpers find the type and turn it
 * into a KafkaConnectorError that names the brokers, the topic or group, and what to fix.
 * Authentication and authorization failures are not retriable: retrying cannot fix an ACL.
 */
import { describeError, SluiceError } from '@sluice/common';

/** Kafka could not be reached or refused a request: names the brokers and what was being done. */
export class KafkaConnectorError extends SluiceError {
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'KafkaConnectorError';
  }
}

export type KafkaRefusal =
  | { kind: 'authorization'; type: string }
  | { kind: 'authentication'; type: string };

const AUTHORIZATION_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);
const AUTHENTICATION_TYPES = new Set(['SASL_AUTHENTICATION_FAILED', 'ILLEGAL_SASL_STATE', 'UNSUPPORTED_SASL_MECHANISM']);

/** The authorization or authentication refusal inside `err` (searched through causes), if any. */
export function kafkaRefusal(err: unknown): KafkaRefusal | undefined {
  return findInChain(err, ({ type, name }) => {
    if (typeof type === 'string' && AUTHORIZATION_TYPES.has(type)) return { kind: 'authorization', type };
    if (typeof type === 'string' && AUTHENTICATION_TYPES.has(type)) return { kind: 'authentication', type };
    if (name === 'KafkaJSSASLAuthenticationError') return { kind: 'authentication', type: 'SASL_AUTHENTICATION_FAILED' };
    return undefined;
  });
}

/**
 * kafkajs turns a FindCoordinator refused with GROUP_AUTHORIZATION_FAILED into "Failed to find
 * group coordinator" and drops the reason; on a cluster with ACLs that is what a principal that
 * may not use the group sees.
 */
function groupCoordinatorNotFound(err: unknown): boolean {
  return findInChain(err, ({ name }) => (name === 'KafkaJSGroupCoordinatorNotFound' ? true : undefined)) === true;
}

interface ErrorFields {
  type?: unknown;
  name?: unknown;
}

/** The first non-undefined `test` result over `err` and its causes (cause, originalError, errors). */
function findInChain<R>(err: unknown, test: (e: ErrorFields) => R | undefined): R | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && seen.size < 20) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const found = test(e as ErrorFields);
    if (found !== undefined) return found;
    const { cause, originalError, errors } = e as { cause?: unknown; originalError?: unknown; errors?: unknown };
    queue.push(cause, originalError);
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]));
  }
  return undefined;
}

/** What the refused client was doing, so the error can say which permission is missing. */
export interface RefusalSubject {
  /** Topics involved, named in the message. */
  topics?: readonly string[];
  /** Consumer group involved (the reader's private group). */
  group?: string;
  /** 'read' for sources (Describe + Read), 'write' for sinks (Describe + Write). */
  access: 'read' | 'write';
}

/**
 * A non-retriable KafkaConnectorError for a refusal (or for a consumer group whose coordinator
 * cannot be found, see groupCoordinatorNotFound), or undefined when `err` is neither.
 */
export function refusalError(err: unknown, what: string, brokers: string, subject: RefusalSubject): KafkaConnectorError | undefined {
  const refusal = kafkaRefusal(err);
  if (refusal === undefined) {
    if (subject.group === undefined || !groupCoordinatorNotFound(err)) return undefined;
    const topics = (subject.topics ?? []).map((t) => `'${t}'`).join(', ');
    return new KafkaConnectorError(
      'KAFKA_GROUP_COORDINATOR_NOT_FOUND',
      `${what} could not find the coordinator of its consumer group '${subject.group}' (bootstrap servers: ${brokers}); on a cluster with ACLs this means the client's principal may not use that group while reading ${topics === '' ? 'its topics' : topics}: grant it Read on the group (e.g. a prefixed ACL on the source's groupIdPrefix)`,
      { retriable: false, cause: err },
    );
  }
  const topics = subject.topics === undefined || subject.topics.length === 0 ? 'the topic' : subject.topics.map((t) => `'${t}'`).join(', ');
  const ops = subject.access === 'read' ? 'Describe and Read' : 'Describe and Write';
  let fix: string;
  if (refusal.kind === 'authentication') {
    fix = 'the brokers rejected the SASL login; check the sasl mechanism, username and password (and that the listener expects SASL)';
  } else if (refusal.type === 'TOPIC_AUTHORIZATION_FAILED') {
    fix = `the client's principal is not allowed to use topic ${topics}; grant it ${ops} on ${subject.topics?.length === 1 ? 'that topic' : 'those topics'} (Kafka ACLs)`;
  } else if (refusal.type === 'GROUP_AUTHORIZATION_FAILED') {
    fix = `the client's principal may not use consumer group ${subject.group === undefined ? '(the reader\'s group)' : `'${subject.group}'`} while reading ${topics}; grant it Read on that group (e.g. a prefixed ACL on the source's groupIdPrefix)`;
  } else {
    fix = `the client's principal lacks a permission (${refusal.type}) needed for ${topics}; check the Kafka ACLs`;
  }
  return new KafkaConnectorError(
    refusal.kind === 'authentication' ? 'KAFKA_AUTHENTICATION_FAILED' : 'KAFKA_NOT_AUTHORIZED',
    `${what} was refused by Kafka (${refusal.type}, bootstrap servers: ${brokers}): ${fix}`,
    { retriable: false, cause: err },
  );
}

/**
 * A produce to a topic the cluster does not have (UNKNOWN_TOPIC_OR_PARTITION, which kafkajs
 * words as "This server does not host this topic-partition"): the sink never creates topics.
 */
export function unknownTopicError(err: unknown, what: string, brokers: string, topics: readonly string[]): KafkaConnectorError | undefined {
  const unknown = findInChain(err, ({ type }) => (type === 'UNKNOWN_TOPIC_OR_PARTITION' ? true : undefined));
  if (unknown !== true) return undefined;
  const named = topics.map((t) => `'${t}'`).join(', ');
  return new KafkaConnectorError(
    'KAFKA_UNKNOWN_TOPIC',
    `${what} failed: Kafka topic ${named} does not exist on ${brokers} (or lacks the partition written to); the sink does not create topics: create ${topics.length > 1 ? 'them' : 'it'} first or fix the name`,
    { retriable: false, cause: err },
  );
}

/** kafkajs wraps the useful reason (ECONNREFUSED, unknown topic) in `cause` / `originalError`. */
export function causeText(err: unknown): string {
  const e = err as { cause?: unknown; originalError?: unknown } | undefined;
  const inner = e?.originalError ?? e?.cause;
  if (inner === undefined || inner === null) return '';
  const text = describeError(inner);
  return text === describeError(err) ? '' : ` (${text})`;
}
