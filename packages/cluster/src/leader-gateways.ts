/**
 * Gateways that always reach the current leader: what every entrypoint's REST API serves from,
 * so a request to a standby is answered by the leader (over the cluster's authenticated RPC) and
 * clients need not know which entrypoint leads. While no leader is known (an election is on) a
 * call fails with NO_LEADER, and while the known one cannot be reached with LEADER_UNREACHABLE;
 * both are retriable, and the REST API answers 503.
 */
import { hasErrorCode, SluiceError } from '@sluice/common';
import type { LeaderInfo } from '@sluice/ha';
import type { RpcService } from '@sluice/protocol';

/** The leader's process is gone, stuck, or no longer serves the endpoint (it lost its term). */
const TRANSPORT_FAILURES = ['RPC_UNREACHABLE', 'RPC_TIMEOUT', 'RPC_CONNECTION_LOST', 'RPC_SERVICE_STOPPED'];

export function leaderGateway<T extends object>(rpc: RpcService, ownAddress: string, endpoint: string, leader: () => LeaderInfo | undefined): T {
  const call = async (method: string, args: unknown[]): Promise<unknown> => {
    const current = leader();
    if (current === undefined) {
      throw new SluiceError('NO_LEADER', 'no entrypoint leads the cluster at the moment (an election is in progress); try again in a few seconds', { retriable: true });
    }
    // This entrypoint leads: its own endpoint, without a round trip through the network.
    const address = current.address === ownAddress ? endpoint : `${current.address}/${endpoint}`;
    try {
      const gateway = (await rpc.connect<Record<string, (...a: unknown[]) => Promise<unknown>>>(address));
      return await gateway[method]!(...args);
    } catch (err) {
      if (current.address !== ownAddress && hasErrorCode(err, ...TRANSPORT_FAILURES)) {
        throw new SluiceError('LEADER_UNREACHABLE', `the leading entrypoint at ${current.address} cannot be reached (${err instanceof Error ? err.message : String(err)}); if it failed, a standby takes over within the ZooKeeper session timeout — try again then`, { cause: err, retriable: true });
      }
      throw err;
    }
  };
  return new Proxy({} as T, {
    // Not a thenable: `await gateway` must not call it.
    get: (_target, method) => (typeof method !== 'string' || method === 'then' ? undefined : (...args: unknown[]) => call(method, args)),
  });
}
