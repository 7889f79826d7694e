/**
 * Errors of the master connection. Callers decide by `code` and `retriable`: a call the master
 * refused with a 4xx will be refused again; a 503, a redirect (leadership moved) or a broken
 * connection may succeed on the next subscription.
 */
import { SluiceError } from '@sluice/common';

/** Longest piece of a master's answer kept in an error message. */
const MAX_BODY_IN_MESSAGE = 500;

/**
 * A scheduler call that did not get a 2xx: `status` and the master's `body` when it answered
 * (MESOS_CALL_REJECTED), or no status when the request failed on the way (MESOS_CALL_FAILED:
 * connection refused or reset, timeout).
 */
export class MesosCallError extends SluiceError {
  readonly callType: string;
  readonly status: number | undefined;
  readonly body: string;

  constructor(callType: string, master: string, status: number | undefined, body: string, options: { cause?: unknown; detail?: string } = {}) {
    const shown = body.length > MAX_BODY_IN_MESSAGE ? `${body.slice(0, MAX_BODY_IN_MESSAGE)}…` : body;
    const message =
      status === undefined
        ? `Mesos ${callType} call to master ${master} failed: ${options.detail ?? 'no answer'}`
        : `Mesos master ${master} answered ${callType} with HTTP ${status}${shown.trim() === '' ? '' : `: ${shown.trim()}`}`;
    super(status === undefined ? 'MESOS_CALL_FAILED' : 'MESOS_CALL_REJECTED', message, {
      retriable: status === undefined || status === 307 || status >= 500,
      cause: options.cause,
    });
    this.name = 'MesosCallError';
    this.callType = callType;
    this.status = status;
    this.body = body;
  }
}

/** A call made while no subscription is up (before SUBSCRIBED, between streams, after close). */
export class MesosNotSubscribedError extends SluiceError {
  readonly callType: string;

  constructor(callType: string, state: string) {
    const what = state === 'closed' ? 'the master connection is closed' : `the scheduler is not subscribed to a Mesos master (state '${state}')`;
    super('MESOS_NOT_SUBSCRIBED', `cannot send ${callType}: ${what}; calls may be sent after onSubscribed`, { retriable: state !== 'closed' });
    this.name = 'MesosNotSubscribedError';
    this.callType = callType;
  }
}
