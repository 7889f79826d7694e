/**
 * The attached half of `sluice submit`: polls `GET /jobs/:id` about once a second, prints each
 * change of the job's status as a line, keeps the live status line on a terminal, and ends with
 * the job's summary and exit code. A lost connection is retried for a while (the cluster's REST
 * endpoint may be restarting); `detach` (Ctrl-C) ends the following and leaves the job running.
 */
import { SluiceError } from '@sluice/common';
import type { JobDetailsResponse } from '@sluice/jobmanager';
import { TERMINAL_JOB_STATUSES, type JobGraph } from '@sluice/protocol';
import type { EngineRunResult } from './engine.js';
import { formatFollowLine, phaseOf, ratesBetween, recordCounts, restartsOf, type Reading } from './follow-status.js';
import { RestClientError, type RestClient } from './rest-client.js';
import type { StatusTerminal } from './status-line.js';
import { formatDuration, summarizeResult } from './summary.js';

export const EXIT_FINISHED = 0;
export const EXIT_JOB_FAILED = 1;
/** As `sluice run` exits for a cancelled job; also a detach with Ctrl-C. */
export const EXIT_CANCELED = 130;

export interface FollowOptions {
  client: RestClient;
  jobId: string;
  /** The graph built on this side: which vertices are sources and sinks. */
  graph: JobGraph;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Where the live line goes; undefined: none (not a terminal, or --quiet). */
  terminal: StatusTerminal | undefined;
  now(): number;
  /** Aborted on Ctrl-C: stop following, leave the job running. */
  detach: AbortSignal;
  /** What to say on detaching: how to cancel the job. */
  detachHint: string;
  pollIntervalMs: number;
  /** How long polls may fail with a lost connection before following gives up. */
  lostContactTimeoutMs: number;
  verbose: boolean;
}

const DETACHED = Symbol('detached');

export async function followJob(o: FollowOptions): Promise<number> {
  const startedAt = o.now();
  let previous: Reading | undefined;
  let lastStatus: string | undefined;
  let lostSince: number | undefined;
  for (;;) {
    const answer = await untilDetached(o.client.jobDetails(o.jobId), o.detach).catch((err: unknown) => err);
    if (answer === DETACHED) return detached(o);
    if (answer instanceof Error) {
      const transient = answer instanceof RestClientError && (answer.retriable || answer.code === 'REST_TIMEOUT');
      if (!transient) throw answer;
      const now = o.now();
      if (lostSince === undefined) {
        lostSince = now;
        const why = answer.code === 'REST_TIMEOUT' ? 'no answer' : answer.code === 'REST_UNREACHABLE' ? 'no connection' : 'connection lost';
        o.stderr(`sluice: warning: lost contact with ${o.client.address} (${why}); trying again for ${formatDuration(o.lostContactTimeoutMs)}\n`);
      } else if (now - lostSince >= o.lostContactTimeoutMs) {
        o.terminal?.clear();
        throw new SluiceError('REST_UNREACHABLE', `lost contact with the cluster at ${o.client.address} for ${formatDuration(now - lostSince)} while following job ${o.jobId}; the job may still be running: check with 'sluice info ${o.jobId}' once the cluster answers again`, { cause: answer });
      }
      if ((await sleep(o.pollIntervalMs, o.detach)) === DETACHED) return detached(o);
      continue;
    }
    const details = answer as JobDetailsResponse;
    if (lostSince !== undefined) o.stderr(`Contact with ${o.client.address} is back\n`);
    lostSince = undefined;
    const at = o.now();
    const reading: Reading = { at, counts: recordCounts(o.graph, details) };
    const rates = ratesBetween(previous, reading);
    previous = reading;
    if (details.status !== lastStatus) {
      lastStatus = details.status;
      const phase = phaseOf(details);
      o.stderr(`Job ${o.jobId} is ${details.status}${phase === undefined ? '' : ` (${phase})`} after ${formatDuration(at - startedAt)}\n`);
    }
    if (TERMINAL_JOB_STATUSES.has(details.status)) {
      o.terminal?.clear();
      return ended(o, details);
    }
    o.terminal?.draw(formatFollowLine(details, at - startedAt, rates, o.terminal.columns()));
    if ((await sleep(o.pollIntervalMs, o.detach)) === DETACHED) return detached(o);
  }
}

function detached(o: FollowOptions): number {
  o.terminal?.clear();
  o.stderr(`Detached from job ${o.jobId}; it keeps running on the cluster. ${o.detachHint}\n`);
  return EXIT_CANCELED;
}

/** The summary line `sluice run` prints, from the REST view of the ended job. */
function ended(o: FollowOptions, details: JobDetailsResponse): number {
  const r = details.result;
  const status = r?.status ?? (details.status as EngineRunResult['status']);
  const result: EngineRunResult = {
    jobId: details.jobId,
    jobName: details.jobName,
    status,
    durationMs: r?.durationMs ?? (details.endTime ?? details.startTime) - details.startTime,
    collected: {},
    operators: r?.operators ?? [],
    sourceNodeIds: o.graph.vertices.filter((v) => v.isSource).map((v) => v.operators[0]!.nodeId),
  };
  const restarts = restartsOf(details);
  if (restarts !== undefined) result.restarts = restarts;
  if (r?.checkpoints !== undefined) result.checkpoints = r.checkpoints;
  switch (status) {
    case 'FINISHED':
      o.stdout(`${summarizeResult(result)}\n`);
      return EXIT_FINISHED;
    case 'CANCELED':
      o.stderr(`${summarizeResult(result)}\n`);
      return EXIT_CANCELED;
    case 'FAILED':
      break;
  }
  const why = r?.error?.message ?? details.exceptions?.at(-1)?.message ?? 'no error was reported';
  o.stderr(`sluice: error: job '${details.jobName}' failed after ${formatDuration(result.durationMs)}: ${why}\n`);
  if (o.verbose && details.exceptions !== undefined) {
    for (const e of details.exceptions) o.stderr(`  ${new Date(e.timestamp).toISOString()} ${e.code === undefined ? '' : `${e.code}: `}${e.message}\n`);
  }
  return EXIT_JOB_FAILED;
}

function untilDetached<T>(work: Promise<T>, detach: AbortSignal): Promise<T | typeof DETACHED> {
  if (detach.aborted) return Promise.resolve(DETACHED);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(DETACHED);
    detach.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        detach.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        detach.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function sleep(ms: number, detach: AbortSignal): Promise<typeof DETACHED | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return untilDetached(slept, detach).finally(() => clearTimeout(timer));
}
