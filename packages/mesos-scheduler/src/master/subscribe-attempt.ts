/**
 * One SUBSCRIBE sent to one master, and after a 200 its event stream. The attempt resolves with
 * what the answer means (subscribe-answer.ts) and then reports the stream's events and failure
 * to the connection, which owns all state. A master that never answers, or answers 200 but
 * never sends SUBSCRIBED, fails the attempt after `subscribeTimeoutMs`.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { describeError, type Logger } from '@sluice/common';
import { encodingOfMediaType, type SchedulerEvent } from '@sluice/mesos-proto';
import { EventStream } from './event-stream.js';
import { readBody, type MasterHttp } from './http.js';
import { masterAddress, type MasterEndpoint } from './location.js';
import type { ResolvedMasterConnectionOptions } from './options.js';
import { classifySubscribeAnswer, type SubscribeOutcome } from './subscribe-answer.js';

export interface SubscribeAttempt {
  /** The connection's generation this attempt belongs to. */
  readonly gen: number;
  readonly master: MasterEndpoint;
  readonly request: ClientRequest;
  stream: EventStream | undefined;
  streamId: string | undefined;
  /** Set by the connection once SUBSCRIBED has been taken. */
  frameworkId: string | undefined;
  timer: NodeJS.Timeout | undefined;
}

export interface StreamReports {
  event(attempt: SubscribeAttempt, event: SchedulerEvent): void;
  heartbeat(attempt: SubscribeAttempt): void;
  /** The stream is gone; reported once. */
  failed(attempt: SubscribeAttempt, reason: string): void;
}

export function startSubscribeAttempt(
  http: MasterHttp,
  o: ResolvedMasterConnectionOptions,
  gen: number,
  master: MasterEndpoint,
  body: Buffer,
  reports: StreamReports,
): { attempt: SubscribeAttempt; outcome: Promise<SubscribeOutcome> } {
  const at = masterAddress(master);
  const attempt: SubscribeAttempt = { gen, master, request: http.subscribe(master, body), stream: undefined, streamId: undefined, frameworkId: undefined, timer: undefined };
  const req = attempt.request;
  const outcome = new Promise<SubscribeOutcome>((resolve) => {
    let done = false;
    const finish = (result: SubscribeOutcome, keepTimer = false): void => {
      if (done) return;
      done = true;
      if (!keepTimer) clearTimeout(attempt.timer);
      resolve(result);
    };
    attempt.timer = setTimeout(() => {
      const why = `no SUBSCRIBED event from master ${at} within ${o.subscribeTimeoutMs} ms`;
      if (attempt.stream === undefined) {
        finish({ kind: 'next', problem: why });
        req.destroy();
      } else {
        attempt.stream.stop();
        reports.failed(attempt, why);
      }
    }, o.subscribeTimeoutMs);
    const unreachable = (err: unknown): void => {
      if (attempt.stream === undefined) finish({ kind: 'next', problem: `cannot reach Mesos master ${at}: ${describeError(err)}` });
    };
    req.on('error', unreachable);
    req.on('close', () => unreachable(new Error('the connection closed before an answer')));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        readBody(res).then((text) => {
          finish(classifySubscribeAnswer(master, status, text, res.headers.location, { encoding: o.encoding, principal: o.principal }));
          req.destroy();
        }, unreachable);
        return;
      }
      const problem = openStream(attempt, res, o, reports);
      if (problem === undefined) {
        // The timer stays armed until SUBSCRIBED arrives.
        finish({ kind: 'stream' }, true);
      } else {
        finish({ kind: 'refused', problem });
        req.destroy();
      }
    });
  });
  return { attempt, outcome };
}

/** A 200 to SUBSCRIBE: start reading its events. Returns a problem if the answer is not a usable stream. */
function openStream(attempt: SubscribeAttempt, res: IncomingMessage, o: ResolvedMasterConnectionOptions, reports: StreamReports): string | undefined {
  const at = masterAddress(attempt.master);
  const log: Logger = o.logger;
  const streamId = res.headers['mesos-stream-id'];
  if (typeof streamId !== 'string' || streamId === '') {
    return `master ${at} answered SUBSCRIBE without a Mesos-Stream-Id header: is it a Mesos master (1.0 or later)?`;
  }
  const contentType = res.headers['content-type'];
  const encoding = encodingOfMediaType(contentType) ?? o.encoding;
  if (encoding !== o.encoding) log.warn(`master ${at} streams events as ${String(contentType)} although ${o.encoding} was asked for; decoding what it sent`);
  attempt.streamId = streamId;
  attempt.stream = new EventStream(res, () => attempt.request.destroy(), encoding, o.maxRecordBytes, at, log, {
    event: (event) => {
      if (event.type === 'SUBSCRIBED') clearTimeout(attempt.timer);
      reports.event(attempt, event);
    },
    heartbeat: () => reports.heartbeat(attempt),
    failed: (reason) => reports.failed(attempt, reason),
  });
  return undefined;
}
