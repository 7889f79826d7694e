/**
 * The errors of the high-availability services, one class per code of services.ts, so callers
 * decide by `code` (hasErrorCode) and a message always names the record and what to do.
 */
import { SluiceError } from '@sluice/common';
import { HA_FENCED, HA_STORE_CORRUPT, HA_UNAVAILABLE, type LeaderToken } from './services.js';

/** A write refused because the leadership term of its token is over; nothing was changed. */
export class FencedError extends SluiceError {
  constructor(
    readonly token: LeaderToken,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(HA_FENCED, message, options);
    this.name = 'FencedError';
  }
}

/** A record in the store that cannot be read: `where` is the file or znode, `jobId` its job (or worker). */
export class StoreCorruptError extends SluiceError {
  constructor(
    readonly where: string,
    readonly jobId: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(HA_STORE_CORRUPT, message, options);
    this.name = 'StoreCorruptError';
  }
}

/** The store cannot be reached now; the same call may succeed later. */
export class StoreUnavailableError extends SluiceError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(HA_UNAVAILABLE, message, { ...options, retriable: true });
    this.name = 'StoreUnavailableError';
  }
}
