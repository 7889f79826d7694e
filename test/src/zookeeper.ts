/**
 * Real Apache ZooKeeper for tests: an ensemble of N nodes (or one standalone node) in a temp
 * directory on free loopback ports, each a JVM spawned here on the classpath that
 * infra/zookeeper/zookeeper.sh resolves from Maven Central. Unlike the Kafka broker (one per run,
 * shared), every test gets its own ensemble, because the tests that need one kill its nodes.
 *
 * Policy (zookeeperForTests), as for Kafka (kafka-broker.ts):
 * - `SLUICE_ZK_TESTS=0`: opt out; the ZooKeeper tests skip (also under CI).
 * - java and the jars (or mvn to resolve them) present: the tests run.
 * - otherwise: under `CI=true` that is an error (the run fails); elsewhere the tests skip and one
 *   line says how to enable them.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaAvailability, REPO_ROOT } from './kafka-broker.js';

export const ZOOKEEPER_SCRIPT = join(REPO_ROOT, 'infra', 'zookeeper', 'zookeeper.sh');
const LIB_DIR = join(REPO_ROOT, 'infra', 'zookeeper', 'target', 'lib');
const LOGBACK_XML = join(REPO_ROOT, 'infra', 'zookeeper', 'logback.xml');
const MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
export const ZOOKEEPER_ENABLE_HINT =
  'to run them, install Java and Maven with `bash infra/zookeeper/install.sh` (it also resolves ZooKeeper\'s jars)';

/** First use resolves the jars from Maven Central (~6 MB); later starts take a few seconds. */
const RESOLVE_TIMEOUT_MS = 180_000;
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

/** What `srvr` says a node is. `not serving` = up, but not part of a quorum. */
export type ZookeeperMode = 'standalone' | 'leader' | 'follower' | 'observer' | 'not serving' | 'down';

export interface ZookeeperNode {
  /** The node's myid, 1..N. */
  readonly id: number;
  readonly pid: number;
  readonly clientPort: number;
  /** The TLS client port, when the ensemble was started with `tls`. */
  readonly secureClientPort?: number;
  /** Its directory: zoo.cfg, data/, zookeeper.log, stdout.log. */
  readonly dir: string;
  /** True once the JVM has exited (stopped, killed, or crashed). */
  readonly exited: boolean;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the JVM has exited. Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal (SIGKILL to crash it, SIGSTOP/SIGCONT to freeze it); does not wait. */
  kill(signal: NodeJS.Signals): void;
  /** Its mode now, from `srvr`. */
  mode(): Promise<ZookeeperMode>;
}

export interface ZookeeperEnsemble {
  /** `127.0.0.1:P1,127.0.0.1:P2,...`, for a client. */
  readonly connectString: string;
  /** The same over the nodes' TLS client ports, when started with `tls`. */
  readonly secureConnectString?: string;
  readonly nodes: readonly ZookeeperNode[];
  /** Stops every node still running and deletes the directory. Idempotent. */
  stop(): Promise<void>;
}

/** One line for a skipped test, or undefined when ZooKeeper can run. Under CI=true, throws instead. */
export async function zookeeperSkipReason(): Promise<string | undefined> {
  if (process.env.SLUICE_ZK_TESTS === '0') return 'SLUICE_ZK_TESTS=0; unset it to run them';
  const inCi = process.env.CI === 'true';
  const why = await (async (): Promise<string | undefined> => {
    const tools = kafkaAvailability();
    const hasJars = existsSync(join(LIB_DIR, '.resolved'));
    if (!tools.available && !(hasJars && tools.reason === 'mvn not on PATH')) return tools.reason ?? 'java or mvn missing';
    try {
      await resolveZookeeperJars();
      return undefined;
    } catch (err) {
      return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'jars not resolved';
    }
  })();
  if (why === undefined) return undefined;
  if (inCi) throw new Error(`ZooKeeper tests are required under CI=true but ${why}; ${ZOOKEEPER_ENABLE_HINT}`);
  return `${why}; ${ZOOKEEPER_ENABLE_HINT}`;
}

/** `zookeeper.sh resolve`: fills infra/zookeeper/target/lib once (a no-op when it is current). */
export function resolveZookeeperJars(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [ZOOKEEPER_SCRIPT, 'resolve'], { cwd: REPO_ROOT, timeout: RESOLVE_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error === null) resolve(LIB_DIR);
      else reject(new Error(`zookeeper.sh resolve failed (${String(error.code ?? error.signal)}): ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
}

/**
 * A four-letter-word command (`srvr`, `ruok`, `mntr`, `stat`; the nodes allow only these) over
 * plain TCP: the node's whole answer, or '' when nothing answers within `timeoutMs`.
 */
export function fourLetter(port: number, command: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', done);
    socket.on('error', done);
  });
}

/** A node's mode from its `srvr` answer. */
export async function zookeeperMode(port: number): Promise<ZookeeperMode> {
  const answer = await fourLetter(port, 'srvr');
  if (answer === '') return 'down';
  const mode = /^Mode: (\S+)/m.exec(answer)?.[1];
  if (mode === 'standalone' || mode === 'leader' || mode === 'follower' || mode === 'observer') return mode;
  if (answer.includes('not currently serving')) return 'not serving';
  throw new Error(`unexpected srvr answer from 127.0.0.1:${port}: ${answer}`);
}

/**
 * Starts `nodes` ZooKeeper nodes (1 = standalone) and resolves once every one serves (leader,
 * follower or standalone). Call resolveZookeeperJars() (or zookeeperSkipReason()) first.
 */
export async function startZookeeper(options: { nodes?: number; timeoutMs?: number; tls?: ZookeeperTls } = {}): Promise<ZookeeperEnsemble> {
  const n = options.nodes ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new Error(`startZookeeper: nodes must be 1 to 9, not ${n}`);
  if (!existsSync(join(LIB_DIR, '.resolved'))) throw new Error(`no ZooKeeper jars in ${LIB_DIR}; ${ZOOKEEPER_ENABLE_HINT}`);
  let lastError: unknown;
  // A port picked free can be taken before the JVM binds it; such a start is retried on new ports.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'sluice-zk-'));
    const ensemble = launch(root, n, await freePorts(n * PORTS_PER_NODE), options.tls);
    try {
      await waitServing(ensemble, options.timeoutMs ?? START_TIMEOUT_MS);
      return ensemble;
    } catch (err) {
      const raced = ensemble.nodes.some((node) => readLogs(node.dir).includes('Address already in use'));
      await ensemble.stop();
      lastError = err;
      if (!raced) break;
    }
  }
  throw lastError;
}

/**
 * TLS for clients: each node also serves on a secure client port (Netty, PEM key and trust
 * stores), requiring a client certificate signed by `caFile`. The quorum stays plain.
 */
export interface ZookeeperTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Client, quorum, election and secure client port. */
const PORTS_PER_NODE = 4;

function tlsConfig(dir: string, securePort: number, tls: ZookeeperTls): string[] {
  // A PEM keystore is one file: the private key (PKCS#8) and the certificate.
  const keyStore = join(dir, 'keystore.pem');
  writeFileSync(keyStore, readFileSync(tls.keyFile, 'utf8') + readFileSync(tls.certFile, 'utf8'), { mode: 0o600 });
  return [
    `secureClientPort=${securePort}`,
    'secureClientPortAddress=127.0.0.1',
    'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
    `ssl.keyStore.location=${keyStore}`,
    'ssl.keyStore.type=PEM',
    `ssl.trustStore.location=${tls.caFile}`,
    'ssl.trustStore.type=PEM',
    'ssl.clientAuth=need',
  ];
}

function launch(root: string, n: number, ports: number[], tls?: ZookeeperTls): ZookeeperEnsemble {
  const port = (node: number, which: 0 | 1 | 2 | 3): number => ports[(node - 1) * PORTS_PER_NODE + which] ?? 0;
  const servers: string[] = [];
  if (n > 1) for (let j = 1; j <= n; j++) servers.push(`server.${j}=127.0.0.1:${port(j, 1)}:${port(j, 2)}`);
  const nodes: ZookeeperNode[] = [];
  for (let id = 1; id <= n; id++) {
    const dir = join(root, `node-${id}`);
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'data', 'myid'), `${id}\n`);
    // The settings of infra/zookeeper/zookeeper.sh's write_config (keep them in step), less its
    // autopurge (a test's ensemble lives for seconds) and with forceSync=no: no fsync of the
    // transaction log per write, which on a busy machine makes every other test's disk I/O wait
    // (a test's data need not survive a power cut).
    writeFileSync(
      join(dir, 'zoo.cfg'),
      [
        'tickTime=500',
        'initLimit=20',
        'syncLimit=10',
        'minSessionTimeout=1000',
        'maxSessionTimeout=60000',
        `dataDir=${join(dir, 'data')}`,
        `clientPort=${port(id, 0)}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=srvr,ruok,mntr,stat',
        'forceSync=no',
        ...(tls === undefined ? [] : tlsConfig(dir, port(id, 3), tls)),
        ...servers,
        '',
      ].join('\n'),
    );
    nodes.push(spawnNode(id, dir, port(id, 0), tls === undefined ? undefined : port(id, 3)));
  }
  let stopped: Promise<void> | undefined;
  return {
    connectString: nodes.map((node) => `127.0.0.1:${node.clientPort}`).join(','),
    ...(tls === undefined ? {} : { secureConnectString: nodes.map((node) => `127.0.0.1:${node.secureClientPort}`).join(',') }),
    nodes,
    stop: () => {
      stopped ??= Promise.all(nodes.map((node) => node.stop())).then(() => rmSync(root, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/** Every JVM spawned here and not yet exited: SIGKILLed if the test process exits first. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function spawnNode(id: number, dir: string, clientPort: number, secureClientPort: number | undefined): ZookeeperNode {
  const out = openSync(join(dir, 'stdout.log'), 'a');
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const child = spawn(
    java,
    [
      '-Xms32m',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      `-Dzookeeper.log.dir=${dir}`,
      `-Dlogback.configurationFile=${LOGBACK_XML}`,
      '-cp',
      `${LIB_DIR}/*`,
      MAIN_CLASS,
      join(dir, 'zoo.cfg'),
    ],
    { stdio: ['ignore', out, out] },
  );
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not spawn ${java} for ZooKeeper node ${id}`);
  live.add(child);
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
    child.once('error', () => {
      live.delete(child);
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    id,
    pid: child.pid,
    clientPort,
    ...(secureClientPort === undefined ? {} : { secureClientPort }),
    dir,
    get exited() {
      return !live.has(child);
    },
    kill: (signal) => {
      if (live.has(child)) child.kill(signal);
    },
    stop: () => {
      stopping ??= (async () => {
        if (!live.has(child)) return;
        child.kill('SIGCONT'); // a frozen JVM would never act on SIGTERM
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)));
        if ((await Promise.race([exit, grace])) === 'late') {
          child.kill('SIGKILL');
          await exit;
        }
        clearTimeout(timer);
      })();
      return stopping;
    },
    mode: () => zookeeperMode(clientPort),
  };
}

async function waitServing(ensemble: ZookeeperEnsemble, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = ensemble.nodes.find((node) => node.exited || /Thread\[main,.*\] died/.test(readLogs(node.dir)));
    if (dead !== undefined) throw new Error(`ZooKeeper node ${dead.id} failed to start:\n${tail(readLogs(dead.dir), 30)}`);
    const modes = await Promise.all(ensemble.nodes.map((node) => node.mode().catch(() => 'down' as const)));
    if (modes.every((mode) => mode === 'standalone' || mode === 'leader' || mode === 'follower')) return;
    if (Date.now() > deadline) {
      throw new Error(`ZooKeeper nodes not all serving after ${timeoutMs} ms (modes: ${modes.join(', ')}); logs in ${ensemble.nodes[0]?.dir ?? '?'}/..`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readLogs(dir: string): string {
  let text = '';
  for (const file of ['zookeeper.log', 'stdout.log']) {
    try {
      text += readFileSync(join(dir, file), 'utf8');
    } catch {
      // not written yet
    }
  }
  return text;
}

function tail(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** `count` distinct free ports on 127.0.0.1, all held open while choosing so none repeats. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((server) => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) throw new Error('no port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/**
 * SIGSTOP takes effect on each thread of the JVM on its own time; until all are stopped, a
 * request sent now might still be answered. Polls /proc until every thread of `pid` is stopped (T).
 */
export async function frozen(pid: number, timeoutMs = 30_000): Promise<void> {
  const stopped = (): boolean =>
    readdirSync(`/proc/${pid}/task`).every((tid) => {
      try {
        return /^\d+ \(.*\) [tT] /s.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      } catch {
        return true; // the thread exited
      }
    });
  const deadline = Date.now() + timeoutMs;
  while (!stopped()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for every thread of pid ${pid} to stop`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
