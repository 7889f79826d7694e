/**
 * infra/marathon: the schema for Marathon app definitions refuses what Marathon refuses (typos
 * included), and the session scheduler's app passes it: one instance, upgrades that stop the old
 * scheduler before the new one starts, a health check on the scheduler's /healthz, and the REST
 * token and the principal's secret as files from the secret store.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '@sluice/cli';
import { afterAll, describe, expect, it } from 'vitest';
import { argvEchoShim, expandedArgv } from './marathon-exec.js';
import { MARATHON_DIR, marathonAppErrors, secretFiles, type MarathonApp } from './marathon-schema.js';

const APP = JSON.parse(readFileSync(`${MARATHON_DIR}sluice-session.json`, 'utf8')) as MarathonApp;
const cliVersion = (JSON.parse(readFileSync(new URL('../../packages/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The app with one change, made by `change` on a deep copy. */
const variant = (change: (app: Record<string, any>) => void): unknown => {
  const copy = structuredClone(APP) as Record<string, any>;
  change(copy);
  return copy;
};

const cleanUp: (() => void)[] = [];
afterAll(() => cleanUp.forEach((f) => f()));

describe('the Marathon app of the session scheduler', () => {
  it('passes the schema and the rules across fields', () => {
    expect(marathonAppErrors(APP)).toEqual([]);
  });

  it('runs one scheduler, never two at once, and is checked on the scheduler\'s /healthz', () => {
    expect(APP).toMatchObject({
      instances: 1,
      upgradeStrategy: { minimumHealthCapacity: 0, maximumOverCapacity: 0 },
      labels: { MARATHON_SINGLE_INSTANCE_APP: 'true' },
      healthChecks: [{ protocol: 'MESOS_HTTP', path: '/healthz', portIndex: 2 }],
      portDefinitions: [{ name: 'rest' }, { name: 'rpc' }, { name: 'metrics' }],
      container: { type: 'MESOS', docker: { image: `sluice/agent:${cliVersion}` } },
    });
    // The health check's port is the one the scheduler's HTTP server listens on.
    expect(APP.cmd).toMatch(/--scheduler-metrics-port "\$PORT2"/);
    expect(APP.cmd).toMatch(/--container-image sluice\/agent:[^ ]+ /);
    expect(APP.cmd).toContain(`sluice/agent:${cliVersion}`);
  });

  it('expands to a mesos-session command line the CLI takes, with the job defaults every submitted job gets', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sluice-marathon-app-'));
    cleanUp.push(() => rmSync(home, { recursive: true, force: true }));
    const argv = await expandedArgv(APP, { home, pathDir: argvEchoShim(join(home, 'bin')), secrets: { 'sluice/mesos-secret': 's', 'sluice/rest-token': 't'.repeat(43) } });
    const parsed = parseCommandLine(argv);
    expect(parsed).toMatchObject({ kind: 'mesos-session', options: { taskManagers: 1, maxTaskManagers: 10, slots: 2, jobDefaults: { parallelism: 2, checkpointDir: '/mnt/sluice/checkpoints' }, restTokenFrom: 'sluice-rest-token', restAllowedHosts: ['127.0.0.1'] } });
    expect(parsed).toMatchObject({ options: { mesos: { volumes: [{ hostPath: '/mnt/sluice', containerPath: '/mnt/sluice', mode: 'RW' }] } } });
  });

  it('takes the REST token and the principal\'s secret as files from the secret store, never as environment variables', () => {
    expect(secretFiles(APP)).toEqual([
      { containerPath: 'sluice-mesos-secret', secret: 'mesos-secret', source: 'sluice/mesos-secret' },
      { containerPath: 'sluice-rest-token', secret: 'rest-token', source: 'sluice/rest-token' },
    ]);
    expect(APP.cmd).toMatch(/--mesos-secret-file sluice-mesos-secret /);
    expect(APP.cmd).toMatch(/--rest-token-from sluice-rest-token /);
    for (const [name, value] of Object.entries(APP.env ?? {})) expect(typeof value, name).toBe('string');
  });

  const refused: [string, unknown, RegExp][] = [
    ['an unknown top-level field (a typo)', variant((a) => (a.instance = 1)), /\(app\) must NOT have additional properties: instance/],
    ['both cmd and args', variant((a) => (a.args = ['sluice'])), /\(app\) must NOT be valid/],
    ['no command and no image', variant((a) => { delete a.cmd; delete a.container; }), /\(app\) must match a schema in anyOf/],
    ['an id with capitals', variant((a) => (a.id = '/Sluice/session')), /\/id must match pattern/],
    ['an upgrade capacity above 1', variant((a) => (a.upgradeStrategy.maximumOverCapacity = 1.5)), /\/upgradeStrategy\/maximumOverCapacity must be <= 1/],
    ['a negative instance count', variant((a) => (a.instances = -1)), /\/instances must be >= 0/],
    ['cpus of 0', variant((a) => (a.cpus = 0)), /\/cpus must be >= 0\.001/],
    ['an unknown health check protocol', variant((a) => (a.healthChecks[0].protocol = 'GRPC')), /\/healthChecks\/0\/protocol must be equal to one of the allowed values/],
    ['a health check path without its slash', variant((a) => (a.healthChecks[0].path = 'healthz')), /\/healthChecks\/0\/path must match pattern/],
    ['a health check on a port the app does not have', variant((a) => (a.healthChecks[0].portIndex = 3)), /\/healthChecks\/0\/portIndex 3 is beyond the 3 port definition\(s\)/],
    ['a COMMAND health check without its command', variant((a) => (a.healthChecks[0] = { protocol: 'COMMAND' })), /\/healthChecks\/0 must have required property 'command'/],
    ['a secret as an environment variable', variant((a) => (a.env.SLUICE_REST_TOKEN = { secret: 'rest-token' })), /\/env\/SLUICE_REST_TOKEN takes a secret as an environment variable/],
    ['a secret volume naming an undeclared secret', variant((a) => (a.container.volumes[1].secret = 'token')), /secret 'token' is used but not declared/],
    ['an environment variable name the shell cannot hold', variant((a) => (a.env['LOG-LEVEL'] = 'info')), /\/env must NOT have additional properties: LOG-LEVEL/],
    ['a volume of no known kind', variant((a) => a.container.volumes.push({ containerPath: 'x' })), /\/container\/volumes\/3 must match exactly one schema in oneOf/],
    ['a port name with capitals', variant((a) => (a.portDefinitions[0].name = 'REST')), /\/portDefinitions\/0\/name must match pattern/],
    ['two ports of the same name', variant((a) => (a.portDefinitions[1].name = 'rest')), /portDefinitions names must be unique/],
    ['an unknown constraint operator', variant((a) => (a.constraints = [['hostname', 'NEAR']])), /\/constraints\/0\/1 must be equal to one of the allowed values/],
    ['a constraint of four parts', variant((a) => (a.constraints = [['hostname', 'LIKE', 'a', 'b']])), /\/constraints\/0 must NOT have more than 3 items/],
    ['labels that are not strings', variant((a) => (a.labels.replicas = 1)), /\/labels\/replicas must be string/],
    ['an unknown kill selection', variant((a) => (a.killSelection = 'RANDOM')), /\/killSelection must be equal to one of the allowed values/],
    ['an unreachable strategy of an unknown kind', variant((a) => (a.unreachableStrategy = 'forever')), /\/unreachableStrategy must match exactly one schema in oneOf/],
  ];

  it.each(refused)('the schema refuses %s', (_, app, message) => {
    expect(marathonAppErrors(app).join('\n')).toMatch(message);
  });

  it('the schema takes the fields a Marathon app may have beyond this one', () => {
    const full = variant((a) => {
      a.constraints = [['hostname', 'UNIQUE'], ['rack', 'GROUP_BY', '3'], ['@zone', 'IS', 'eu-1a']];
      a.fetch = [{ uri: 'https://example.invalid/x.tgz', extract: true, cache: false }];
      a.killSelection = 'OLDEST_FIRST';
      a.unreachableStrategy = 'disabled';
      a.acceptedResourceRoles = ['*', 'streaming'];
      a.container.volumes.push({ containerPath: 'state', persistent: { size: 512 }, mode: 'RW' }, { containerPath: '/mnt/nfs', hostPath: '/mnt/nfs', mode: 'RW' });
      a.residency = { relaunchEscalationTimeoutSeconds: 3600, taskLostBehavior: 'WAIT_FOREVER' };
      a.healthChecks.push({ protocol: 'COMMAND', command: { value: 'true' } }, { protocol: 'TCP', portIndex: 1 });
      a.readinessChecks = [{ name: 'ready', protocol: 'HTTP', path: '/healthz', portName: 'metrics', intervalSeconds: 10, httpStatusCodesForReady: [200] }];
    });
    expect(marathonAppErrors(full)).toEqual([]);
  });
});
