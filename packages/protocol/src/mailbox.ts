/**
 * One serial mailbox per component: every state change runs here, one at a time, so a
 * component's fields never interleave at `await` points (Flink's "main thread" rule).
 */
export class Mailbox {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `action` after everything enqueued before it has finished; returns its result. */
  run<T>(action: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(action, action);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
