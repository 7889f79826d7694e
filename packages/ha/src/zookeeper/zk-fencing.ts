/**
 * Fenced writes on ZooKeeper: a multi whose first op checks that the latch a token names still
 * exists at version 0. A latch is ephemeral, so once its leader's session is gone (or the leader
 * left) the whole multi fails on that op and nothing is written — whichever process sends it.
 */
import { isZooKeeperError, type Op, type OpResult, type ZooKeeperClient } from '@sluice/zookeeper';
import { FencedError } from '../errors.js';
import type { LeaderToken } from '../services.js';
import type { ZkLayout } from './zk-layout.js';
import type { ZkSessions } from './zk-sessions.js';

/**
 * Runs `ops` atomically if `token`'s term is current; HA_FENCED otherwise. A failure of one of
 * `ops` comes back as the client's ZooKeeperError, its `failedOp` counting the check as 0.
 */
export async function fencedMulti(sessions: ZkSessions, layout: ZkLayout, token: LeaderToken, what: string, ops: Op[], client?: ZooKeeperClient): Promise<OpResult[]> {
  const latch = layout.latchOf(token);
  if (latch === undefined) throw new FencedError(token, `refused to write ${what}: ${JSON.stringify(token)} is not a leadership token of ZooKeeper ${sessions.options.quorum}${layout.base}`);
  const run = (c: ZooKeeperClient): Promise<OpResult[]> => c.multi([{ type: 'check', path: latch, version: 0 }, ...ops]);
  try {
    return await (client === undefined ? sessions.call(`write ${what}`, run) : run(client));
  } catch (err) {
    if (isZooKeeperError(err) && err.failedOp === 0) {
      throw new FencedError(token, `refused to write ${what}: the leadership term ${token} is over (its latch ${latch} is gone: the leader's session ended or it left the election); only the current leader may write`, { cause: err });
    }
    throw err;
  }
}

/** Whether `err` is the failure of op `index` of a fenced multi with one of `codes`. */
export function failedAt(err: unknown, index: number, ...codes: string[]): boolean {
  return isZooKeeperError(err) && err.failedOp === index && codes.some((c) => isZooKeeperError(err, c));
}

/** Creates `path` and its ancestors as empty persistent nodes, when missing. */
export async function ensurePath(client: ZooKeeperClient, path: string): Promise<void> {
  if ((await client.exists(path)) !== undefined) return;
  try {
    await client.create(path, undefined, { parents: true });
  } catch (err) {
    if (!isZooKeeperError(err, 'NODEEXISTS')) throw err;
  }
}
