/**
 * The Mesos flags of `sluice mesos-session` and `sluice mesos-job`: where the master is, how the
 * framework presents itself (name, user, roles, principal), what a TaskManager needs from an
 * offer, where it may run (constraints), and how the executor gets onto the agent. Pure, like the
 * other parsers: every value is checked here, at the edge, and a bad one names its flag.
 */
import { parseConstraints, type PlacementConstraint } from '@sluice/mesos-scheduler';
import { nonEmpty, UsageError } from './arg-parsing.js';
import type { CommandName } from './usage.js';

export interface MesosFlags {
  /** `host:port`, `http(s)://host:port`, a comma list of them, or `zk://host:port,…/mesos`. */
  master: string;
  principal?: string;
  /** File holding the principal's secret (HTTP Basic to the master). */
  secretFile?: string;
  /** CA bundle that signs an https master's certificate. */
  tlsCaFile?: string;
  /** Roles the framework subscribes with (MULTI_ROLE); default `*`. */
  roles: string[];
  /** The Unix user tasks run as on the agents; default the user running the scheduler. */
  user?: string;
  frameworkName: string;
  failoverTimeoutSeconds: number;
  constraints: PlacementConstraint[];
  taskManager: { cpus: number; memMb: number; diskMb: number; gpus: number };
  executor: { cpus: number; memMb: number };
  /** Command that starts the executor on the agent; default the executor of this Sluice installation. */
  executorCommand?: string;
  /** URIs the agent fetches into the sandbox before starting the executor. */
  executorUris: string[];
  /** An archive made by `npm run package`: served to the agents, the executor started from it. */
  sluicePackage?: string;
  /** Docker image of the executor's container (with --containerizer). */
  containerImage?: string;
  containerizer: 'mesos' | 'docker';
  /** Agent directories mounted into the executor's container (`--tm-volume`). */
  volumes: { hostPath: string; containerPath: string; mode: 'RW' | 'RO' }[];
  /** The scheduler's /metrics and /http_sd (0: a free port) and its interface. */
  metricsPort: number;
  metricsHost?: string;
  encoding: 'protobuf' | 'json';
}

export const MESOS_OPTIONS = {
  master: { type: 'string' },
  'mesos-principal': { type: 'string' },
  'mesos-secret-file': { type: 'string' },
  'mesos-tls-ca-file': { type: 'string' },
  'mesos-role': { type: 'string', multiple: true },
  'mesos-user': { type: 'string' },
  'framework-name': { type: 'string' },
  'failover-timeout': { type: 'string' },
  constraints: { type: 'string', multiple: true },
  'tm-cpus': { type: 'string' },
  'tm-memory': { type: 'string' },
  'tm-disk': { type: 'string' },
  'tm-gpus': { type: 'string' },
  'executor-cpus': { type: 'string' },
  'executor-memory': { type: 'string' },
  'executor-command': { type: 'string' },
  'executor-uri': { type: 'string', multiple: true },
  'sluice-package': { type: 'string' },
  'container-image': { type: 'string' },
  'tm-volume': { type: 'string', multiple: true },
  containerizer: { type: 'string' },
  'scheduler-metrics-port': { type: 'string' },
  'scheduler-metrics-host': { type: 'string' },
  'mesos-encoding': { type: 'string' },
} as const;

export const MESOS_OPTIONS_HELP = `Mesos:
  --master <where>            The Mesos master: host:port, http(s)://host:port, a comma list of
                              them, or zk://host:port,.../mesos (required)
  --mesos-principal <name>    Principal the framework authenticates as (HTTP Basic)
  --mesos-secret-file <file>  File holding the principal's secret
  --mesos-tls-ca-file <file>  CA certificates for an https:// master
  --mesos-role <role>         Role to take offers for (repeatable; default *)
  --mesos-user <user>         Unix user of the tasks on the agents (default: this user)
  --framework-name <name>     Framework name in Mesos (default Sluice)
  --failover-timeout <secs>   How long Mesos keeps the TaskManagers of a scheduler that is gone
                              (default 604800: one week)
  --constraints <text>        Where TaskManagers may run: Marathon JSON, e.g.
                              '[["hostname","UNIQUE"],["rack","GROUP_BY","3"]]', or attr:value,...;
                              repeatable: each adds its constraints to the others'
  --tm-cpus <n>               CPUs per TaskManager (default 1)
  --tm-memory <MB>            Memory per TaskManager (default 1024)
  --tm-disk <MB>              Disk per TaskManager (default 0)
  --tm-gpus <n>               GPUs per TaskManager (default 0)
  --executor-cpus <n>         CPUs of the executor beside each TaskManager (default 0.1)
  --executor-memory <MB>      Memory of the executor (default 128)
  --executor-command <cmd>    Command starting the executor on an agent (default: this
                              installation's, for agents that have Sluice at the same path)
  --executor-uri <uri>        URI the agent fetches into the sandbox first (repeatable)
  --sluice-package <file>     Sluice for the agents, made by 'npm run package': the scheduler
                              serves it at <scheduler>/artifacts/, the agents fetch and unpack it
                              and start the executor from it with their 'node'
  --container-image <image>   Run the executor in this Docker image (with --containerizer)
  --containerizer <kind>      mesos (default; the Mesos containerizer runs the image) or docker
  --tm-volume <host:container[:ro]>
                              Mount an agent directory into the TaskManagers' containers, e.g.
                              the shared checkpoint storage (repeatable; read-write unless :ro)
  --scheduler-metrics-port <port>
                              The scheduler's /metrics and Prometheus /http_sd (default 0: free)
  --scheduler-metrics-host <address>
                              Their interface (default 127.0.0.1); beyond loopback they want
                              the cluster's REST token (Authorization: Bearer)
  --mesos-encoding <kind>     protobuf (default) or json on the wire to the master
`;

type MesosValues = { [K in keyof typeof MESOS_OPTIONS]?: (typeof MESOS_OPTIONS)[K] extends { multiple: true } ? string[] : string };

function positiveNumber(raw: string | undefined, flag: string, fallback: number, command: CommandName, allowZero: boolean): number {
  if (raw === undefined) return fallback;
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n) || (allowZero ? n < 0 : n <= 0)) {
    throw new UsageError(`invalid value '${raw}' for ${flag}: expected a number ${allowZero ? '≥ 0' : '> 0'}`, command);
  }
  // Mesos keeps scalars to three decimals; more would be rounded away silently.
  if (Math.round(n * 1000) / 1000 !== n) throw new UsageError(`invalid value '${raw}' for ${flag}: Mesos keeps at most three decimals`, command);
  return n;
}

/** The Mesos flags from parsed values; a UsageError names the first bad one. */
export function mesosFlags(values: MesosValues, command: CommandName): MesosFlags {
  const master = values.master;
  if (master === undefined) throw new UsageError('--master is required: the Mesos master, e.g. --master 10.0.0.5:5050 or --master zk://zk1:2181/mesos', command);
  const str = (flag: keyof MesosValues & string, what: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? nonEmpty(v, `--${flag}`, what, command) : undefined;
  };
  const roles = (values['mesos-role'] ?? ['*']).map((r) => nonEmpty(r, '--mesos-role', 'a role name', command));
  if (new Set(roles).size !== roles.length) throw new UsageError(`--mesos-role is given twice with the same role (Mesos rejects duplicate roles)`, command);
  const containerizer = values.containerizer ?? 'mesos';
  if (containerizer !== 'mesos' && containerizer !== 'docker') throw new UsageError(`invalid value '${containerizer}' for --containerizer: expected mesos or docker`, command);
  if (values.containerizer !== undefined && values['container-image'] === undefined) throw new UsageError('--containerizer needs --container-image', command);
  if (values['tm-volume'] !== undefined && values['container-image'] === undefined) {
    throw new UsageError('--tm-volume needs --container-image: without an image the TaskManagers already see the agent\'s file system', command);
  }
  const encoding = values['mesos-encoding'] ?? 'protobuf';
  if (encoding !== 'protobuf' && encoding !== 'json') throw new UsageError(`invalid value '${encoding}' for --mesos-encoding: expected protobuf or json`, command);
  if ((values['mesos-principal'] === undefined) !== (values['mesos-secret-file'] === undefined)) {
    throw new UsageError('--mesos-principal and --mesos-secret-file go together: the master checks the principal with its secret', command);
  }
  // Repeatable, so a generated command line (a DC/OS package's) can pass one constraint per flag.
  const constraints: PlacementConstraint[] = [];
  for (const text of values.constraints ?? []) {
    try {
      constraints.push(...parseConstraints(text));
    } catch (err) {
      throw new UsageError(`invalid value for --constraints: ${(err as Error).message}`, command);
    }
  }
  const failover = positiveNumber(values['failover-timeout'], '--failover-timeout', 604_800, command, true);
  const metricsRaw = values['scheduler-metrics-port'];
  const metricsPort = metricsRaw === undefined ? 0 : /^\d{1,5}$/.test(metricsRaw) && Number(metricsRaw) <= 65535 ? Number(metricsRaw) : NaN;
  if (Number.isNaN(metricsPort)) throw new UsageError(`invalid value '${metricsRaw}' for --scheduler-metrics-port: expected a port number 0..65535 (0 picks a free port)`, command);
  const flags: MesosFlags = {
    master: nonEmpty(master, '--master', 'a Mesos master address', command),
    roles,
    frameworkName: str('framework-name', 'a name') ?? 'Sluice',
    failoverTimeoutSeconds: failover,
    constraints,
    taskManager: {
      cpus: positiveNumber(values['tm-cpus'], '--tm-cpus', 1, command, false),
      memMb: positiveNumber(values['tm-memory'], '--tm-memory', 1024, command, false),
      diskMb: positiveNumber(values['tm-disk'], '--tm-disk', 0, command, true),
      gpus: positiveNumber(values['tm-gpus'], '--tm-gpus', 0, command, true),
    },
    executor: {
      cpus: positiveNumber(values['executor-cpus'], '--executor-cpus', 0.1, command, false),
      memMb: positiveNumber(values['executor-memory'], '--executor-memory', 128, command, false),
    },
    executorUris: (values['executor-uri'] ?? []).map((u) => nonEmpty(u, '--executor-uri', 'a URI', command)),
    containerizer,
    volumes: (values['tm-volume'] ?? []).map((v) => parseVolume(v, command)),
    metricsPort,
    encoding,
  };
  if (!Number.isInteger(flags.taskManager.gpus)) throw new UsageError(`invalid value '${values['tm-gpus']}' for --tm-gpus: expected a whole number`, command);
  const optional = [
    ['mesos-principal', 'principal', 'a principal'],
    ['mesos-secret-file', 'secretFile', 'a file path'],
    ['mesos-tls-ca-file', 'tlsCaFile', 'a file path'],
    ['mesos-user', 'user', 'a user name'],
    ['executor-command', 'executorCommand', 'a command'],
    ['container-image', 'containerImage', 'a Docker image name'],
    ['sluice-package', 'sluicePackage', 'an archive made by npm run package'],
    ['scheduler-metrics-host', 'metricsHost', 'an interface address'],
  ] as const;
  for (const [flag, key, what] of optional) {
    const v = str(flag, what);
    if (v !== undefined) flags[key] = v;
  }
  if (flags.sluicePackage !== undefined && (flags.executorCommand !== undefined || flags.containerImage !== undefined)) {
    throw new UsageError('--sluice-package starts the executor from the package; give it without --executor-command and --container-image', command);
  }
  return flags;
}

/** `--tm-volume /host/dir:/container/dir[:ro|:rw]`: both paths absolute, as Mesos wants them for an image. */
function parseVolume(raw: string, command: CommandName): MesosFlags['volumes'][number] {
  const parts = raw.split(':');
  const mode = parts.length === 3 ? parts[2] : 'rw';
  const [hostPath, containerPath] = parts;
  if (parts.length < 2 || parts.length > 3 || (mode !== 'ro' && mode !== 'rw') || !hostPath?.startsWith('/') || !containerPath?.startsWith('/')) {
    throw new UsageError(`invalid value '${raw}' for --tm-volume: expected /agent/dir:/container/dir, optionally :ro or :rw after it`, command);
  }
  return { hostPath, containerPath, mode: mode === 'ro' ? 'RO' : 'RW' };
}
