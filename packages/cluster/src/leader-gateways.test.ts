import { SluiceError } from '@sluice/common';
import type { LeaderInfo } from '@sluice/ha';
import { LocalRpcService } from '@sluice/protocol';
import { describe, expect, it } from 'vitest';
import { leaderGateway } from './leader-gateways.js';

interface Echo {
  echo(x: string): Promise<string>;
  fail(): Promise<never>;
}

const ME = 'sluice://10.0.0.1:6123';
const OTHER = 'sluice://10.0.0.2:6123';

function echoAt(name: string): Echo {
  return {
    echo: async (x) => `${name}: ${x}`,
    fail: async () => {
      throw new SluiceError('JOB_NOT_FOUND', 'no job with id x');
    },
  };
}

describe('leaderGateway', () => {
  it("calls the leader's endpoint: its own local one when it leads, the other entrypoint's when that one does", async () => {
    const rpc = new LocalRpcService();
    rpc.register('dispatcher', echoAt('here'));
    rpc.register(`${OTHER}/dispatcher`, echoAt('there'));
    let leader: LeaderInfo | undefined = { token: 't1', address: ME };
    const gw = leaderGateway<Echo>(rpc, ME, 'dispatcher', () => leader);
    expect(await gw.echo('a')).toBe('here: a');
    leader = { token: 't2', address: OTHER };
    expect(await gw.echo('b')).toBe('there: b');
    // The leader's own errors pass through unchanged.
    await expect(gw.fail()).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('fails with NO_LEADER during an election and LEADER_UNREACHABLE when the leader does not answer, both retriable', async () => {
    const rpc = new LocalRpcService();
    let leader: LeaderInfo | undefined;
    const gw = leaderGateway<Echo>(rpc, ME, 'dispatcher', () => leader);
    await expect(gw.echo('a')).rejects.toMatchObject({ code: 'NO_LEADER', retriable: true });
    leader = { token: 't3', address: OTHER };
    await expect(gw.echo('a')).rejects.toMatchObject({ code: 'LEADER_UNREACHABLE', retriable: true, message: expect.stringContaining(OTHER) });
  });

  it('is no thenable, so awaiting it does not call the leader', async () => {
    const gw = leaderGateway<Echo>(new LocalRpcService(), ME, 'dispatcher', () => undefined);
    expect(await Promise.resolve(gw)).toBe(gw);
  });
});
