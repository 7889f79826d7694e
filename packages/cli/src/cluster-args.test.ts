import { describe, expect, it } from 'vitest';
import { UsageError } from './arg-parsing.js';
import { parseCluster } from './cluster-args.js';

const help = { cluster: 'HELP' };
const start = (...args: string[]) => parseCluster(['start', ...args], help);
const refusal = (...args: string[]): string => {
  try {
    start(...args);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message.replace(/\. Run 'sluice cluster --help'$/, '');
  }
  throw new Error('accepted');
};

describe('sluice cluster start: the REST token from a file', () => {
  it('takes --rest-token-from apart from --rest-token-file (where the token is written), and refuses an empty path', () => {
    expect(start('--rest-token-from', 'secrets/rest-token', '--rest-token-file', 'out/rest.token')).toMatchObject({
      options: { restTokenFrom: 'secrets/rest-token', restTokenFile: 'out/rest.token' },
    });
    expect(start()).not.toHaveProperty('options.restTokenFrom');
    expect(refusal('--rest-token-from', '')).toBe("invalid value '' for --rest-token-from: expected a file path");
  });
});

describe('sluice cluster start: the REST API\'s allowed hosts', () => {
  it('takes --rest-allowed-host repeatedly and refuses what cannot be a Host header', () => {
    expect(start('--rest-allowed-host', 'sluice.example.com', '--rest-allowed-host', 'sluice.marathon.l4lb.thisdcos.directory')).toMatchObject({
      options: { restAllowedHosts: ['sluice.example.com', 'sluice.marathon.l4lb.thisdcos.directory'] },
    });
    expect(start()).not.toHaveProperty('options.restAllowedHosts');
    expect(refusal('--rest-allowed-host', 'http://x/')).toMatch(/^invalid value 'http:\/\/x\/' for --rest-allowed-host: /);
  });
});

describe('sluice cluster start: high-availability flags', () => {
  it('takes ZooKeeper mode with every option', () => {
    const c = start(
      '--high-availability', 'zookeeper', '--ha-quorum', 'zk1:2181,zk2:2181', '--ha-storage-dir', 'shared', '--ha-root', '/apps/sluice',
      '--ha-cluster-id', 'payments', '--ha-session-timeout', '5000', '--ha-connection-timeout', '3000',
      '--ha-tls-ca-file', 'ca.pem', '--ha-tls-cert-file', 'me.crt', '--ha-tls-key-file', 'me.key', '--ha-digest-file', 'zk.digest',
    );
    expect(c).toMatchObject({
      kind: 'cluster-start',
      options: {
        highAvailability: {
          mode: 'zookeeper', quorum: 'zk1:2181,zk2:2181', storageDir: 'shared', rootPath: '/apps/sluice', clusterId: 'payments',
          sessionTimeoutMs: 5000, connectionTimeoutMs: 3000, tls: { caFile: 'ca.pem', certFile: 'me.crt', keyFile: 'me.key' }, digestFile: 'zk.digest',
        },
      },
    });
  });

  it('is off by default and with none', () => {
    expect(start()).toMatchObject({ kind: 'cluster-start' });
    expect((start() as { options: object }).options).not.toHaveProperty('highAvailability');
    expect((start('--high-availability', 'none') as { options: object }).options).not.toHaveProperty('highAvailability');
  });

  it('refuses incomplete or contradictory flags, naming the flag and what it needs', () => {
    expect(refusal('--high-availability', 'zk')).toBe("invalid value 'zk' for --high-availability: expected none or zookeeper");
    expect(refusal('--high-availability', 'zookeeper', '--ha-storage-dir', 's')).toBe('--high-availability zookeeper needs --ha-quorum host:port[,host:port...]');
    expect(refusal('--high-availability', 'zookeeper', '--ha-quorum', 'zk:2181')).toMatch(/^--high-availability zookeeper needs --ha-storage-dir DIR/);
    expect(refusal('--ha-quorum', 'zk:2181')).toBe('--ha-quorum needs --high-availability zookeeper');
    expect(refusal('--ha-storage-dir', 'x')).toBe('--ha-storage-dir needs --high-availability zookeeper');
    expect(refusal('--high-availability', 'zookeeper', '--ha-quorum', 'zk:2181', '--ha-storage-dir', 's', '--ha-session-timeout', '5s')).toBe(
      "invalid value '5s' for --ha-session-timeout: expected a whole number of milliseconds above 0",
    );
    expect(refusal('--high-availability', 'zookeeper', '--ha-quorum', 'zk:2181', '--ha-storage-dir', 's', '--ha-tls-cert-file', 'c')).toBe('--ha-tls-cert-file and --ha-tls-key-file go together');
  });
});

describe('sluice cluster start --detach: the HA flags handed to the background process', () => {
  it('parse back to the same options (paths made absolute)', async () => {
    const { haArgs } = await import('./cluster-command.js');
    const given = start(
      '--high-availability', 'zookeeper', '--ha-quorum', 'zk1:2181', '--ha-storage-dir', 'shared', '--ha-root', '/apps/sluice', '--ha-cluster-id', 'payments',
      '--ha-session-timeout', '5000', '--ha-connection-timeout', '3000', '--ha-tls-ca-file', 'ca.pem', '--ha-tls-cert-file', 'me.crt', '--ha-tls-key-file', 'me.key', '--ha-digest-file', 'zk.digest',
    ) as { options: { highAvailability: Parameters<typeof haArgs>[0] } };
    const again = start(...haArgs(given.options.highAvailability, '/srv/app')) as { options: { highAvailability: unknown } };
    expect(again.options.highAvailability).toEqual({
      mode: 'zookeeper', quorum: 'zk1:2181', storageDir: '/srv/app/shared', rootPath: '/apps/sluice', clusterId: 'payments', sessionTimeoutMs: 5000, connectionTimeoutMs: 3000,
      tls: { caFile: '/srv/app/ca.pem', certFile: '/srv/app/me.crt', keyFile: '/srv/app/me.key' }, digestFile: '/srv/app/zk.digest',
    });
  });
});

describe('sluice cluster start: heartbeat flags', () => {
  it('takes the interval and the timeout in milliseconds, and leaves both to the cluster by default', () => {
    expect(start('--heartbeat-interval', '200', '--heartbeat-timeout', '2000')).toMatchObject({ options: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000 } });
    expect(start('--heartbeat-timeout', '60000')).toMatchObject({ options: { heartbeatTimeoutMs: 60000 } });
    expect((start() as { options: object }).options).not.toHaveProperty('heartbeatTimeoutMs');
  });

  it('refuses a timeout no longer than the interval (the default interval counts when only the timeout is given)', () => {
    expect(refusal('--heartbeat-interval', '500', '--heartbeat-timeout', '500')).toBe('--heartbeat-timeout (500 ms) must be larger than --heartbeat-interval (500 ms); 3 to 5 intervals is usual');
    expect(refusal('--heartbeat-timeout', '5000')).toBe('--heartbeat-timeout (5000 ms) must be larger than --heartbeat-interval (10000 ms); 3 to 5 intervals is usual');
    expect(refusal('--heartbeat-interval', '1s')).toBe("invalid value '1s' for --heartbeat-interval: expected an integer ≥ 1");
  });
});

describe('sluice cluster start / mesos-session: --idle-taskmanager-timeout', () => {
  it('takes whole milliseconds above 0 and is left to the entrypoint without it', () => {
    expect(start('--idle-taskmanager-timeout', '1500')).toMatchObject({ options: { idleTaskManagerTimeoutMs: 1500 } });
    expect((start() as { options: object }).options).not.toHaveProperty('idleTaskManagerTimeoutMs');
    for (const bad of ['0', '2s', '1.5', '']) {
      expect(refusal('--idle-taskmanager-timeout', bad)).toBe(`invalid value '${bad}' for --idle-taskmanager-timeout: expected a whole number of milliseconds above 0`);
    }
  });
});
