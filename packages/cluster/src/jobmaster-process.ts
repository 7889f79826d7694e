/**
 * One JobMaster process per job (FLIP-6): the Dispatcher's JobMasterRunnerFactory for a cluster.
 * The runner spawns `jobmaster-main.js`, hands it the job over the IPC channel, and learns the
 * address of its JobMasterGateway from the answer; from then on the Dispatcher talks to the job
 * only over RPC. A JobMaster process that exits on its own is reported as died, with its exit
 * code or signal and last line of output, and the Dispatcher replaces it. One job's user code
 * (its sources' split enumeration runs in the JobMaster) cannot crash or slow another's.
 */
import { describeError, SluiceError, type Logger } from '@sluice/common';
import type { JobMasterRunner, JobMasterRunnerFactory, JobMasterTermination } from '@sluice/jobmanager';
import type { HighAvailabilityOptions, LeaderToken } from '@sluice/ha';
import type { JobSubmission } from '@sluice/protocol';
import { SupervisedChild } from './child.js';

/** What the runner sends the JobMaster process. */
export interface JobMasterStartMessage {
  type: 'start';
  submission: JobSubmission;
  attempt: number;
  /** Full network address of the ResourceManager. */
  resourceManagerAddress: string;
  /** The HA store the JobMaster records checkpoints in, and the leadership term its writes carry. */
  store: JobMasterStore;
}

export interface JobMasterStore {
  ha: HighAvailabilityOptions;
  leaderToken: LeaderToken;
}

export type JobMasterProcessMessage = { type: 'ready'; address: string } | { type: 'failed'; message: string };

export interface ProcessJobMasterOptions {
  /** The JobMaster process's arguments after the Node executable (script first). */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** The ResourceManager's network address (the context's may be a local name). */
  resourceManagerAddress: string;
  store: JobMasterStore;
  /** How long a JobMaster process gets to start and to stop (default 60 s and 15 s). */
  startTimeoutMs?: number;
  stopGraceMs?: number;
  onLine?: (jobId: string, line: string) => void;
  logger: Logger;
}

function isReply(m: unknown): m is JobMasterProcessMessage {
  const t = (m as { type?: unknown } | null)?.type;
  return t === 'ready' || t === 'failed';
}

export function processJobMasterRunner(options: ProcessJobMasterOptions): JobMasterRunnerFactory {
  return (ctx) => {
    const jobId = ctx.submission.jobId;
    let child: SupervisedChild | undefined;
    let address: string | undefined;
    let closing = false;
    let settle!: (t: JobMasterTermination) => void;
    const termination = new Promise<JobMasterTermination>((resolve) => (settle = resolve));
    const runner: JobMasterRunner = {
      get address(): string {
        if (address === undefined) throw new SluiceError('JOB_MASTER_NOT_STARTED', `the JobMaster process of job ${jobId} has not announced its address yet`);
        return address;
      },
      termination,
      async start() {
        const onLine = options.onLine;
        const c = new SupervisedChild({
          name: `jobmaster ${jobId.slice(0, 8)}#${ctx.attempt}`,
          args: options.args,
          ...(options.env === undefined ? {} : { env: options.env }),
          ...(onLine === undefined ? {} : { onLine: (line: string) => onLine(jobId, line) }),
        });
        child = c;
        void c.exited.then((exit) => settle(closing ? { type: 'closed' } : { type: 'died', reason: `JobMaster process ${exit.cause}` }));
        const reply = c.waitForMessage((m) => (isReply(m) ? m : undefined));
        c.send({ type: 'start', submission: ctx.submission, attempt: ctx.attempt, resourceManagerAddress: options.resourceManagerAddress, store: options.store } satisfies JobMasterStartMessage);
        let timer: NodeJS.Timeout | undefined;
        const timeoutMs = options.startTimeoutMs ?? 60_000;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new SluiceError('JOB_MASTER_START_TIMEOUT', `the JobMaster process of job ${jobId} did not start within ${timeoutMs} ms`)), timeoutMs);
        });
        try {
          const answer = await Promise.race([reply, timeout]);
          if (answer.type === 'failed') throw new SluiceError('JOB_MASTER_START_FAILED', `the JobMaster process of job ${jobId} could not start: ${answer.message}`);
          address = answer.address;
          options.logger.info('JobMaster process started', { jobId, attempt: ctx.attempt, pid: c.pid ?? -1, address });
        } catch (err) {
          await c.stop(options.stopGraceMs ?? 15_000);
          throw err instanceof SluiceError ? err : new SluiceError('JOB_MASTER_START_FAILED', describeError(err), { cause: err });
        } finally {
          clearTimeout(timer);
        }
      },
      async close() {
        closing = true;
        if (child === undefined) {
          settle({ type: 'closed' });
          return;
        }
        child.send({ type: 'stop' });
        await child.stop(options.stopGraceMs ?? 15_000);
      },
    };
    return runner;
  };
}
