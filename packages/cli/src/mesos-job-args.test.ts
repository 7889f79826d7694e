import { describe, expect, it } from 'vitest';
import { UsageError } from './arg-parsing.js';
import { parseCommandLine } from './args.js';
import { COMMAND_HELP, TOP_LEVEL_HELP } from './usage.js';

const job = (...args: string[]) => parseCommandLine(['mesos-job', ...args]);
const refusal = (...args: string[]): string => {
  try {
    job(...args);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/\. Run 'sluice mesos-job --help'$/);
    return (err as Error).message.replace(/\. Run 'sluice mesos-job --help'$/, '');
  }
  throw new Error(`accepted: ${args.join(' ')}`);
};

describe('sluice mesos-job: flags', () => {
  it("has per-job defaults: free ports, elastic TaskManagers, mesos-session's Mesos defaults but a short failover timeout and no name yet (the job's)", () => {
    const session = parseCommandLine(['mesos-session', '--master', '10.0.0.5:5050']);
    if (session.kind !== 'mesos-session') throw new Error(`parsed as ${session.kind}`);
    const { frameworkName: _fromTheJob, ...mesos } = session.options.mesos;
    expect(job('job.ts', '--master', '10.0.0.5:5050')).toEqual({
      kind: 'mesos-job',
      options: {
        jobFile: 'job.ts',
        params: {},
        verbose: false,
        quiet: false,
        cluster: { taskManagers: 0, slots: 1, rpcPort: 0, restPort: 0, detach: false, quiet: false },
        mesos: { ...mesos, failoverTimeoutSeconds: 900 },
      },
    });
  });

  it("takes submit's job flags, cluster start's cluster flags and mesos-session's Mesos flags together", () => {
    const c = job(
      '--master', 'zk://zk1:2181/mesos', 'jobs/fraud.ts', '-p', '4', '-D', 'topic=tx', '-D', 'topic=payments', '--checkpoint-interval', '1s',
      '--restart-strategy', 'fixed-delay:attempts=3,delay=2s', '--from-savepoint', 'sp/1', '--allow-non-restored-state', '--verbose', '-q',
      '--cluster-dir', 'state', '--slots', '2', '--max-taskmanagers', '3', '--rpc-port', '6124', '--rest-port', '8082', '--bind-host', '0.0.0.0',
      '--advertised-host', 'sched.example', '--framework-name', 'fraud', '--failover-timeout', '3600', '--mesos-role', 'streaming',
      '--constraints', '[["hostname","UNIQUE"]]', '--tm-cpus', '2', '--tm-memory', '4096',
    );
    expect(c).toMatchObject({
      kind: 'mesos-job',
      options: {
        jobFile: 'jobs/fraud.ts',
        parallelism: 4,
        params: { topic: 'payments' },
        checkpointIntervalMs: 1000,
        restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 2000 },
        fromSavepoint: 'sp/1',
        allowNonRestoredState: true,
        verbose: true,
        quiet: true,
        cluster: { clusterDir: 'state', slots: 2, maxTaskManagers: 3, rpcPort: 6124, restPort: 8082, bindHost: '0.0.0.0', advertisedHost: 'sched.example', quiet: true },
        mesos: {
          master: 'zk://zk1:2181/mesos',
          frameworkName: 'fraud',
          failoverTimeoutSeconds: 3600,
          roles: ['streaming'],
          constraints: [{ field: 'hostname', operator: 'UNIQUE' }],
          taskManager: { cpus: 2, memMb: 4096 },
        },
      },
    });
  });

  it.each([
    [['job.ts'], /^--master is required: the Mesos master/],
    [['--master', 'm:5050'], /^missing job file: sluice mesos-job <job\.ts\|job\.js>$/],
    [['job.ts', 'other.ts', '--master', 'm:5050'], /^unexpected argument 'other\.ts'$/],
    [['job.ts', '--master', 'm:5050', '--detach'], /^--detach is not supported by mesos-job: .*Ctrl-C.*'sluice submit --detached'/],
    [['job.ts', '--master', 'm:5050', '-d'], /^--detach is not supported by mesos-job/],
    [['job.ts', '--master', 'm:5050', '--detached'], /^--detached is not supported by mesos-job/],
    [['job.ts', '--master', 'm:5050', '--high-availability', 'zookeeper'], /^--high-availability is not supported by mesos-job: .*mesos-session --high-availability zookeeper/],
    [['job.ts', '--master', 'm:5050', '--ha-quorum', 'zk:2181'], /^--ha-quorum is not supported by mesos-job/],
    [['job.ts', '--master', 'm:5050', '--ha-storage-dir', 'ha'], /^--ha-storage-dir is not supported by mesos-job/],
    [['job.ts', '--master', 'm:5050', '-p', '0'], /^invalid value '0' for -p\/--parallelism: expected a positive integer$/],
    [['job.ts', '--master', 'm:5050', '-D', 'novalue'], /^invalid value 'novalue' for -D: expected key=value$/],
    [['job.ts', '--master', 'm:5050', '--allow-non-restored-state'], /^--allow-non-restored-state only applies with --from-savepoint/],
    [['job.ts', '--master', 'm:5050', '--rest-port', '70000'], /^invalid value '70000' for --rest-port: expected a port number/],
    [['job.ts', '--master', 'm:5050', '--slots', '0'], /^invalid value '0' for --slots: expected an integer ≥ 1$/],
    [['job.ts', '--master', 'm:5050', '--tm-cpus', '0'], /^invalid value '0' for --tm-cpus: expected a number > 0$/],
    [['job.ts', '--master', 'm:5050', '--failover-timeout', 'soon'], /^invalid value 'soon' for --failover-timeout/],
    [['job.ts', '--master', 'm:5050', '--framework-name', ' '], /^invalid value '' for --framework-name: expected a name$/],
    [['job.ts', '--master', 'm:5050', '--tls-cert-file', 'c.pem'], /^TLS needs all of --tls-cert-file, --tls-key-file and --tls-ca-file$/],
    [['job.ts', '--master', 'm:5050', '--address', 'http://x'], /^unknown option '--address'$/],
  ])('refuses %j: %s', (args, message) => {
    expect(refusal(...args)).toMatch(message);
  });

  it('answers --help and `help mesos-job` with its help, and is listed among the commands', () => {
    expect(job('--help')).toEqual({ kind: 'help', text: COMMAND_HELP['mesos-job'] });
    expect(parseCommandLine(['help', 'mesos-job'])).toEqual({ kind: 'help', text: COMMAND_HELP['mesos-job'] });
    expect(TOP_LEVEL_HELP).toMatch(/^ {2}mesos-job <job> +Run one job on Apache Mesos/m);
    expect(COMMAND_HELP['mesos-job']).toContain('--master <where>');
  });
});
