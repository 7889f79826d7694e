/**
 * One ordered outbox per component for its calls to other components. A component never awaits
 * another inside its mailbox (two components awaiting each other there would deadlock), yet a
 * JobMaster must see RUNNING before FINISHED, and a ResourceManager a registration before the
 * requirements that follow it. So calls are queued here in mailbox order and delivered one after
 * another per peer address:
 * - each attempt has a timeout (RPC_TIMEOUT);
 * - a retriable failure is tried again with exponential backoff, up to a bound; a timed-out call
 *   only when it is idempotent (it may have been delivered);
 * - a call given up on (not retriable, or out of attempts) rejects, is logged, and is reported to
 *   the owner through `onUndeliverable` — the owner decides whether the peer counts as lost;
 * - `discard(address)` drops what is still queued for a peer the owner declared lost;
 * - `close()` refuses new calls and waits for the queued ones.
 * Calls to different peers do not wait for each other.
 */
import { describeError, hasErrorCode, isRetriableError, SluiceError, type Logger } from '@sluice/common';
import { RPC_TIMEOUT, RPC_UNREACHABLE, RpcTimeoutError, type RpcService } from './rpc.js';

export const OUTBOX_CLOSED = 'OUTBOX_CLOSED';
export const PEER_DISCARDED = 'PEER_DISCARDED';

export interface OutboxOptions {
  rpc: RpcService;
  logger: Logger;
  /** Timeout of each attempt of a call, in ms (connect + call). */
  callTimeoutMs?: number;
  /** Attempts per call, including the first. */
  attempts?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** A call was given up on. Not called for calls dropped by `discard` or refused after `close`. */
  onUndeliverable?(failure: UndeliverableCall): void;
}

export interface UndeliverableCall {
  address: string;
  /** What the call was, for logs ("slot report", "RUNNING of e1"). */
  what: string;
  error: unknown;
}

export interface CallOptions {
  timeoutMs?: number;
  /**
   * Whether delivering the call twice is harmless (default true). A non-idempotent call (records
   * a collect sink shipped) is not retried after a timeout, only when it surely was not delivered.
   */
  idempotent?: boolean;
  /**
   * A farewell (a disconnect while shutting down): a peer that has already stopped is the expected
   * case, so failing to reach it is logged at debug level, not as a warning.
   */
  farewell?: boolean;
}

export const DEFAULT_OUTBOX_OPTIONS = Object.freeze({ callTimeoutMs: 10_000, attempts: 4, retryInitialDelayMs: 50, retryMaxDelayMs: 1_000 });

interface Pending {
  readonly what: string;
  readonly attempt: (gateway: object) => Promise<unknown>;
  readonly options: CallOptions;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

interface PeerQueue {
  readonly items: Pending[];
  running: boolean;
}

export class Outbox {
  private readonly peers = new Map<string, PeerQueue>();
  private readonly idle = new Set<() => void>();
  private readonly o: { -readonly [K in keyof typeof DEFAULT_OUTBOX_OPTIONS]: number };
  private closed = false;

  constructor(private readonly options: OutboxOptions) {
    const o: { -readonly [K in keyof typeof DEFAULT_OUTBOX_OPTIONS]: number } = { ...DEFAULT_OUTBOX_OPTIONS };
    for (const k of Object.keys(DEFAULT_OUTBOX_OPTIONS) as (keyof typeof DEFAULT_OUTBOX_OPTIONS)[]) {
      const v = options[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v > 0) || (k === 'attempts' && !Number.isInteger(v))) {
        throw new SluiceError('CONFIGURATION', `outbox option ${k} must be a positive ${k === 'attempts' ? 'integer' : 'number'}, got ${String(v)}`);
      }
      o[k] = v;
    }
    this.o = o;
  }

  /** Queues a call to the gateway at `address`; resolves with its answer once delivered. */
  call<G extends object, T>(address: string, what: string, call: (gateway: G) => Promise<T>, options: CallOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new SluiceError(OUTBOX_CLOSED, `cannot send ${what} to '${address}': the sender is shutting down`));
    return new Promise<T>((resolve, reject) => {
      let q = this.peers.get(address);
      if (q === undefined) {
        q = { items: [], running: false };
        this.peers.set(address, q);
      }
      q.items.push({ what, attempt: (g) => call(g as G), options, resolve: resolve as (v: unknown) => void, reject });
      if (!q.running) void this.pump(address, q);
    });
  }

  /** Like `call`, without an answer: a failure is logged and reported, never thrown back. */
  send<G extends object>(address: string, what: string, call: (gateway: G) => Promise<unknown>, options: CallOptions = {}): void {
    this.call(address, what, call, options).catch(() => undefined);
  }

  /** Rejects everything still queued for `address` (the owner declared the peer lost). */
  discard(address: string, reason: string): void {
    const q = this.peers.get(address);
    if (q === undefined) return;
    for (const p of q.items.splice(0)) p.reject(new SluiceError(PEER_DISCARDED, `${p.what} to '${address}' was dropped: ${reason}`));
  }

  /** Resolves once everything queued so far has been delivered or given up on. */
  drain(): Promise<void> {
    if (this.peers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  /** Refuses new calls; resolves once the queued ones are delivered or given up on. */
  close(): Promise<void> {
    this.closed = true;
    return this.drain();
  }

  private async pump(address: string, q: PeerQueue): Promise<void> {
    q.running = true;
    for (let p = q.items.shift(); p !== undefined; p = q.items.shift()) {
      try {
        p.resolve(await this.deliver(address, p));
      } catch (err) {
        const gone = p.options.farewell === true && hasErrorCode(err, RPC_UNREACHABLE, PEER_DISCARDED);
        (gone ? this.options.logger.debug : this.options.logger.warn).call(this.options.logger, `could not deliver ${p.what} to '${address}'`, { error: describeError(err) });
        try {
          this.options.onUndeliverable?.({ address, what: p.what, error: err });
        } finally {
          p.reject(err);
        }
      }
    }
    q.running = false;
    this.peers.delete(address);
    if (this.peers.size === 0) for (const done of [...this.idle]) (this.idle.delete(done), done());
  }

  private async deliver(address: string, p: Pending): Promise<unknown> {
    const timeoutMs = p.options.timeoutMs ?? this.o.callTimeoutMs;
    let delay = this.o.retryInitialDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attemptOnce(address, p, timeoutMs);
      } catch (err) {
        // A farewell to a peer that is gone is not worth waiting for.
        const gone = p.options.farewell === true && hasErrorCode(err, RPC_UNREACHABLE);
        const retriable = !gone && isRetriableError(err) && (p.options.idempotent !== false || !hasErrorCode(err, RPC_TIMEOUT));
        if (!retriable || attempt >= this.o.attempts) throw err;
        await new Promise((r) => setTimeout(r, Math.min(delay, this.o.retryMaxDelayMs)));
        delay *= 2;
      }
    }
  }

  private attemptOnce(address: string, p: Pending, timeoutMs: number): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RpcTimeoutError(address, p.what, timeoutMs)), timeoutMs);
    });
    const call = this.options.rpc.connect<object>(address).then((g) => p.attempt(g));
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }
}

