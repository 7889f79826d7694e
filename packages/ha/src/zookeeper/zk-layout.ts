/**
 * Where the ZooKeeper implementation keeps what, under `/<root>/<cluster-id>/`, and how a
 * leadership token names the latch of its term:
 *
 * ```
 * leader/<component>/latch-<seq>      ephemeral sequential: a contender; the lowest leads
 * leader/<component>/info             ephemeral: the leader's LeaderInfo
 * jobs/<jobId>                        JobRecord
 * checkpoints/<jobId>/counter         {next}: the next checkpoint id (compare-and-set)
 * checkpoints/<jobId>/latest          the latest completed checkpoint {id, location}
 * mesos/framework-id                  {frameworkId}
 * mesos/workers/<workerId>            WorkerRecord
 * ```
 */
import type { RecordLocation } from '../records.js';
import type { LeaderToken } from '../services.js';

export const LATCH_PREFIX = 'latch-';
const TOKEN = /^([a-z][a-z0-9_-]{0,63})\/(latch-\d{10})$/;

export class ZkLayout {
  readonly jobs: string;
  readonly checkpoints: string;
  readonly leader: string;
  readonly mesos: string;
  readonly workers: string;

  constructor(readonly base: string) {
    this.jobs = `${base}/jobs`;
    this.checkpoints = `${base}/checkpoints`;
    this.leader = `${base}/leader`;
    this.mesos = `${base}/mesos`;
    this.workers = `${base}/mesos/workers`;
  }

  /** The persistent nodes every instance makes sure of at start. */
  get roots(): string[] {
    return [this.jobs, this.checkpoints, this.leader, this.workers];
  }

  job(jobId: string): string {
    return `${this.jobs}/${jobId}`;
  }

  checkpointsOf(jobId: string): string {
    return `${this.checkpoints}/${jobId}`;
  }

  counter(jobId: string): string {
    return `${this.checkpoints}/${jobId}/counter`;
  }

  latest(jobId: string): string {
    return `${this.checkpoints}/${jobId}/latest`;
  }

  frameworkId(): string {
    return `${this.mesos}/framework-id`;
  }

  worker(workerId: string): string {
    return `${this.workers}/${workerId}`;
  }

  election(component: string): string {
    return `${this.leader}/${component}`;
  }

  info(component: string): string {
    return `${this.leader}/${component}/info`;
  }

  /** The token of the term a latch holds: `<component>/latch-<seq>`. */
  tokenOf(component: string, latchName: string): LeaderToken {
    return `${component}/${latchName}`;
  }

  /** The latch a token names, or undefined when it is not a token of this store. */
  latchOf(token: LeaderToken): string | undefined {
    const m = TOKEN.exec(token);
    return m === null ? undefined : `${this.leader}/${m[1]}/${m[2]}`;
  }
}

/** A latch's sequence number, for ordering (names are `latch-` and 10 digits). */
export function latchSequence(name: string): number {
  return name.startsWith(LATCH_PREFIX) ? Number(name.slice(LATCH_PREFIX.length)) : Number.NaN;
}

export function znodeLocation(znode: string): RecordLocation {
  return { where: znode, remove: `delete it (zkCli delete ${znode})`, write: (json) => `write ${json} into it (zkCli set ${znode} '${json}')` };
}
