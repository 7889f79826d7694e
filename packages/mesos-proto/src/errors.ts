import { SluiceError } from '@sluice/common';

/**
 * A Mesos message that could not be encoded (the caller's object does not fit the schema) or
 * decoded (the bytes or JSON from the other side do not). Names the message type, the field
 * path inside the top-level message and the encoding. Never retriable: the same input fails
 * the same way.
 */
export class MesosCodecError extends SluiceError {
  /** Full name of the top-level message, e.g. `mesos.v1.scheduler.Call`. */
  readonly messageType: string;
  /** Path of the offending field from the top level, e.g. `subscribe.framework_info.user`; '' for the top level. */
  readonly path: string;

  constructor(code: 'MESOS_ENCODE' | 'MESOS_DECODE', messageType: string, encoding: string, path: string, problem: string, options: { cause?: unknown } = {}) {
    const verb = code === 'MESOS_ENCODE' ? 'encode' : 'decode';
    const where = path === '' ? '' : ` (at ${path})`;
    super(code, `cannot ${verb} ${messageType} as ${encoding}: ${problem}${where}`, options);
    this.name = 'MesosCodecError';
    this.messageType = messageType;
    this.path = path;
  }
}

/**
 * A RecordIO stream that cannot be read further: a length line that is not a decimal byte count,
 * a record over the size limit, or a stream that ended inside a record. The reader that threw it
 * stays unusable; the connection should be dropped and re-established.
 */
export class RecordIOError extends SluiceError {
  constructor(code: 'RECORDIO_INVALID' | 'RECORDIO_TOO_LARGE' | 'RECORDIO_TRUNCATED', message: string) {
    super(code, message);
    this.name = 'RecordIOError';
  }
}
