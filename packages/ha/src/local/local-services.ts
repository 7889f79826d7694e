/**
 * High availability `none`: one entrypoint, its records in a local directory (private files,
 * replaced atomically). The JobMaster processes an entrypoint starts open the same directory and
 * write with the token they were given.
 *
 * ```
 * <directory>/jobs/<jobId>.json          JobRecord
 * <directory>/jobs/<jobId>.checkpoint    latest completed checkpoint {id, location}
 * <directory>/jobs/<jobId>.counter       {next}: the next checkpoint id
 * <directory>/leader/<component>.json    the published LeaderInfo
 * <directory>/leader/<component>.token   the current term {token, pid, hostname}
 * <directory>/mesos/framework-id         {frameworkId}
 * <directory>/mesos/workers/<id>.json    WorkerRecord
 * ```
 */
import { type Logger, silentLogger } from '@sluice/common';
import type { HaConnectionState, HighAvailabilityServices, LeaderElection, LeaderRetrieval } from '../services.js';
import { LocalLayout } from './local-files.js';
import { LocalLeaderElection, LocalLeaderRetrieval } from './local-leadership.js';
import { LocalCheckpointStore, LocalJobRecordStore, LocalMesosStore } from './local-stores.js';

export interface LocalHighAvailabilityOptions {
  directory: string;
  /** How often elections look for a free term and retrievals for a new leader. Default 500. */
  pollIntervalMs?: number;
  logger?: Logger;
}

export const DEFAULT_LOCAL_POLL_INTERVAL_MS = 500;

export function createLocalHighAvailabilityServices(options: LocalHighAvailabilityOptions): HighAvailabilityServices {
  const layout = new LocalLayout(options.directory);
  const poll = options.pollIntervalMs ?? DEFAULT_LOCAL_POLL_INTERVAL_MS;
  const logger = options.logger ?? silentLogger;
  const elections = new Set<LeaderElection>();
  const retrievals = new Set<LeaderRetrieval>();
  let closed: Promise<void> | undefined;
  return {
    mode: 'none',
    description: layout.directory,
    leaderElection(component) {
      const e = new LocalLeaderElection(layout, component, poll, logger);
      elections.add(e);
      return e;
    },
    leaderRetrieval(component) {
      const r = new LocalLeaderRetrieval(layout, component, poll, logger);
      retrievals.add(r);
      return r;
    },
    jobs: new LocalJobRecordStore(layout),
    checkpoints: new LocalCheckpointStore(layout),
    mesos: new LocalMesosStore(layout),
    // A directory is never suspended or lost.
    onConnectionState: (_listener: (state: HaConnectionState) => void) => () => undefined,
    close() {
      closed ??= Promise.all([...elections, ...retrievals].map((x) => x.stop())).then(() => undefined);
      return closed;
    },
  };
}
