/**
 * The ClusterDriver: the one seam between the ResourceManager and whatever actually starts
 * worker processes (in-process TaskManagers, child processes, Mesos tasks). The RM names the
 * worker it wants (its resource id and slot count) and learns about workers only through the
 * events below, so it never knows which driver it has.
 */

export interface WorkerSpec {
  /** Chosen by the ResourceManager; the started TaskManager registers under it. */
  resourceId: string;
  numberOfSlots: number;
}

export interface ClusterDriverEvents {
  /** A worker process is up (its TaskManager registers separately). */
  onWorkerStarted(resourceId: string): void;
  /** A worker process is gone, whether released or crashed. */
  onWorkerTerminated(resourceId: string, reason: string): void;
  /**
   * Workers an earlier run of the driver started that may still run (a restarted scheduler finds
   * its Mesos tasks again), reported from `initialize`. The ResourceManager counts them as coming,
   * so it starts no duplicates while their TaskManagers register again, and releases any that has
   * not registered within the heartbeat timeout.
   */
  onWorkersRecovered?(workers: WorkerSpec[]): void;
}

export interface ClusterDriver {
  /** Called once by the ResourceManager before any other method. */
  initialize(events: ClusterDriverEvents): Promise<void>;
  /** Starts a worker; resolves once it is started (not necessarily registered). */
  requestWorker(spec: WorkerSpec): Promise<void>;
  /** Stops a worker; unknown ids are ignored. */
  releaseWorker(resourceId: string): Promise<void>;
  /** Stops every worker this driver started. */
  terminate(): Promise<void>;
  /**
   * Whether a channel of the driver's own (not RPC) saw the worker's process alive and registered
   * just now — the Mesos executor's reports. When the RPC connection to such a worker closes, the
   * ResourceManager waits for the heartbeat timeout instead of dropping it at once: a connection
   * blip is not a dead TaskManager (a dead one is reported by the driver anyway).
   */
  isWorkerReportedAlive?(resourceId: string): boolean;
}
