import { describe, expect, it } from 'vitest';
import { UsageError } from './arg-parsing.js';
import { parseMesosSession } from './cluster-args.js';

const session = (...args: string[]) => parseMesosSession(args, 'HELP');
const refusal = (...args: string[]): string => {
  try {
    session(...args);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message.replace(/\. Run 'sluice mesos-session --help'$/, '');
  }
  throw new Error('accepted');
};

describe('sluice mesos-session: flags', () => {
  it('has the defaults a Mesos framework needs: elastic TaskManagers, role *, one-week failover timeout, protobuf', () => {
    const c = session('--master', '10.0.0.5:5050');
    expect(c).toEqual({
      kind: 'mesos-session',
      options: {
        taskManagers: 0,
        slots: 1,
        rpcPort: 6123,
        restPort: 8081,
        detach: false,
        quiet: false,
        mesos: {
          master: '10.0.0.5:5050',
          roles: ['*'],
          frameworkName: 'Sluice',
          failoverTimeoutSeconds: 604_800,
          constraints: [],
          taskManager: { cpus: 1, memMb: 1024, diskMb: 0, gpus: 0 },
          executor: { cpus: 0.1, memMb: 128 },
          executorUris: [],
          containerizer: 'mesos',
          volumes: [],
          metricsPort: 0,
          encoding: 'protobuf',
        },
      },
    });
  });

  it('takes every Mesos option with the cluster options', () => {
    const c = session(
      '--master', 'zk://zk1:2181,zk2:2181/mesos', '--slots', '2', '--bind-host', '0.0.0.0', '--advertised-host', 'sched.example',
      '--mesos-principal', 'sluice', '--mesos-secret-file', 'secret', '--mesos-tls-ca-file', 'ca.pem', '--mesos-role', 'streaming', '--mesos-role', 'batch',
      '--mesos-user', 'sluice', '--framework-name', 'payments', '--failover-timeout', '3600', '--constraints', '[["hostname","UNIQUE"],["rack","GROUP_BY","3"]]',
      '--tm-cpus', '2.5', '--tm-memory', '4096', '--tm-disk', '1000', '--tm-gpus', '1', '--executor-cpus', '0.2', '--executor-memory', '96',
      '--executor-command', 'sluice-mesos-executor', '--executor-uri', 'http://artifacts/sluice.tgz', '--container-image', 'example/sluice:1',
      '--containerizer', 'docker', '--scheduler-metrics-port', '9250', '--scheduler-metrics-host', '0.0.0.0', '--mesos-encoding', 'json',
    );
    expect(c).toMatchObject({
      kind: 'mesos-session',
      options: {
        slots: 2,
        bindHost: '0.0.0.0',
        advertisedHost: 'sched.example',
        mesos: {
          master: 'zk://zk1:2181,zk2:2181/mesos', principal: 'sluice', secretFile: 'secret', tlsCaFile: 'ca.pem', roles: ['streaming', 'batch'], user: 'sluice',
          frameworkName: 'payments', failoverTimeoutSeconds: 3600,
          constraints: [{ field: 'hostname', operator: 'UNIQUE' }, { field: 'rack', operator: 'GROUP_BY', value: '3' }],
          taskManager: { cpus: 2.5, memMb: 4096, diskMb: 1000, gpus: 1 }, executor: { cpus: 0.2, memMb: 96 },
          executorCommand: 'sluice-mesos-executor', executorUris: ['http://artifacts/sluice.tgz'], containerImage: 'example/sluice:1', containerizer: 'docker',
          metricsPort: 9250, metricsHost: '0.0.0.0', encoding: 'json',
        },
      },
    });
  });

  it('mounts agent directories into the TaskManagers\' containers with --tm-volume, and refuses what Mesos would', () => {
    const withImage = ['--master', 'm:5050', '--container-image', 'sluice/agent:1'];
    expect(session(...withImage, '--tm-volume', '/mnt/nfs/sluice:/mnt/sluice', '--tm-volume', '/etc/pki:/etc/pki:ro')).toMatchObject({
      options: { mesos: { volumes: [{ hostPath: '/mnt/nfs/sluice', containerPath: '/mnt/sluice', mode: 'RW' }, { hostPath: '/etc/pki', containerPath: '/etc/pki', mode: 'RO' }] } },
    });
    expect(session('--master', 'm:5050')).toMatchObject({ options: { mesos: { volumes: [] } } });
    for (const bad of ['/a', 'a:/b', '/a:b', '/a:/b:rx', '/a:/b:ro:x']) {
      expect(refusal(...withImage, '--tm-volume', bad)).toBe(`invalid value '${bad}' for --tm-volume: expected /agent/dir:/container/dir, optionally :ro or :rw after it`);
    }
    expect(refusal('--master', 'm:5050', '--tm-volume', '/a:/b')).toMatch(/^--tm-volume needs --container-image/);
  });

  it('takes a Sluice package to serve to the agents', () => {
    expect(session('--master', 'm:5050', '--sluice-package', 'build/sluice.tar.gz')).toMatchObject({ options: { mesos: { sluicePackage: 'build/sluice.tar.gz' } } });
  });

  it("takes Flink's attr:value shorthand for constraints", () => {
    const c = session('--master', 'm:5050', '--constraints', 'rack:r1,zone:a');
    expect(c).toMatchObject({ options: { mesos: { constraints: [{ field: 'rack', operator: 'IS', value: 'r1' }, { field: 'zone', operator: 'IS', value: 'a' }] } } });
  });

  it('adds the constraints of every --constraints given, in order, and names the bad one', () => {
    const c = session('--master', 'm:5050', '--constraints', '[["hostname","UNIQUE"]]', '--constraints', '[["rack","GROUP_BY","3"]]', '--constraints', 'zone:a');
    expect(c).toMatchObject({
      options: { mesos: { constraints: [{ field: 'hostname', operator: 'UNIQUE' }, { field: 'rack', operator: 'GROUP_BY', value: '3' }, { field: 'zone', operator: 'IS', value: 'a' }] } },
    });
    expect(refusal('--master', 'm:5050', '--constraints', '[["hostname","UNIQUE"]]', '--constraints', '[["rack","MAX_PER"]]')).toMatch(/^invalid value for --constraints: .*MAX_PER/);
  });

  it('refuses bad values, naming the flag and what it takes', () => {
    expect(refusal()).toMatch(/^--master is required/);
    expect(refusal('--master', 'm:5050', '--tm-cpus', '0')).toBe("invalid value '0' for --tm-cpus: expected a number > 0");
    expect(refusal('--master', 'm:5050', '--tm-memory', 'lots')).toBe("invalid value 'lots' for --tm-memory: expected a number > 0");
    expect(refusal('--master', 'm:5050', '--tm-cpus', '0.0001')).toBe("invalid value '0.0001' for --tm-cpus: Mesos keeps at most three decimals");
    expect(refusal('--master', 'm:5050', '--tm-gpus', '1.5')).toBe("invalid value '1.5' for --tm-gpus: expected a whole number");
    expect(refusal('--master', 'm:5050', '--mesos-role', 'a', '--mesos-role', 'a')).toMatch(/same role/);
    expect(refusal('--master', 'm:5050', '--containerizer', 'rkt', '--container-image', 'i')).toBe("invalid value 'rkt' for --containerizer: expected mesos or docker");
    expect(refusal('--master', 'm:5050', '--containerizer', 'docker')).toBe('--containerizer needs --container-image');
    expect(refusal('--master', 'm:5050', '--mesos-principal', 'p')).toMatch(/--mesos-principal and --mesos-secret-file go together/);
    expect(refusal('--master', 'm:5050', '--mesos-encoding', 'xml')).toBe("invalid value 'xml' for --mesos-encoding: expected protobuf or json");
    expect(refusal('--master', 'm:5050', '--scheduler-metrics-port', '70000')).toMatch(/--scheduler-metrics-port: expected a port number/);
    expect(refusal('--master', 'm:5050', '--constraints', '[["hostname","NEAR"]]')).toMatch(/^invalid value for --constraints: .*NEAR/);
    expect(refusal('--master', 'm:5050', '--detach')).toMatch(/--detach is not supported by mesos-session/);
    expect(refusal('--master', 'm:5050', '--taskmanagers', 'x')).toBe("invalid value 'x' for --taskmanagers: expected an integer ≥ 0");
    expect(refusal('--master', 'm:5050', 'extra')).toBe("unexpected argument 'extra'");
    expect(refusal('--master', 'm:5050', '--sluice-package', 'sluice.tar.gz', '--executor-command', 'x')).toMatch(/--sluice-package starts the executor from the package/);
  });

  it('answers --help with the help text', () => {
    expect(session('--help')).toEqual({ kind: 'help', text: 'HELP' });
  });
});
