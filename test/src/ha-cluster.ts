/**
 * Entrypoints of one high-availability cluster as real processes (`sluice cluster start
 * --high-availability zookeeper`), on a real ZooKeeper, sharing a storage directory: start them,
 * tell which one leads (its log says so, and the store's published leader names its RPC
 * address), call the REST API of any of them (a standby forwards to the leader; 503 while an
 * election is on), submit a bundled job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadJob } from '@sluice/api';
import { bundleJob } from '@sluice/cli';
import { silentLogger } from '@sluice/common';
import { ZooKeeperClient } from '@sluice/zookeeper';
import type { CliProcesses, Started } from './cli-process.js';
import { jobPath } from './harness.js';
import { waitFor } from './leaks.js';

export interface HaClusterOptions {
  quorum: string;
  clusterId: string;
  /** The directory every entrypoint shares (secret, REST token, bundles). */
  storageDir: string;
  sessionTimeoutMs: number;
  taskManagers?: number;
  slots?: number;
}

export interface HaEntrypoint {
  readonly name: string;
  readonly process: Started;
  readonly pid: number;
  readonly rpcAddress: string;
  readonly restUrl: string;
  /** Everything it printed so far (stdout and stderr; its children's lines included). */
  output(): string;
}

export function haStartArgs(name: string, home: string, o: HaClusterOptions): string[] {
  return [
    'cluster',
    'start',
    '--cluster-dir',
    join(home, name),
    '--rpc-port',
    '0',
    '--rest-port',
    '0',
    '--taskmanagers',
    String(o.taskManagers ?? 2),
    '--slots',
    String(o.slots ?? 1),
    '--high-availability',
    'zookeeper',
    '--ha-quorum',
    o.quorum,
    '--ha-cluster-id',
    o.clusterId,
    '--ha-storage-dir',
    o.storageDir,
    '--ha-session-timeout',
    String(o.sessionTimeoutMs),
  ];
}

export async function startHaEntrypoint(procs: CliProcesses, name: string, home: string, o: HaClusterOptions): Promise<HaEntrypoint> {
  const p = procs.start(haStartArgs(name, home, o), { SLUICE_HOME: join(home, `${name}-home`), SLUICE_LOG_LEVEL: 'info' });
  const output = (): string => p.out.stdout + p.out.stderr;
  const [restUrl, rpcAddress] = await waitFor(`entrypoint ${name} to serve`, () => {
    if (p.child.exitCode !== null) throw new Error(`entrypoint ${name} exited with ${p.child.exitCode}: ${output()}`);
    const rest = /REST API +(http:\/\/\S+) /.exec(p.out.stdout)?.[1];
    const rpc = /RPC +(sluice:\/\/\S+)/.exec(p.out.stdout)?.[1];
    return rest !== undefined && rpc !== undefined ? ([rest, rpc] as const) : undefined;
  }, 60_000);
  return { name, process: p, pid: p.child.pid!, rpcAddress, restUrl, output };
}

/** The REST token every entrypoint of the cluster shares (made by the first one). */
export function restTokenOf(o: HaClusterOptions): string {
  return readFileSync(join(o.storageDir, o.clusterId, 'rest.token'), 'utf8').trim();
}

/** Runs `f` on a ZooKeeper session of its own, closed afterwards. */
export async function withZooKeeper<T>(quorum: string, f: (zk: ZooKeeperClient) => Promise<T>): Promise<T> {
  const zk = new ZooKeeperClient({ connectString: quorum, sessionTimeoutMs: 10_000, logger: silentLogger });
  await zk.start();
  try {
    return await f(zk);
  } finally {
    await zk.close();
  }
}

/** A znode of the cluster: `/sluice/<cluster id>/<parts...>` (the default root path). */
export function clusterZnode(o: Pick<HaClusterOptions, 'clusterId'>, ...parts: string[]): string {
  return [`/sluice/${o.clusterId}`, ...parts].join('/');
}

/** A znode's text, or undefined when it does not exist. */
export async function readZnode(quorum: string, path: string): Promise<string | undefined> {
  return withZooKeeper(quorum, async (zk) => {
    const node = await zk.getData(path).catch(() => undefined);
    return node?.data.toString('utf8');
  });
}

/** The leader the store publishes: `/sluice/<cluster id>/leader/dispatcher/info`. */
export async function publishedLeader(quorum: string, clusterId: string): Promise<{ token: string; address: string } | undefined> {
  const text = await readZnode(quorum, clusterZnode({ clusterId }, 'leader', 'dispatcher', 'info'));
  return text === undefined ? undefined : (JSON.parse(text) as { token: string; address: string });
}

/** Waits until one of `entrypoints` is the published leader, and returns it. */
export async function leaderOf(entrypoints: readonly HaEntrypoint[], o: HaClusterOptions, timeoutMs = 60_000): Promise<{ leader: HaEntrypoint; token: string }> {
  return waitFor('a leader', async () => {
    const info = await publishedLeader(o.quorum, o.clusterId);
    const leader = entrypoints.find((e) => e.rpcAddress === info?.address);
    return leader === undefined || info === undefined ? undefined : { leader, token: info.token };
  }, timeoutMs);
}

export class RestStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function rest<T>(e: HaEntrypoint, token: string, method: string, path: string, body?: string | Uint8Array, type = 'application/json'): Promise<T> {
  const res = await fetch(`${e.restUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': type }) },
    ...(body === undefined ? {} : { body }),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new RestStatusError(res.status, `${method} ${path} at ${e.name} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** GET that answers undefined while the cluster has no reachable leader (503), for waitFor. */
export async function restWhenLed<T>(e: HaEntrypoint, token: string, path: string): Promise<T | undefined> {
  try {
    return await rest<T>(e, token, 'GET', path);
  } catch (err) {
    if (err instanceof RestStatusError && err.status === 503) return undefined;
    throw err;
  }
}

/** Uploads the test job `file`'s bundle and submits it with `params` at `parallelism`. */
export async function submitBundled(e: HaEntrypoint, token: string, file: string, params: Record<string, string>, parallelism: number): Promise<string> {
  const bundle = await bundleJob(jobPath(file));
  const { id } = await rest<{ id: string }>(e, token, 'POST', '/artifacts', bundle.bytes, 'application/javascript');
  const graph = (await loadJob({ entry: bundle.file, params, parallelism })).jobGraph;
  const { jobId } = await rest<{ jobId: string }>(e, token, 'POST', '/jobs', JSON.stringify({ artifactId: id, jobGraph: graph, params, parallelism }));
  return jobId;
}

export async function waitForJobEnd(e: HaEntrypoint, token: string, jobId: string, timeoutMs = 180_000): Promise<{ status: string; result?: { error?: { code?: string; message: string } } }> {
  return waitFor(`job ${jobId} to end`, async () => {
    const d = await restWhenLed<{ status: string; result?: { error?: { code?: string; message: string } } }>(e, token, `/jobs/${jobId}`).catch(() => undefined);
    return d !== undefined && ['FINISHED', 'FAILED', 'CANCELED'].includes(d.status) ? d : undefined;
  }, timeoutMs);
}
