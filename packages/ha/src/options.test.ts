import { describe, expect, it } from 'vitest';
import { resolveZooKeeperOptions } from './options.js';
import { ZkLayout } from './zookeeper/zk-layout.js';

describe('resolveZooKeeperOptions', () => {
  it('fills the defaults and joins root path and cluster id', () => {
    expect(resolveZooKeeperOptions({ mode: 'zookeeper', quorum: ' zk1:2181, zk2:2181 ,[::1]:2181' })).toEqual({
      quorum: 'zk1:2181,zk2:2181,[::1]:2181',
      rootPath: '/sluice',
      clusterId: 'default',
      sessionTimeoutMs: 60_000,
      connectionTimeoutMs: 15_000,
      base: '/sluice/default',
    });
    const o = resolveZooKeeperOptions({ mode: 'zookeeper', quorum: 'zk:2181', rootPath: '/apps/sluice', clusterId: 'prod-1', sessionTimeoutMs: 5_000, digest: 'u:p' });
    expect([o.base, o.sessionTimeoutMs, o.digest]).toEqual(['/apps/sluice/prod-1', 5_000, 'u:p']);
  });

  it.each([
    [{ quorum: '' }, /quorum "" is not a list of host:port \(empty\)/],
    [{ quorum: 'zk1:2181,zk2' }, /"zk2" is not one/],
    [{ quorum: 'zk:99999' }, /not a list of host:port/],
    [{ quorum: 'zk:2181', rootPath: 'sluice' }, /root path "sluice"/],
    [{ quorum: 'zk:2181', rootPath: '/sluice/' }, /root path/],
    [{ quorum: 'zk:2181', rootPath: '/zookeeper' }, /not under \/zookeeper/],
    [{ quorum: 'zk:2181', clusterId: 'a/b' }, /cluster id "a\/b"/],
    [{ quorum: 'zk:2181', sessionTimeoutMs: 0 }, /sessionTimeoutMs must be/],
    [{ quorum: 'zk:2181', connectionTimeoutMs: 1.5 }, /connectionTimeoutMs must be/],
    [{ quorum: 'zk:2181', digest: 'nopassword' }, /user:password/],
    [{ quorum: 'zk:2181', tls: { caFile: 'ca.pem', certFile: 'c.pem' } }, /certFile and keyFile together/],
  ])('refuses %j', (o, message) => {
    expect(() => resolveZooKeeperOptions({ mode: 'zookeeper', ...o })).toThrow(message);
  });
});

describe('ZkLayout tokens', () => {
  it('name the latch of their term and nothing else', () => {
    const l = new ZkLayout('/sluice/default');
    const token = l.tokenOf('dispatcher', 'latch-0000000007');
    expect(token).toBe('dispatcher/latch-0000000007');
    expect(l.latchOf(token)).toBe('/sluice/default/leader/dispatcher/latch-0000000007');
    for (const bad of ['dispatcher/local-0123456789abcdef', '../x/latch-0000000001', 'dispatcher/latch-1', 'dispatcher/latch-0000000001/..']) expect(l.latchOf(bad)).toBeUndefined();
  });
});
