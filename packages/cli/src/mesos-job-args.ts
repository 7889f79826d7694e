/**
 * Flags of `sluice mesos-job`: the job and its configuration as `submit` takes them, the cluster
 * flags of `cluster start` for the job's own entrypoint (free ports by default, no HA, no
 * detaching), and the Mesos flags of `mesos-session`. Pure, like the other parsers.
 */
import { HA_FLAGS } from '@sluice/ha';
import { strictParse, UsageError } from './arg-parsing.js';
import { clusterStartOptions, START_OPTIONS, type ClusterStartOptions } from './cluster-args.js';
import { JOB_OPTIONS, jobOptions, RESTORE_OPTIONS, restoreOptions, type JobCommandOptions, type RestoreOptions } from './job-args.js';
import { refuseJobDefaults } from './job-defaults-args.js';
import { MESOS_OPTIONS, mesosFlags, type MesosFlags } from './mesos-args.js';

/**
 * How long Mesos keeps the TaskManagers of a per-job scheduler that is gone. Short, unlike a
 * session's week: the framework id of a per-job cluster lives in its temporary directory, so
 * usually nothing can take the framework over, and a long timeout would only hold its resources.
 */
export const MESOS_JOB_FAILOVER_TIMEOUT_SECONDS = 900;

export interface MesosJobOptions extends JobCommandOptions, RestoreOptions {
  /** The job's entrypoint; `clusterDir` undefined: a private temporary directory, removed at the end. */
  cluster: ClusterStartOptions;
  /** `frameworkName` undefined: `Sluice job <job name>`, known once the job's graph is built. */
  mesos: Omit<MesosFlags, 'frameworkName'> & { frameworkName?: string };
  /** No upload progress and no live status line; only warnings and errors from the cluster. */
  quiet: boolean;
}

export type MesosJobCommand = { kind: 'mesos-job'; options: MesosJobOptions } | { kind: 'help'; text: string };

const MESOS_JOB_OPTIONS = {
  ...START_OPTIONS,
  ...MESOS_OPTIONS,
  ...JOB_OPTIONS,
  ...RESTORE_OPTIONS,
  // Taken only to say why it is refused (submit spells it --detached).
  detached: { type: 'boolean' },
} as const;

export function parseMesosJob(args: string[], help: string): MesosJobCommand {
  const { values, positionals } = strictParse('mesos-job', args, MESOS_JOB_OPTIONS);
  if (values.help === true) return { kind: 'help', text: help };
  if (values.detach === true || values.detached === true) {
    throw new UsageError(
      `--${values.detach === true ? 'detach' : 'detached'} is not supported by mesos-job: the job's framework lives as long as this process, which cancels the job and removes the framework on Ctrl-C. Run it under a service manager, or start 'sluice mesos-session' and 'sluice submit --detached' to it`,
      'mesos-job',
    );
  }
  const ha = (Object.keys(HA_FLAGS) as (keyof typeof HA_FLAGS)[]).find((k) => values[k] !== undefined);
  if (ha !== undefined || values['ha-storage-dir'] !== undefined) {
    throw new UsageError(`--${ha ?? 'ha-storage-dir'} is not supported by mesos-job: a per-job cluster has one entrypoint; for standby entrypoints run 'sluice mesos-session --high-availability zookeeper' and submit to it`, 'mesos-job');
  }
  refuseJobDefaults(values, 'mesos-job');
  const job = jobOptions('mesos-job', values, positionals);
  const { frameworkName, ...mesos } = mesosFlags(values, 'mesos-job');
  if (values['failover-timeout'] === undefined) mesos.failoverTimeoutSeconds = MESOS_JOB_FAILOVER_TIMEOUT_SECONDS;
  const quiet = values.quiet === true;
  return {
    kind: 'mesos-job',
    options: {
      ...job,
      ...restoreOptions(values, 'mesos-job'),
      cluster: clusterStartOptions(values, 'mesos-job', { taskManagers: 0, rpcPort: 0, restPort: 0 }),
      mesos: values['framework-name'] === undefined ? mesos : { ...mesos, frameworkName },
      quiet,
    },
  };
}
