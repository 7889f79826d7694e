/**
 * A task's control block: a small SharedArrayBuffer of Int32 words shared by the TaskManager's
 * main thread and every thread that talks to the task.
 *
 *   [0] doorbell  incremented (and notified) whenever something the task waits for happened:
 *                 a buffer arrived on one of its input channels, a buffer was released on one of
 *                 its output channels, or it was cancelled. One word for everything, so a task
 *                 sleeps on one address whatever it waits for.
 *   [1] cancel    1 once the task must stop.
 *   [2] checkpoint  the latest checkpoint id a source task is asked to take (0: none yet).
 *   [3] stop      with that checkpoint, the source stops: 1 = stop, 2 = stop and drain (final watermark first).
 *
 * The doorbell is a counter rather than a flag so that a waiter can read it, check its
 * condition, and then wait "unless it changed" — a ring between the check and the wait is
 * never lost.
 */
import { CancellationError } from '@sluice/common';
import type { StopMode } from '@sluice/protocol';

export const CONTROL_DOORBELL = 0;
export const CONTROL_CANCEL = 1;
export const CONTROL_CHECKPOINT = 2;
export const CONTROL_STOP = 3;

/** Words in a control block; the rest are reserved (e.g. pause requests, checkpoint triggers). */
export const CONTROL_WORDS = 16;

export function createTaskControlBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT);
}

/** Rings a control block's doorbell: wakes a task blocked on it, sync or async. */
export function ringDoorbell(words: Int32Array): void {
  Atomics.add(words, CONTROL_DOORBELL, 1);
  Atomics.notify(words, CONTROL_DOORBELL);
}

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
// Atomics.waitAsync is in Node ≥ 16 but only in TypeScript's ES2024 lib.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t?: number): WaitAsyncResult }).waitAsync;

/**
 * Resolves when a control block's doorbell differs from `seen` (or after `timeoutMs`), without
 * blocking the thread and without holding the event loop open: for a thread that something
 * else keeps alive (a TaskManager's main thread, with its sockets).
 */
export function doorbellChange(words: Int32Array, seen: number, timeoutMs = Infinity): Promise<unknown> | undefined {
  const r = waitAsync(words, CONTROL_DOORBELL, seen, timeoutMs);
  return r.async ? r.value : undefined;
}

export class TaskControl {
  readonly words: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    if (buffer.byteLength < CONTROL_WORDS * 4) {
      throw new RangeError(`task control block has ${buffer.byteLength} bytes; expected ${CONTROL_WORDS * 4} (use createTaskControlBuffer())`);
    }
    this.words = new Int32Array(buffer, 0, CONTROL_WORDS);
  }

  /** The doorbell counter now; pass it to a wait to sleep only if nothing rang since. */
  doorbell(): number {
    return Atomics.load(this.words, CONTROL_DOORBELL);
  }

  ring(): void {
    ringDoorbell(this.words);
  }

  cancelled(): boolean {
    return Atomics.load(this.words, CONTROL_CANCEL) !== 0;
  }

  /** Marks the task cancelled and wakes it wherever it waits. */
  cancel(): void {
    Atomics.store(this.words, CONTROL_CANCEL, 1);
    ringDoorbell(this.words);
  }

  /** The latest checkpoint a source task was asked to take (0 before any). */
  requestedCheckpoint(): number {
    return Atomics.load(this.words, CONTROL_CHECKPOINT);
  }

  /** Asks a source task to take checkpoint `id` (and then to stop, if `stop` says so) and wakes it. */
  requestCheckpoint(id: number, stop?: StopMode): void {
    // The stop word first: a task that sees the new id must also see how to end.
    Atomics.store(this.words, CONTROL_STOP, stop === undefined ? 0 : stop === 'drain' ? 2 : 1);
    Atomics.store(this.words, CONTROL_CHECKPOINT, id);
    ringDoorbell(this.words);
  }

  /** The stop mode that came with the latest checkpoint request. */
  requestedStop(): StopMode | undefined {
    const v = Atomics.load(this.words, CONTROL_STOP);
    return v === 0 ? undefined : v === 2 ? 'drain' : 'terminate';
  }

  throwIfCancelled(what = 'task'): void {
    if (this.cancelled()) throw new CancellationError(`${what} was cancelled`);
  }

  /**
   * Blocks the thread until the doorbell differs from `seen` or `timeoutMs` passes. Only for
   * worker threads that have nothing else to do (a producer stuck on backpressure).
   */
  waitSync(seen: number, timeoutMs: number): void {
    Atomics.wait(this.words, CONTROL_DOORBELL, seen, timeoutMs);
  }

  /**
   * Resolves when the doorbell differs from `seen` or after `timeoutMs`, without blocking the
   * thread's event loop (Atomics.waitAsync).
   */
  waitForSignal(seen: number, timeoutMs: number): Promise<void> {
    const r = waitAsync(this.words, CONTROL_DOORBELL, seen, timeoutMs);
    if (!r.async) return Promise.resolve();
    // A pending waitAsync does not keep Node's event loop alive (a worker awaiting only the
    // doorbell exits with code 13), so hold a timer for as long as the wait lasts.
    const keepAlive = setInterval(noop, KEEP_ALIVE_MS);
    return r.value.then(() => clearInterval(keepAlive));
  }
}

const KEEP_ALIVE_MS = 2 ** 30;

function noop(): void {}
