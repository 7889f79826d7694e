/**
 * High availability `zookeeper`: every entrypoint of a cluster id (and every JobMaster process
 * one starts) opens its own session on the quorum; see zk-layout.ts for the znodes.
 */
import { type Logger, silentLogger } from '@sluice/common';
import { isZooKeeperError } from '@sluice/zookeeper';
import type { ResolvedZooKeeperOptions } from '../options.js';
import type { HighAvailabilityServices, LeaderElection, LeaderRetrieval } from '../services.js';
import { ZkLeaderElection } from './zk-election.js';
import { ZkLayout } from './zk-layout.js';
import { ZkLeaderRetrieval } from './zk-retrieval.js';
import { ZkSessions } from './zk-sessions.js';
import { ZkCheckpointStore, ZkJobRecordStore, ZkMesosStore } from './zk-stores.js';

export async function createZooKeeperHighAvailabilityServices(options: ResolvedZooKeeperOptions, logger: Logger = silentLogger): Promise<HighAvailabilityServices> {
  const sessions = await ZkSessions.open(options, logger);
  const layout = new ZkLayout(options.base);
  try {
    await sessions.call(`create ${layout.base}`, async (client) => {
      for (const path of layout.roots) {
        if ((await client.exists(path)) !== undefined) continue;
        await client.create(path, undefined, { parents: true }).catch((err: unknown) => {
          if (!isZooKeeperError(err, 'NODEEXISTS')) throw err;
        });
      }
    });
  } catch (err) {
    await sessions.close();
    throw err;
  }
  const started = new Set<{ stop(): Promise<void> }>();
  let closed: Promise<void> | undefined;
  return {
    mode: 'zookeeper',
    description: `zk://${options.quorum}${layout.base}`,
    leaderElection(component): LeaderElection {
      const e = new ZkLeaderElection(sessions, layout, component, logger);
      started.add(e);
      return e;
    },
    leaderRetrieval(component): LeaderRetrieval {
      const r = new ZkLeaderRetrieval(sessions, layout, component, logger);
      started.add(r);
      return r;
    },
    jobs: new ZkJobRecordStore(sessions, layout),
    checkpoints: new ZkCheckpointStore(sessions, layout),
    mesos: new ZkMesosStore(sessions, layout),
    onConnectionState: (listener) => sessions.onConnectionState(listener),
    close() {
      closed ??= (async () => {
        await Promise.all([...started].map((x) => x.stop()));
        await sessions.close();
      })();
      return closed;
    },
  };
}
