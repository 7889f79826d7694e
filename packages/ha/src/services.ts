/**
 * High-availability services: everything that must outlive a cluster entrypoint, behind one
 * interface with two implementations —
 *
 * - `none`: a local directory (one entrypoint; today's behaviour, every write atomic), and
 * - `zookeeper`: a ZooKeeper quorum, for two or three entrypoints of which one leads.
 *
 * What lives here: leader election and the leader's published address per component, the job
 * records (submission, JobMaster attempts, end), per job the checkpoint id counter and a pointer
 * to the latest completed checkpoint (the state itself stays in checkpoint storage), and — for
 * the Mesos driver — the framework id and the worker records.
 *
 * Fencing: every write carries the token of the leadership term it is made for (what
 * `grantLeadership` handed out). A write whose term has ended — the leader's ZooKeeper session
 * expired, or it gave leadership up — is refused with HA_FENCED and changes nothing, so a
 * deposed leader that still believes it leads (or a JobMaster it started) cannot overwrite
 * what the current leader wrote. Reads are not fenced.
 */
import type { JobStatus, JobSubmission } from '@sluice/protocol';

/** The error code of a write refused because its leadership term is over. */
export const HA_FENCED = 'HA_FENCED';
/** The error code of a record the store holds that cannot be read (it names the record and the job). */
export const HA_STORE_CORRUPT = 'HA_STORE_CORRUPT';
/** The error code of a store that cannot be reached (retriable). */
export const HA_UNAVAILABLE = 'HA_UNAVAILABLE';

/** A leadership term's token: opaque, unique over the cluster's life, compared for equality. */
export type LeaderToken = string;

/** What a leader publishes for followers (TaskManagers, JobMasters, the CLI, standbys). */
export interface LeaderInfo {
  token: LeaderToken;
  /** The leader's RPC address, `sluice://host:port`. */
  address: string;
  /** The leader's REST API, when it serves one. */
  restUrl?: string;
}

export interface LeaderContender {
  /** This contender leads from now on, in the term `token`, until `revokeLeadership`. */
  grantLeadership(token: LeaderToken): void;
  /**
   * The term ended: the store session was lost (never a mere suspended connection), or
   * leadership was given up. Called once per grant.
   */
  revokeLeadership(token: LeaderToken, reason: string): void;
}

export interface LeaderElection {
  /** Joins the election; resolves once the contender is registered (not once it leads). */
  start(contender: LeaderContender): Promise<void>;
  /** Publishes the leader's address for its term; refused with HA_FENCED when the term is over. */
  confirmLeadership(info: LeaderInfo): Promise<void>;
  /** Whether `token` is the term this contender holds now, as far as this process knows. */
  hasLeadership(token: LeaderToken): boolean;
  /** Leaves the election, giving leadership up (revokeLeadership is called) when held. */
  stop(): Promise<void>;
}

export interface LeaderRetrieval {
  /**
   * Calls `listener` with the current leader (undefined: none known, e.g. during an election)
   * once started and after every change; calls come in order, never concurrently.
   */
  start(listener: (leader: LeaderInfo | undefined) => void): Promise<void>;
  stop(): Promise<void>;
}

/** What a new leader needs to take a job over. */
export interface JobRecord {
  submission: JobSubmission;
  /** JobMasters started for the job so far; the next one's attempt number. */
  jobMasterAttempts: number;
  /** Set once the job reached a terminal status: a new leader does not run it again. */
  ended?: { status: JobStatus; endTime: number };
}

export interface CheckpointPointer {
  id: number;
  /** Where the checkpoint lives in checkpoint storage (its directory). */
  location: string;
}

/** A record the store could not read, reported instead of failing the whole listing. */
export interface StoreProblem {
  jobId: string;
  /** The file or znode. */
  where: string;
  problem: string;
}

export interface JobRecordStore {
  put(token: LeaderToken, record: JobRecord): Promise<void>;
  /** Undefined when the job is unknown; HA_STORE_CORRUPT (naming the record) when unreadable. */
  get(jobId: string): Promise<JobRecord | undefined>;
  /** Every readable record; unreadable ones come back as problems, so the others still recover. */
  list(): Promise<{ records: JobRecord[]; problems: StoreProblem[] }>;
  /** Forgets the job, its counter and its pointer. */
  remove(token: LeaderToken, jobId: string): Promise<void>;
}

export interface CheckpointStore {
  /**
   * The next checkpoint id for the job, counted atomically (compare-and-set) so two JobMasters
   * of a job never hand out the same id; starts at 1.
   */
  nextCheckpointId(token: LeaderToken, jobId: string): Promise<number>;
  /** Makes the counter's next id at least `next` (after a restore from a savepoint). */
  advanceCheckpointIdTo(token: LeaderToken, jobId: string, next: number): Promise<void>;
  /** Records the job's latest completed checkpoint; only moves forward (a lower id is ignored). */
  putLatest(token: LeaderToken, jobId: string, pointer: CheckpointPointer): Promise<void>;
  /** Undefined when none was recorded; HA_STORE_CORRUPT naming the record and the job when unreadable. */
  latest(jobId: string): Promise<CheckpointPointer | undefined>;
  /** Where the job's pointer lives (file or znode) and how an operator removes it, for messages. */
  describeLatest(jobId: string): { where: string; remove: string };
}

/** A Mesos TaskManager's record, written before the call that changes it (ACCEPT, KILL). */
export interface WorkerRecord {
  /** The Mesos task id, `taskmanager-<n>`. */
  workerId: string;
  state: 'new' | 'launched' | 'released';
  agentId?: string;
  hostname?: string;
  /** The worker profile's name and anything the driver needs back after a restart. */
  profile?: string;
  attributes?: Record<string, string>;
  /** The ResourceManager's id of the worker (its TaskManager registers under it), when it differs from `workerId`. */
  resourceId?: string;
  /** The TaskManager's slots, so a worker recorded New is launched alike after a restart. */
  slots?: number;
  /** The agent's fault domain, for placement constraints after a restart. */
  region?: string;
  zone?: string;
}

export interface MesosStore {
  frameworkId(): Promise<string | undefined>;
  putFrameworkId(token: LeaderToken, frameworkId: string): Promise<void>;
  clearFrameworkId(token: LeaderToken): Promise<void>;
  workers(): Promise<{ records: WorkerRecord[]; problems: StoreProblem[] }>;
  putWorker(token: LeaderToken, record: WorkerRecord): Promise<void>;
  removeWorker(token: LeaderToken, workerId: string): Promise<void>;
}

/** The store's connection as seen by its users (metrics, logs): `suspended` restarts nothing. */
export type HaConnectionState = 'connected' | 'suspended' | 'lost';

export interface HighAvailabilityServices {
  readonly mode: 'none' | 'zookeeper';
  /** Where the data lives, for logs and errors: a directory, or `zk://quorum/root/cluster-id`. */
  readonly description: string;
  /** Leader election of a component (`dispatcher`: the entrypoint's leadership). */
  leaderElection(component: string): LeaderElection;
  leaderRetrieval(component: string): LeaderRetrieval;
  readonly jobs: JobRecordStore;
  readonly checkpoints: CheckpointStore;
  readonly mesos: MesosStore;
  onConnectionState(listener: (state: HaConnectionState) => void): () => void;
  /** Leaves every election, closes the session; idempotent. */
  close(): Promise<void>;
}

export type HighAvailabilityOptions =
  | {
      mode: 'none';
      /** The directory (private, mode 0700) the records live in. */
      directory: string;
    }
  | {
      mode: 'zookeeper';
      /** `host:port,host:port` */
      quorum: string;
      /** Default `/sluice`. */
      rootPath?: string;
      /** Default `default`; entrypoints with the same id form one cluster. */
      clusterId?: string;
      /** Default 60_000. */
      sessionTimeoutMs?: number;
      /** Default 15_000. */
      connectionTimeoutMs?: number;
      tls?: { caFile: string; certFile?: string; keyFile?: string };
      /** Digest credentials `user:password`; nodes are then created readable only by it (creator ACL). */
      digest?: string;
    };
