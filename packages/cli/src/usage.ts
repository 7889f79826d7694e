/**
 * Help texts of the `sluice` command, one per command. Kept apart from parsing so the parser
 * stays a pure function over argv and the texts can be read in one place.
 */
import { HA_FLAGS_HELP } from '@sluice/ha';
import { MESOS_OPTIONS_HELP } from './mesos-args.js';

export type CommandName = 'run' | 'plan' | 'submit' | 'list' | 'info' | 'savepoint' | 'stop' | 'cancel' | 'taskmanagers' | 'overview' | 'cluster' | 'mesos-session' | 'mesos-job';

export const TOP_LEVEL_HELP = `Usage: sluice <command> [options]

Flink-style stream processing for TypeScript.

Commands:
  run <job>            Run a job on an embedded cluster until it finishes (Ctrl-C cancels)
  plan <job>           Print the job's execution plan without running it
  cluster start|stop   Start a cluster of processes on this machine (Ctrl-C stops it), or stop one
  mesos-session        Start a session cluster whose TaskManagers run on Apache Mesos
  mesos-job <job>      Run one job on Apache Mesos as its own framework, removed when the job ends
  submit <job>         Submit a job to a running cluster and follow it (--detached: don't)
  list                 List the jobs of a cluster or of a running 'sluice run'
  info <jobId>         Show a job's status, vertices, checkpoints and exceptions
  savepoint <jobId>    Take a savepoint of a running job
  stop <jobId>         Take a savepoint and stop the job
  cancel <jobId>       Cancel a running job
  taskmanagers         List a cluster's TaskManagers and their slots
  overview             Show a cluster's TaskManagers, slots and jobs by status
  taskmanager          Start a TaskManager for a cluster (--cluster sluice://HOST:PORT)
  help [cmd]           Show help for a command

Options:
  -h, --help           Show this help
  --version            Print the Sluice version

A job is a .ts, .mts, .js or .mjs ES module whose default export builds a pipeline.
submit and the commands after it talk to a REST API: a cluster's, or the one 'sluice run'
serves (default http://127.0.0.1:8081; --address URL or SLUICE_ADDRESS to point elsewhere).
Run 'sluice <command> --help' for the options of a command.
`;

/** The flags that configure a job, the same for `run`, `plan` and `submit`. */
const JOB_OPTIONS_HELP = `  -p, --parallelism <N>       Default parallelism of the job's operators (positive integer)
  -D <key=value>              Job parameter, visible to the job as env.params (repeatable)
  --buffer-timeout <ms>       Flush output batches at the latest after this many ms
                              (non-negative; 0 flushes every record)
  --checkpoint-interval <duration>
                              Take a checkpoint this often, e.g. 500ms, 1s, 5min
                              (0 turns checkpoints off)
  --checkpoint-dir <dir>      Directory for checkpoints (default: <os tmpdir>/sluice-checkpoints);
                              checked before the job starts
  --tolerable-failed-checkpoints <N>
                              Checkpoints that may fail in a row before the job fails over
                              (restarts, or fails without a restart strategy); default 0
  --restart-strategy <spec>   What a task failure does: none | fixed-delay:attempts=3,delay=2s
                              | failure-rate:max-failures=3,interval=5min,delay=1s
                              | exponential-delay:initial=1s,max=1min,multiplier=1.5,
                                reset-after=1h,jitter=0.1[,attempts=10]`;

const PRECEDENCE = `What the job's code sets (env.setParallelism, env.enableCheckpointing, env.setRestartStrategy,
...) wins over these flags; each flag the job overrides gets a warning.`;

const CLUSTER_HELP = `Usage: sluice cluster start [options]
       sluice cluster stop [--cluster-dir <dir>]

start runs a cluster entrypoint in the foreground: the Dispatcher (one JobMaster process per job),
the ResourceManager (TaskManager processes on this machine, started while jobs need slots,
released when idle, replaced when they fail) and the REST API. Ctrl-C stops it and every process
it started. stop ends a cluster started with --detach.

Options of start:
  --taskmanagers <N>          TaskManagers kept running whatever the demand (default 1)
  --slots <N>                 Slots per TaskManager (default 1)
  --max-taskmanagers <N>      At most this many TaskManagers (default: no limit)
  --idle-taskmanager-timeout <ms>
                              Release a TaskManager beyond --taskmanagers once it has been idle
                              this long (default 30000)
  --cluster-dir <dir>         Secret, bundles and job store (default: $SLUICE_HOME/cluster,
                              else ~/.sluice/cluster)
  --rest-port <port>          REST API port (default 8081; 0 picks a free one)
  --rest-host <address>       Interface of the REST API (default 127.0.0.1)
  --rest-token-file <file>    Where to write the REST token (default: where the client commands
                              look for it, ~/.sluice/rest-<port>.token)
  --rest-token-from <file>    Take the REST token from this file (a mounted secret, say) instead
                              of making one in the cluster directory (or HA storage directory)
  --rest-allowed-host <name>  Also answer REST requests whose Host is <name> or <name>:<port>:
                              a DNS name, a load balancer's, a VIP (repeatable; others get 403)
  --rpc-port <port>           Port of the cluster's RPC (default 6123; 0 picks a free one)
  --bind-host <address>       Interface of the RPC (default 127.0.0.1)
  --advertised-host <host>    Name or IP other hosts reach this one at (default: --bind-host)
  --tls-cert-file <file>      With --tls-key-file and --tls-ca-file: TLS (mutual, certificates
  --tls-key-file <file>       signed by the CA) on every connection between the cluster's
  --tls-ca-file <file>        processes, RPC and data; the cluster secret still authenticates
  --heartbeat-interval <ms>   Heartbeats between the cluster's processes (default 10000)
  --heartbeat-timeout <ms>    A process silent this long is lost: its work is recovered
                              elsewhere (default 50000; a restarted entrypoint also waits this
                              long for the TaskManagers it left running to register again)
${HA_FLAGS_HELP}  --ha-storage-dir <dir>      With zookeeper: a directory all entrypoints reach (shared file
                              system): the cluster secret, REST token and uploaded bundles
  -d, --detach                Run in the background; output goes to <cluster-dir>/entrypoint.log
  -q, --quiet                 Only warnings and errors
  -h, --help                  Show this help

Job defaults, served at GET /config: 'sluice submit' applies them to every job submitted here,
under its own -p, --checkpoint-dir, --checkpoint-interval and -D; the job's code wins over both.
  --default-parallelism <N>   Default parallelism (positive integer)
  --default-checkpoint-dir <dir>
                              Checkpoint directory (a relative one is resolved here); the
                              JobMaster and TaskManager processes must all reach it
  --default-checkpoint-interval <duration>
                              Checkpoint interval, e.g. 10s, 1min (0: no checkpoints)
  -D <key=value>              Job parameter (repeatable); a submission's -D of the same key wins.
                              Values show on this command line: keep secrets out of them

With --high-availability zookeeper, start two or three entrypoints with the same --ha-cluster-id:
one leads, the others stand by (their REST APIs answer through the leader) and take over,
resuming every job from its latest checkpoint, when the leader's ZooKeeper session is lost.
Stopping a leader hands its jobs to a standby instead of cancelling them.
`;

const MESOS_SESSION_HELP = `Usage: sluice mesos-session --master <where> [options]

Runs a session cluster whose TaskManagers are Mesos tasks: the cluster entrypoint (Dispatcher,
one JobMaster process per job, REST API) plus a Mesos framework scheduler that starts a
TaskManager through Sluice's executor whenever jobs need slots, releases it when idle, and
replaces it when it fails. Submit jobs with 'sluice submit' as to 'sluice cluster start'.
Killed or restarted, it subscribes again as the same framework (its id is kept in the cluster
directory, or in ZooKeeper with --high-availability) and adopts the TaskManagers still running.
Ctrl-C stops the jobs and the TaskManagers and removes the framework from Mesos.

Options: those of 'sluice cluster start' (see 'sluice cluster --help'; --taskmanagers defaults
to 0 here, --detach is not taken), and
${MESOS_OPTIONS_HELP}  -h, --help                  Show this help
`;

const MESOS_JOB_HELP = `Usage: sluice mesos-job <job.ts|job.js> --master <where> [options]

Runs one job on Mesos in per-job mode: starts a cluster entrypoint in this process as a Mesos
framework of its own, submits the job to it (bundled and built as 'sluice submit' does) and
follows it as an attached 'sluice submit' does. TaskManagers are started through Sluice's
executor as the job needs slots. When the job ends, the TaskManagers are killed, the framework
is removed from Mesos (TEARDOWN) and the command exits with the job's outcome.

Ctrl-C (or SIGTERM) cancels the job, then stops everything the same way; a second Ctrl-C exits
at once, leaving the framework to Mesos until its failover timeout ends. While the job runs,
its REST address (printed at start) takes 'sluice info', 'savepoint', 'stop' and 'cancel'.

${PRECEDENCE}

Options of the job:
${JOB_OPTIONS_HELP}
  --from-savepoint <path>     Start from a savepoint (or retained checkpoint) directory
  --allow-non-restored-state  With --from-savepoint: drop the state of operators the job no
                              longer has instead of refusing to start
  -q, --quiet                 No live status line; only warnings and errors from the cluster
  --verbose                   Print stack traces of errors

Options of the job's cluster: those of 'sluice cluster start' (see 'sluice cluster --help')
but for --detach, high availability and the job defaults (--default-*; -D here is the job's).
Here --cluster-dir defaults to a private temporary directory removed at the end (a directory
given is kept, and a run killed before its job ended is resumed by the next run with it),
--rpc-port and --rest-port to 0 (free ports) and --taskmanagers to 0.

${MESOS_OPTIONS_HELP}  -h, --help                  Show this help

Here --framework-name defaults to 'Sluice job <job name>' and --failover-timeout to 900
(15 minutes): usually nothing can take over a per-job framework once its process is gone.

Exit codes: 0 finished, 1 failed (the job, or starting it), 2 bad usage, 130 cancelled.
`;

export const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  cluster: CLUSTER_HELP,
  'mesos-session': MESOS_SESSION_HELP,
  'mesos-job': MESOS_JOB_HELP,
  run: `Usage: sluice run <job.ts|job.js> [options]

Compiles the job file (TypeScript is bundled with esbuild), runs it on an embedded cluster and
prints a summary when it ends. Ctrl-C (or SIGTERM) cancels the job; a second Ctrl-C ends the
process at once, and so does a job that has not stopped within --shutdown-timeout.

${PRECEDENCE} 'sluice plan' with the same flags shows what will run.

Options:
${JOB_OPTIONS_HELP}
  --metrics-port <N>          Serve Prometheus metrics on 127.0.0.1:<N>/metrics
                              (0..65535; 0 picks a free port)
  --rest-port <N>             Serve the REST API on 127.0.0.1:<N> (default 8081;
                              0 picks a free port). The address is printed at start.
  --rest-token-file <path>    Where to keep the REST API's token while the job runs
                              (default: $SLUICE_HOME/rest-<port>.token, else
                              ~/.sluice/rest-<port>.token)
  --rest-allowed-host <name>  Also answer REST requests whose Host is <name> or <name>:<port>,
                              e.g. for a tunnel or proxy (repeatable; others get 403)
  --savepoint-root <dir>      Savepoints requested over REST must lie inside <dir>, symlinks
                              resolved (repeatable; default: any directory)
  --from-savepoint <path>     Start from a savepoint (or retained checkpoint) directory
  --allow-non-restored-state  With --from-savepoint: drop the state of operators (by uid)
                              that the job no longer has instead of refusing to start
  -q, --quiet                 No live status line on stderr (there is none when stderr is
                              not a terminal)
  --shutdown-timeout <duration>
                              After Ctrl-C or SIGTERM, how long the job may take to stop
                              before the process ends anyway (default 30s)
  --verbose                   Print stack traces of errors
  -h, --help                  Show this help

REST API security: requests must name 127.0.0.1, localhost or an allowed host in Host, and
requests from web pages of other sites are refused. POSTs (savepoint, stop, cancel) need
'Content-Type: application/json' and 'Authorization: Bearer <token>': the token is random,
printed once at start, and kept in the token file (mode 0600) until the run ends, where the
client commands find it.

Logging: SLUICE_LOG_LEVEL=debug|info|warn|error|silent (default warn) on stderr.
Exit codes: 0 finished, 1 failed, 2 bad usage or unusable checkpoint directory, 130 cancelled.
`,
  plan: `Usage: sluice plan <job.ts|job.js> [options]

Compiles the job file and prints its execution plan: chains, parallelism, exchanges,
checkpointing (interval, directory, limits) and the restart strategy, as 'sluice run' with the
same flags would run it.

${PRECEDENCE}

Options:
${JOB_OPTIONS_HELP}
  --verbose                   Print stack traces of errors
  -h, --help                  Show this help
`,
  submit: `Usage: sluice submit <job.ts|job.js> [options]

Bundles the job file with esbuild into one JavaScript file (every import but @sluice/* inside),
builds its graph here as 'sluice plan' does, uploads the bundle to the cluster, submits the job
and prints its id. Then, unless --detached, follows the job: a live status line on a terminal
(state, records/s in and out, backpressure, checkpoints, restarts), state changes as lines, a
summary at the end, and the job's exit code.

Ctrl-C (or SIGTERM) while following only detaches: the job keeps running on the cluster, as
with Flink's attached mode; 'sluice cancel <jobId>' cancels it.

${PRECEDENCE}

First it asks the cluster for its job defaults (GET /config: 'cluster start --default-*' and
-D) and applies them under the flags: -p, --checkpoint-dir and --checkpoint-interval given win,
-D wins key by key. One line on stderr says which defaults it applied (not with --quiet).

Options:
${JOB_OPTIONS_HELP}
  --from-savepoint <path>     Start from a savepoint (or retained checkpoint) directory on the
                              cluster's storage (relative paths: to this directory)
  --allow-non-restored-state  With --from-savepoint: drop the state of operators (by uid)
                              that the job no longer has instead of refusing to start
  -d, --detached              Print the job id once the cluster accepted the job, and exit
  -q, --quiet                 No upload progress and no live status line (there are none when
                              stderr is not a terminal)
${connectionOptionsHelp()}
Exit codes: 0 finished (or submitted, with --detached), 1 failed (the job, the upload or the
submission), 2 bad usage, 130 cancelled, or detached with Ctrl-C.
`,
  savepoint: `Usage: sluice savepoint <jobId> [targetDirectory] [options]

Takes a savepoint of a running job and prints its path once it is complete. The savepoint is a
new directory inside targetDirectory (default ./savepoints, relative to this directory); start
the job from it with 'sluice run <job> --from-savepoint <path>' or 'sluice submit'.

Options:
  --target-directory <dir>    The same as the targetDirectory argument
${clientOptionsHelp()}`,
  stop: `Usage: sluice stop <jobId> --savepoint-path <dir> [options]

Takes a savepoint of a running job, then ends the job (it finishes with status FINISHED and its
'sluice run' or attached 'sluice submit' exits 0). Prints the savepoint's path.

Options:
  --savepoint-path <dir>      Directory to write the savepoint into (required; also
  --target-directory <dir>    spelled --target-directory)
  --drain                     Send the final watermark first, so every event-time timer and
                              window fires before the savepoint (for a job not meant to resume)
${clientOptionsHelp()}`,
  list: `Usage: sluice list [options]

Lists the jobs of a cluster or of a running 'sluice run': id, status, start time, duration and
name, oldest first.

Options:
  --json                      Print the REST API's answer as JSON
${clientOptionsHelp()}`,
  info: `Usage: sluice info <jobId> [options]

Shows a job: status, start and duration, checkpoints (the latest one's path works with
--from-savepoint), its outcome once it has ended, and, where the cluster reports them, its
vertices (parallelism, subtasks by state, records in and out, backpressure) and exceptions.

Options:
  --json                      Print the REST API's answer as JSON
${clientOptionsHelp()}`,
  taskmanagers: `Usage: sluice taskmanagers [options]

Lists the TaskManagers registered with a cluster: id, slots, free slots, address and metrics URL.

Options:
  --json                      Print the REST API's answer as JSON
${clientOptionsHelp()}`,
  overview: `Usage: sluice overview [options]

Shows a cluster at a glance: TaskManagers, slots (total and free) and jobs by status.

Options:
  --json                      Print the REST API's answer as JSON
${clientOptionsHelp()}`,
  cancel: `Usage: sluice cancel <jobId> [options]

Cancels a running job without a savepoint; its 'sluice run' or attached 'sluice submit'
exits 130.

Options:
${clientOptionsHelp()}`,
};

/** `--address` and the token file, for every command that talks to a REST API. */
function connectionOptionsHelp(): string {
  return `  --address <url>             REST address of the cluster or 'sluice run' (default:
                              $SLUICE_ADDRESS, else http://127.0.0.1:8081)
  --token-file <path>         File with its REST token (also --rest-token-file; default:
                              $SLUICE_REST_TOKEN, else rest-<port>.token for the address's
                              port in $SLUICE_HOME, else in ~/.sluice)
  --verbose                   Print stack traces of errors
  -h, --help                  Show this help
`;
}

function clientOptionsHelp(): string {
  return `${connectionOptionsHelp()}
A loopback server answers reads (list, info, taskmanagers, overview) without a token.
Exit codes: 0 done, 1 failed (job unknown or not running, address unreachable), 2 bad usage.
`;
}
