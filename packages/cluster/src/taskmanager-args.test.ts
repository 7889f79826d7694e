import { describe, expect, it } from 'vitest';
import { parseTaskManagerArgs } from './taskmanager-args.js';

const required = ['--cluster', 'sluice://10.0.0.5:6123', '--secret-file', '/etc/sluice/secret'];

describe('sluice taskmanager flags', () => {
  it('takes every flag, as --flag value or --flag=value', () => {
    expect(
      parseTaskManagerArgs([
        ...required,
        '--slots=4',
        '--resource-id', 'tm-a',
        '--bind-host', '0.0.0.0',
        '--advertised-host', 'worker-3.example',
        '--rpc-port', '6124',
        '--data-port=6125',
        '--data-advertised-port', '16125',
        '--metrics-port', '9249',
        '--metrics-host', '0.0.0.0',
        '--cache-dir', '/var/cache/sluice',
        '--worker-threads', '16',
        '--worker-young-generation-mb', '24',
        '--tls-cert-file', 'node.crt', '--tls-key-file', 'node.key', '--tls-ca-file', 'ca.crt',
      ]),
    ).toEqual({
      cluster: 'sluice://10.0.0.5:6123',
      secretFile: '/etc/sluice/secret',
      slots: 4,
      resourceId: 'tm-a',
      bindHost: '0.0.0.0',
      advertisedHost: 'worker-3.example',
      rpcPort: 6124,
      dataPort: 6125,
      dataAdvertisedPort: 16125,
      metricsPort: 9249,
      metricsHost: '0.0.0.0',
      cacheDir: '/var/cache/sluice',
      workerThreads: 16,
      workerYoungGenerationMb: 24,
      tls: { enabled: true, certFile: 'node.crt', keyFile: 'node.key', caFile: 'ca.crt' },
    });
    expect(parseTaskManagerArgs(required)).toEqual({ cluster: 'sluice://10.0.0.5:6123', secretFile: '/etc/sluice/secret' });
    expect(parseTaskManagerArgs(['--help'])).toBe('help');
  });

  it('finds the cluster through ZooKeeper instead of --cluster', () => {
    expect(parseTaskManagerArgs(['--secret-file', 's', '--high-availability', 'zookeeper', '--ha-quorum', 'zk1:2181,zk2:2181', '--ha-cluster-id', 'payments', '--ha-session-timeout', '5000'])).toEqual({
      secretFile: 's',
      ha: { mode: 'zookeeper', quorum: 'zk1:2181,zk2:2181', clusterId: 'payments', sessionTimeoutMs: 5000 },
    });
  });

  it.each([
    [[], /--cluster is required/],
    [['--cluster', 'sluice://h:1'], /--secret-file is required/],
    [[...required, '--slots', '0'], /--slots must be a positive integer, got '0'/],
    [[...required, '--data-port', '70000'], /--data-port must be a port number in 0–65535/],
    [[...required, '--slots'], /--slots needs a value/],
    [[...required, '--slot', '2'], /unknown option '--slot'/],
    [[...required, '--slots', '2', '--slots=3'], /--slots is given twice/],
    [[...required, '--tls-cert-file', 'x'], /TLS needs all of --tls-cert-file, --tls-key-file and --tls-ca-file/],
    [[...required, '--high-availability', 'zookeeper', '--ha-quorum', 'zk:2181'], /give --cluster or --high-availability zookeeper, not both/],
    [['--secret-file', 's', '--high-availability', 'zookeeper'], /needs --ha-quorum/],
    [['--secret-file', 's', '--ha-quorum', 'zk:2181'], /--ha-quorum needs --high-availability zookeeper/],
  ])('refuses %j with one line saying what is wrong', (argv, message) => {
    expect(() => parseTaskManagerArgs(argv)).toThrow(message);
  });
});
