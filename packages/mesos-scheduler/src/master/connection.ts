/**
 * The scheduler's connection to the leading Mesos master (MasterConnection over the v1
 * scheduler HTTP API). One subscription at a time, kept up until close():
 *
 * - SUBSCRIBE is a long-lived POST (http.ts) whose 200 answer is the RecordIO event stream
 *   (event-stream.ts). Its `Mesos-Stream-Id` goes on every other call, never on SUBSCRIBE; calls
 *   travel on their own keep-alive connections and are refused (MESOS_NOT_SUBSCRIBED) unless the
 *   current stream has delivered SUBSCRIBED. `framework_id` is set at the top level exactly when
 *   `framework_info.id` is (both unset for a new framework).
 * - Masters are tried in turn (detector.ts), the last known leader first. A 307 is followed at
 *   once to the host and port of its protocol-relative Location, keeping our scheme and path; a
 *   master seen twice in one chain of redirects is a loop. 503, connection errors and silence
 *   move on to the next master; when all have failed, or one refused (4xx, with a log line
 *   saying what to fix: subscribe-answer.ts), the next round waits an exponential backoff with
 *   jitter (1 s doubling to 15 s by default). The backoff starts over once a subscribed stream
 *   has carried a heartbeat, or the leader changed in ZooKeeper (which drops a stream to
 *   another master at once).
 * - After SUBSCRIBED, a stream silent for heartbeatMissFactor × the announced interval (clamped
 *   to [min, max]HeartbeatTimeoutMs) is dropped. An ERROR event is delivered to onEvent, then the
 *   stream counts as ended (Mesos closes it). Framing errors, the end of the stream and socket
 *   errors drop it too; undecodable records and unknown event types are logged and skipped.
 * - Events reach the driver in stream order through one queue: if onSubscribed returns a
 *   promise (persisting the framework id), later events wait for it; if it rejects, the stream
 *   is dropped and the subscription tried again. onDisconnected follows every onSubscribed
 *   whose stream is lost, but not close(). Exceptions from the handlers are logged, never fatal.
 * - A TEARDOWN the master accepts closes the connection: the stream it ends meanwhile is no
 *   disconnection, and nothing resubscribes (that would register a new framework).
 */
import { describeError, SluiceError, type Logger } from '@sluice/common';
import { encodeSchedulerCall, type FrameworkInfo, type SchedulerCall, type SchedulerEvent } from '@sluice/mesos-proto';
import type { MasterConnection, MasterConnectionEvents } from './types.js';
import { createMasterDetector, type MasterDetector } from './detector.js';
import { MesosNotSubscribedError } from './errors.js';
import { MasterHttp } from './http.js';
import { masterAddress, sameMaster, type MasterEndpoint } from './location.js';
import {
  backoffDelayMs, MASTER_CONNECTION_DEFAULTS, resolveMasterConnectionOptions,
  type MasterConnectionOptions, type MasterConnectionState, type ResolvedMasterConnectionOptions,
} from './options.js';
import type { SubscribeOutcome } from './subscribe-answer.js';
import { startSubscribeAttempt, type SubscribeAttempt } from './subscribe-attempt.js';

/** For the driver's metrics. */
export interface MasterConnectionStats {
  readonly state: MasterConnectionState;
  /** `host:port` of the master subscribed to or being tried. */
  readonly master: string | undefined;
  /** SUBSCRIBED events received; every one after the first is a resubscription. */
  readonly subscriptions: number;
  readonly resubscriptions: number;
  /** Subscribed streams lost (not counting close()). */
  readonly disconnections: number;
  /** Why the last attempt or stream failed. */
  readonly lastError: string | undefined;
}

type QueueItem = { gen: number; kind: 'subscribed' | 'event'; event: SchedulerEvent } | { gen: number; kind: 'end'; reason: string };

export class HttpMasterConnection implements MasterConnection {
  private current: MasterConnectionState = 'idle';
  private readonly o: ResolvedMasterConnectionOptions;
  private readonly log: Logger;
  private readonly http: MasterHttp;
  private readonly detector: MasterDetector;
  private frameworkInfo: (() => FrameworkInfo) | undefined;
  private events: MasterConnectionEvents | undefined;
  private unwatchLeader: (() => void) | undefined;
  /** Bumped whenever an attempt is abandoned: callbacks of older attempts find a stale number and do nothing. */
  private gen = 0;
  private attempt: SubscribeAttempt | undefined;
  private leader: MasterEndpoint | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private queue: QueueItem[] = [];
  private draining = false;
  /** The generation whose onSubscribed promise holds back its later events. */
  private blockedGen: number | undefined;
  private subscriptions = 0;
  private disconnections = 0;
  private lastError: string | undefined;
  /** While a TEARDOWN is under way: the end of its stream, held until the master has answered. */
  private teardown: { ended?: { gen: number; reason: string; level: 'warn' | 'error' } } | undefined;

  constructor(options: MasterConnectionOptions) {
    this.o = resolveMasterConnectionOptions(options);
    this.log = this.o.logger;
    this.http = new MasterHttp(this.o);
    this.detector = createMasterDetector(this.o.location, {
      scheme: this.o.tls === undefined ? 'http' : 'https',
      logger: this.log,
      ...(this.o.zookeeper.sessionTimeoutMs === undefined ? {} : { zookeeperSessionTimeoutMs: this.o.zookeeper.sessionTimeoutMs }),
      ...(this.o.zookeeper.retryInitialMs === undefined ? {} : { zookeeperRetryInitialMs: this.o.zookeeper.retryInitialMs }),
      ...(this.o.zookeeper.retryMaxMs === undefined ? {} : { zookeeperRetryMaxMs: this.o.zookeeper.retryMaxMs }),
    });
  }

  get state(): MasterConnectionState {
    return this.current;
  }

  get stats(): MasterConnectionStats {
    return {
      state: this.current,
      master: this.attempt === undefined ? undefined : masterAddress(this.attempt.master),
      subscriptions: this.subscriptions,
      resubscriptions: Math.max(0, this.subscriptions - 1),
      disconnections: this.disconnections,
      lastError: this.lastError,
    };
  }

  start(frameworkInfo: () => FrameworkInfo, events: MasterConnectionEvents): void {
    if (this.current !== 'idle') throw new SluiceError('MESOS_CONNECTION_STATE', `the Mesos master connection cannot start: it is ${this.current} (start() is called once)`);
    this.frameworkInfo = frameworkInfo;
    this.events = events;
    this.unwatchLeader = this.detector.onLeaderChange((leader) => this.onLeaderChange(leader));
    this.setState('subscribing');
    void this.subscribeRound();
  }

  async call(call: SchedulerCall): Promise<void> {
    const type = call.type ?? 'UNKNOWN';
    if (type === 'SUBSCRIBE') throw new SluiceError('MESOS_CALL_INVALID', 'SUBSCRIBE is sent by the master connection itself (start()), not through call()');
    const a = this.attempt;
    if (this.current !== 'subscribed' || a?.streamId === undefined || a.frameworkId === undefined) throw new MesosNotSubscribedError(type, this.current);
    const full: SchedulerCall = call.framework_id === undefined ? { ...call, framework_id: { value: a.frameworkId } } : call;
    if (type !== 'TEARDOWN') return this.http.call(a.master, type, encodeSchedulerCall(full, this.o.encoding), a.streamId);
    // The master ends the stream of a framework it tears down. That end is no disconnection, and
    // resubscribing would register a new framework: once the master accepted, the connection closes.
    this.teardown = {};
    try {
      await this.http.call(a.master, type, encodeSchedulerCall(full, this.o.encoding), a.streamId);
    } catch (err) {
      const ended = this.teardown.ended;
      this.teardown = undefined;
      if (ended !== undefined) this.streamEnded(ended.gen, ended.reason, ended.level);
      throw err;
    }
    this.teardown = undefined;
    this.log.info(`master ${masterAddress(a.master)} tore framework ${a.frameworkId} down; closing the connection`);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.abandon();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.unwatchLeader?.();
    this.setState('closed');
    await this.detector.close();
    this.http.destroy();
  }

  // --- subscribing -----------------------------------------------------------------------

  private async subscribeRound(): Promise<void> {
    this.retryTimer = undefined;
    const gen = ++this.gen;
    const found = await this.detector.masters();
    if (gen !== this.gen || this.current === 'closed' || found.length === 0) return;
    const leader = this.leader;
    const order = leader === undefined ? found : [leader, ...found.filter((m) => !sameMaster(m, leader))];
    const problems: string[] = [];
    for (const first of order) {
      let master = first;
      const chain = [masterAddress(master)];
      for (;;) {
        const outcome = await this.subscribeOnce(gen, master);
        if (gen !== this.gen) return;
        if (outcome.kind === 'stream') return;
        if (outcome.kind === 'refused') return this.roundFailed(gen, outcome.problem, 'error');
        if (outcome.kind === 'next') {
          problems.push(outcome.problem);
          if (this.leader !== undefined && sameMaster(this.leader, master)) this.leader = undefined;
          break;
        }
        const to = masterAddress(outcome.to);
        if (chain.includes(to) || chain.length > this.o.maxRedirects) {
          return this.roundFailed(gen, `redirect loop among the Mesos masters (${[...chain, to].join(' → ')}): they disagree on the leader; an election may be in progress`, 'warn');
        }
        this.log.info(`Mesos master ${masterAddress(master)} is not the leader; following its redirect to ${to}`);
        chain.push(to);
        this.leader = outcome.to;
        master = outcome.to;
      }
    }
    const problem = problems.length === 1 ? (problems[0] as string) : `no Mesos master accepted SUBSCRIBE: ${problems.join('; ')}`;
    this.roundFailed(gen, problem, 'warn');
  }

  private subscribeCall(): SchedulerCall {
    const info = (this.frameworkInfo as () => FrameworkInfo)();
    // Mesos answers 400 unless the top-level id and framework_info.id agree (both unset when new).
    return { type: 'SUBSCRIBE', ...(info.id === undefined ? {} : { framework_id: info.id }), subscribe: { framework_info: info } };
  }

  /** One SUBSCRIBE to one master; resolves with what its answer means. */
  private subscribeOnce(gen: number, master: MasterEndpoint): Promise<SubscribeOutcome> {
    let body: Buffer;
    try {
      body = encodeSchedulerCall(this.subscribeCall(), this.o.encoding);
    } catch (err) {
      return Promise.resolve({ kind: 'refused', problem: `cannot build SUBSCRIBE from the framework info: ${describeError(err)}` });
    }
    const { attempt, outcome } = startSubscribeAttempt(this.http, this.o, gen, master, body, {
      event: (a, event) => this.onStreamEvent(a, event),
      heartbeat: (a) => {
        // A stream that carries heartbeats after SUBSCRIBED is healthy: the backoff starts over.
        if (a.gen === this.gen && a.frameworkId !== undefined) this.failures = 0;
      },
      failed: (a, reason) => this.enqueue({ gen: a.gen, kind: 'end', reason }),
    });
    this.attempt = attempt;
    return outcome;
  }

  private onStreamEvent(attempt: SubscribeAttempt, event: SchedulerEvent): void {
    const gen = attempt.gen;
    if (gen !== this.gen) return;
    if (event.type === 'SUBSCRIBED') {
      this.enqueue({ gen, kind: 'subscribed', event });
      return;
    }
    this.enqueue({ gen, kind: 'event', event });
    if (event.type === 'ERROR') {
      // Mesos closes the stream after an ERROR; stop reading and end it once the driver has seen it.
      attempt.stream?.stop();
      this.enqueue({ gen, kind: 'end', reason: `master ${masterAddress(attempt.master)} sent ERROR: ${event.error?.message ?? '(no message)'}` });
    }
  }

  // --- delivering events, in order -------------------------------------------------------

  private enqueue(item: QueueItem): void {
    this.queue.push(item);
    this.drain();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && this.blockedGen !== this.gen) {
        const item = this.queue.shift() as QueueItem;
        if (item.gen !== this.gen || this.current === 'closed') continue;
        if (item.kind === 'end') this.streamEnded(item.gen, item.reason);
        else if (item.kind === 'subscribed') this.subscribed(item.gen, item.event);
        else this.deliver(item.event);
      }
    } finally {
      this.draining = false;
    }
  }

  private deliver(event: SchedulerEvent): void {
    try {
      this.events?.onEvent(event);
    } catch (err) {
      this.log.error(`the scheduler's handler of a ${event.type ?? 'Mesos'} event threw: ${describeError(err)}`);
    }
  }

  private subscribed(gen: number, event: SchedulerEvent): void {
    const a = this.attempt;
    const s = event.subscribed;
    if (a === undefined || a.gen !== gen) return;
    if (s === undefined) return this.streamEnded(gen, `master ${masterAddress(a.master)} sent SUBSCRIBED without its payload`);
    a.frameworkId = s.framework_id.value;
    this.leader = a.master;
    this.subscriptions++;
    const announced = s.heartbeat_interval_seconds;
    const interval = announced !== undefined && Number.isFinite(announced) && announced > 0 ? announced : MASTER_CONNECTION_DEFAULTS.defaultHeartbeatIntervalSeconds;
    const factor = this.o.heartbeatMissFactor;
    const limit = Math.min(this.o.maxHeartbeatTimeoutMs, Math.max(this.o.minHeartbeatTimeoutMs, Math.round(interval * 1000 * factor)));
    a.stream?.watchSilence(limit, `${factor} × the heartbeat interval of ${interval} s`);
    this.setState('subscribed');
    const masterHost = masterAddress(a.master);
    const streamId = a.streamId as string;
    this.log.info(`subscribed to Mesos master ${masterHost} as framework ${a.frameworkId} (stream ${streamId}, heartbeat every ${interval} s)`);
    let result: void | Promise<void>;
    try {
      result = this.events?.onSubscribed({ frameworkId: a.frameworkId, heartbeatIntervalSeconds: interval, masterHost, streamId });
    } catch (err) {
      return this.subscriberFailed(gen, a.frameworkId, err);
    }
    if (result instanceof Promise) {
      this.blockedGen = gen;
      const frameworkId = a.frameworkId;
      result.then(
        () => this.unblock(gen),
        (err: unknown) => {
          this.subscriberFailed(gen, frameworkId, err);
          this.unblock(gen);
        },
      );
    }
  }

  private unblock(gen: number): void {
    if (this.blockedGen === gen) this.blockedGen = undefined;
    this.drain();
  }

  private subscriberFailed(gen: number, frameworkId: string, err: unknown): void {
    if (gen !== this.gen) return;
    this.queue = [];
    this.streamEnded(gen, `the scheduler could not take the subscription as framework ${frameworkId}: ${describeError(err)}`, 'error');
  }

  // --- losing a stream ---------------------------------------------------------------------

  private streamEnded(gen: number, reason: string, level: 'warn' | 'error' = 'warn'): void {
    if (gen !== this.gen || this.current === 'closed') return;
    if (this.teardown !== undefined) {
      this.teardown.ended ??= { gen, reason, level };
      return;
    }
    const wasSubscribed = this.current === 'subscribed';
    this.abandon();
    if (wasSubscribed) this.disconnections++;
    this.scheduleRetry(reason, level);
    if (wasSubscribed) this.disconnected(reason);
  }

  private roundFailed(gen: number, problem: string, level: 'warn' | 'error'): void {
    if (gen !== this.gen || this.current === 'closed') return;
    this.abandon();
    this.scheduleRetry(problem, level);
  }

  private scheduleRetry(why: string, level: 'warn' | 'error'): void {
    // One line per failure, even for errors whose text spans lines (OpenSSL's do).
    const problem = why.replace(/\s*\n\s*/g, ' ').trim();
    this.lastError = problem;
    this.failures++;
    const delay = backoffDelayMs(this.failures, this.o);
    this.log[level](`${problem}; subscribing again in ${delay} ms`);
    this.setState('subscribing');
    this.retryTimer = setTimeout(() => void this.subscribeRound(), delay);
  }

  /** ZooKeeper named a new leader: a stream or attempt on another master is dropped, and the backoff starts over. */
  private onLeaderChange(leader: MasterEndpoint | undefined): void {
    if (leader === undefined || this.current === 'closed') return;
    this.leader = leader;
    const a = this.attempt;
    if (a !== undefined && sameMaster(a.master, leader)) return;
    // Neither attempting nor waiting: a round is waiting for the detector, which answers it.
    if (a === undefined && this.retryTimer === undefined) return;
    const wasSubscribed = this.current === 'subscribed';
    const reason = `the leading Mesos master is now ${masterAddress(leader)}`;
    this.log.info(`${reason}; subscribing to it`);
    this.abandon();
    clearTimeout(this.retryTimer);
    this.failures = 0;
    if (wasSubscribed) {
      this.disconnections++;
      this.setState('subscribing');
      this.disconnected(reason);
    }
    void this.subscribeRound();
  }

  private disconnected(reason: string): void {
    try {
      this.events?.onDisconnected(reason);
    } catch (err) {
      this.log.error(`the scheduler's onDisconnected handler threw: ${describeError(err)}`);
    }
  }

  /** Stops the current attempt or stream; everything it still reports is ignored. */
  private abandon(): void {
    this.gen++;
    this.queue = [];
    const a = this.attempt;
    this.attempt = undefined;
    if (a === undefined) return;
    clearTimeout(a.timer);
    a.stream?.stop();
    a.request.destroy();
  }

  private setState(next: MasterConnectionState): void {
    const previous = this.current;
    if (previous === next) return;
    this.current = next;
    try {
      this.o.onStateChange?.(next, previous);
    } catch (err) {
      this.log.error(`the onStateChange hook threw: ${describeError(err)}`);
    }
  }
}

/** The MasterConnection for `options.master`. Throws ConfigurationError for a bad master string or option. */
export function createMasterConnection(options: MasterConnectionOptions): HttpMasterConnection {
  return new HttpMasterConnection(options);
}
