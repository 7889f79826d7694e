/**
 * How the Dispatcher starts and stops a JobMaster without knowing where it runs (Flink's
 * JobManagerRunner). The Dispatcher talks to a running job only through the JobMasterGateway at
 * the runner's address; the runner itself is just the lifecycle: start, stop, and a promise that
 * settles when the JobMaster stopped — after `close()`, or because its process died. The
 * in-process runner here wraps a JobMaster object; a runner that spawns a JobMaster process plugs
 * in through the same JobMasterRunnerFactory.
 */
import type { Logger } from '@sluice/common';
import type { JobSubmission, RpcService } from '@sluice/protocol';
import { JobMaster, type JobMasterOptions } from '../jobmaster/job-master.js';

export interface JobMasterRunner {
  /** RPC address of the JobMasterGateway, served once `start()` resolved. */
  readonly address: string;
  /** Starts the JobMaster; resolves once its gateway is served (the job's own start goes on). */
  start(): Promise<void>;
  /** Stops the JobMaster (the job is terminal or has been cancelled); resolves when it stopped. */
  close(): Promise<void>;
  /**
   * Settles when the JobMaster stopped serving: `closed` after `close()`, `died` when it ended on
   * its own (its process exited) — the Dispatcher then treats the job's JobMaster as lost.
   */
  readonly termination: Promise<JobMasterTermination>;
}

export type JobMasterTermination = { type: 'closed' } | { type: 'died'; reason: string };

export interface JobMasterContext {
  submission: JobSubmission;
  rpc: RpcService;
  address: string;
  resourceManagerAddress: string;
  /** How many JobMasters the Dispatcher started for this job before (part of the fencing token). */
  attempt: number;
  logger: Logger;
}

export type JobMasterRunnerFactory = (ctx: JobMasterContext) => JobMasterRunner;

/** Options of in-process JobMasters beyond what the context names. */
export type InProcessJobMasterOptions = Omit<JobMasterOptions, keyof JobMasterContext>;

export function inProcessJobMasterRunner(defaults: InProcessJobMasterOptions = {}): JobMasterRunnerFactory {
  return (ctx) => {
    const jobMaster = new JobMaster({ ...defaults, ...ctx });
    let closed!: (t: JobMasterTermination) => void;
    const termination = new Promise<JobMasterTermination>((resolve) => (closed = resolve));
    let closing: Promise<void> | undefined;
    return {
      address: ctx.address,
      termination,
      async start() {
        // The JobMaster serves its gateway before its first await, so a refused address is an
        // already rejected promise and wins the race; anything later in its start ends the job
        // as FAILED (JOB_START_FAILED) on its own, so there is nothing more to wait for.
        await Promise.race([jobMaster.start(), Promise.resolve()]);
      },
      close() {
        closing ??= jobMaster.close().finally(() => closed({ type: 'closed' }));
        return closing;
      },
    };
  };
}
