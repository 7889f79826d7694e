/**
 * The command line of a TaskManager process — `node taskmanager-main.js …` as the process driver
 * starts it, or `sluice taskmanager …` by hand on another host. Pure: argv in, options or a
 * ConfigurationError naming the flag out.
 */
import { ConfigurationError } from '@sluice/common';
import { HA_FLAGS, HA_FLAGS_HELP, zooKeeperFromFlags } from '@sluice/ha';
import type { TaskManagerProcessOptions } from './taskmanager-process.js';

export const TASKMANAGER_USAGE = `Usage: sluice taskmanager --cluster sluice://HOST:PORT --secret-file FILE [options]
       sluice taskmanager --high-availability zookeeper --ha-quorum H:P,... --secret-file FILE [options]

Starts a TaskManager that registers at a cluster's ResourceManager, runs the subtasks it is
given on a worker-thread pool and exchanges data with other TaskManagers over its data port.

Options:
  --cluster <address>        RPC address of the cluster entrypoint, sluice://HOST:PORT (required)
  --secret-file <file>       File holding the cluster secret (required); it authenticates RPC
                             and the data port
  --slots <N>                Task slots (default 1)
  --resource-id <id>         Name of this TaskManager (default taskmanager-<host>-<random>)
  --bind-host <ip>           Interface for the RPC and data ports (default 127.0.0.1; 0.0.0.0
                             needs --advertised-host)
  --advertised-host <host>   Host other processes use to reach this one (default: bind host)
  --rpc-port <port>          RPC port (default 0: a free port)
  --data-port <port>         Data port for other TaskManagers (default 0: a free port)
  --data-advertised-port <port>
                             Data port other TaskManagers dial, behind a port mapping
  --metrics-port <port>      Port of /metrics (default 0: a free port)
  --metrics-host <ip>        Interface of /metrics (default 127.0.0.1)
  --cache-dir <dir>          Where fetched job bundles are kept (default <tmpdir>/sluice-artifacts)
  --worker-threads <N>       Worker threads for subtasks (default slots × 8)
  --worker-young-generation-mb <N>
                             Young generation of each worker thread (default 12)
  --tls-cert-file <file>     With --tls-key-file and --tls-ca-file: TLS on RPC and data port
  --tls-key-file <file>
  --tls-ca-file <file>
High availability (instead of --cluster: the TaskManager finds the leading entrypoint in
ZooKeeper and follows it when another one takes over):
${HA_FLAGS_HELP}  -h, --help                 Show this help
`;

type Flag = { key: keyof TaskManagerProcessOptions | 'tlsCert' | 'tlsKey' | 'tlsCa' | `ha:${keyof typeof HA_FLAGS}`; kind: 'string' | 'port' | 'count' };

const FLAGS: Record<string, Flag> = {
  '--cluster': { key: 'cluster', kind: 'string' },
  '--secret-file': { key: 'secretFile', kind: 'string' },
  '--slots': { key: 'slots', kind: 'count' },
  '--resource-id': { key: 'resourceId', kind: 'string' },
  '--bind-host': { key: 'bindHost', kind: 'string' },
  '--advertised-host': { key: 'advertisedHost', kind: 'string' },
  '--rpc-port': { key: 'rpcPort', kind: 'port' },
  '--data-port': { key: 'dataPort', kind: 'port' },
  '--data-advertised-port': { key: 'dataAdvertisedPort', kind: 'port' },
  '--metrics-port': { key: 'metricsPort', kind: 'port' },
  '--metrics-host': { key: 'metricsHost', kind: 'string' },
  '--cache-dir': { key: 'cacheDir', kind: 'string' },
  '--worker-threads': { key: 'workerThreads', kind: 'count' },
  '--worker-young-generation-mb': { key: 'workerYoungGenerationMb', kind: 'count' },
  '--tls-cert-file': { key: 'tlsCert', kind: 'string' },
  '--tls-key-file': { key: 'tlsKey', kind: 'string' },
  '--tls-ca-file': { key: 'tlsCa', kind: 'string' },
  ...Object.fromEntries(Object.keys(HA_FLAGS).map((f) => [`--${f}`, { key: `ha:${f}`, kind: 'string' }])),
};

/** Options from argv, or `'help'`; throws a ConfigurationError (one line) on a bad flag. */
export function parseTaskManagerArgs(argv: readonly string[]): TaskManagerProcessOptions | 'help' {
  const values = new Map<string, string | number>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const flag = FLAGS[name];
    if (flag === undefined) throw new ConfigurationError(`unknown option '${arg}'; see 'sluice taskmanager --help'`);
    let value: string;
    if (name !== arg) value = arg.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) throw new ConfigurationError(`${name} needs a value`);
      value = next;
    }
    if (values.has(flag.key)) throw new ConfigurationError(`${name} is given twice`);
    values.set(flag.key, convert(name, flag, value));
  }
  const haValues = Object.fromEntries([...values].filter(([k]) => k.startsWith('ha:')).map(([k, v]) => [k.slice(3), String(v)]));
  const ha = zooKeeperFromFlags(haValues, (message) => new ConfigurationError(message));
  const cluster = values.get('cluster');
  if (cluster === undefined && ha === undefined) {
    throw new ConfigurationError('--cluster is required: the RPC address of the cluster entrypoint, e.g. --cluster sluice://10.0.0.5:6123 (or, with high availability, --high-availability zookeeper --ha-quorum ...)');
  }
  if (cluster !== undefined && ha !== undefined) throw new ConfigurationError('give --cluster or --high-availability zookeeper, not both: with ZooKeeper the TaskManager finds the leading entrypoint itself');
  if (!values.has('secretFile')) throw new ConfigurationError('--secret-file is required: the file holding the cluster secret (the one the entrypoint uses)');
  const tls = ['tlsCert', 'tlsKey', 'tlsCa'].filter((k) => values.has(k));
  if (tls.length > 0 && tls.length < 3) throw new ConfigurationError('TLS needs all of --tls-cert-file, --tls-key-file and --tls-ca-file');
  const options: Record<string, unknown> = {};
  for (const [k, v] of values) if (!k.startsWith('tls') && !k.startsWith('ha:')) options[k] = v;
  if (ha !== undefined) options.ha = ha;
  if (tls.length === 3) {
    options.tls = { enabled: true, certFile: values.get('tlsCert'), keyFile: values.get('tlsKey'), caFile: values.get('tlsCa') };
  }
  return options as unknown as TaskManagerProcessOptions;
}

function convert(name: string, flag: Flag, value: string): string | number {
  if (flag.kind === 'string') {
    if (value === '') throw new ConfigurationError(`${name} is empty`);
    return value;
  }
  const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (flag.kind === 'port' && !(n >= 0 && n <= 65535)) throw new ConfigurationError(`${name} must be a port number in 0–65535 (0: a free port), got '${value}'`);
  if (flag.kind === 'count' && !(n >= 1 && n <= 4096)) throw new ConfigurationError(`${name} must be a positive integer, got '${value}'`);
  return n;
}
