/**
 * infra/dcos, the Universe package: rendered as Cosmos renders it (dcos-render.ts: config.json's
 * defaults under the options, draft-04 validation, mustache without HTML escaping, strings
 * JSON-escaped) with the defaults and with sample option sets. Every result must be JSON that the
 * Marathon schema accepts, its command must expand (through a real shell) to a `sluice
 * mesos-session` command line the CLI's own parser takes with the options' values, and no
 * rendered app may carry a secret's value or take a secret as an environment variable. Bad
 * options are refused with config.json's message.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '@sluice/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv04, DcosOptionsError, loadDcosPackage, renderDcosPackage, type JsonObject } from './dcos-render.js';
import { argvEchoShim, expandedArgv } from './marathon-exec.js';
import { marathonAppErrors, secretFiles, type MarathonApp } from './marathon-schema.js';

const pkg = loadDcosPackage();
let home = '';
let echo = '';
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'sluice-dcos-'));
  echo = argvEchoShim(join(home, 'echo-bin'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const SECRET_VALUES = { 'dev/sluice/principal-secret': 'mesos-principal-secret-value', 'dev/sluice/rest-token': 'r'.repeat(43) };

/** The mesos-session options the rendered app's command starts with, as the CLI parses them. */
async function sessionOptionsOf(app: MarathonApp) {
  const argv = await expandedArgv(app, { home, pathDir: echo, secrets: SECRET_VALUES });
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== 'mesos-session') throw new Error(`the command is not mesos-session: ${argv.join(' ')}`);
  return { argv, options: parsed.options };
}

const SAMPLES: Record<string, JsonObject> = {
  'high availability, secrets and fixed ports': {
    service: { name: 'payments-stream', principal: 'dev/sluice', secret_name: 'dev/sluice/principal-secret', rest_token_secret: 'dev/sluice/rest-token', fixed_ports: true, log_level: 'debug' },
    ha: { enabled: true, zookeeper: 'zk-1.zk:2181,zk-2.zk:2181', storage_dir: '/mnt/shared/sluice' },
  },
  'constraints with every kind of value, quotes of the constraint JSON included': {
    taskmanager: {
      constraints: [
        { field: 'hostname', operator: 'UNIQUE' },
        { field: 'rack', operator: 'GROUP_BY', value: '3' },
        { field: '@zone', operator: 'IN', value: 'eu-1a, eu-1b' },
        { field: 'disk', operator: 'LIKE', value: "ssd|nvme-[0-9]+|it's" },
        { field: 'hostname', operator: 'MAX_PER', value: '2' },
      ],
    },
  },
  'other counts and sizes': {
    service: { cpus: 0.5, mem: 1024, role: 'streaming/payments', user: 'sluice', failover_timeout: 3600 },
    taskmanager: { count: 0, max: 40, slots: 4, cpus: 2.5, mem: 8192, disk: 10240, containerizer: 'docker' },
  },
  'only the REST token secret, and an image of its own': {
    service: { rest_token_secret: 'dev/sluice/rest-token', image: 'registry.example:5000/sluice/agent:0.1.0-custom' },
  },
  'job defaults, with high availability and the checkpoints inside its storage directory': {
    ha: { enabled: true, storage_dir: '/mnt/shared/sluice' },
    job: { parallelism: 4, checkpoint_dir: '/mnt/shared/sluice/checkpoints', checkpoint_interval: '10s', settings: ['bootstrap=kafka-1.kafka:9092,kafka-2.kafka:9092', 'group.id=payments', 'bootstrap=kafka-0.kafka:9092', 'empty='] },
  },
  'job defaults alone: a checkpoint directory with the secrets, checkpoints off by default': {
    service: { principal: 'dev/sluice', secret_name: 'dev/sluice/principal-secret', rest_token_secret: 'dev/sluice/rest-token' },
    job: { checkpoint_dir: '/mnt/nfs/checkpoints', checkpoint_interval: '0' },
  },
  'job settings only': {
    job: { settings: ['topic=payments'] },
  },
};

/** What mesos-session's job defaults must be for the `job` options (undefined: none). */
function expectedJobDefaults(job: JsonObject): object | undefined {
  const out: Record<string, unknown> = {};
  if (job.parallelism !== undefined) out.parallelism = job.parallelism;
  if (job.checkpoint_dir !== '') out.checkpointDir = job.checkpoint_dir;
  const interval = String(job.checkpoint_interval);
  if (interval !== '') out.checkpointIntervalMs = interval === '0' ? 0 : Number(/^\d+/.exec(interval)![0]) * { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }[/[a-z]+$/.exec(interval)![0] as 'ms']!;
  const settings = job.settings as string[];
  if (settings.length > 0) out.params = Object.fromEntries(settings.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return Object.keys(out).length === 0 ? undefined : out;
}

describe('the DC/OS package', () => {
  it('is a packaging-4.0 framework package whose image is this version of the agent image', () => {
    const cliVersion = (JSON.parse(readFileSync(new URL('../../packages/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(pkg.packageJson).toMatchObject({ packagingVersion: '4.0', name: 'sluice', version: cliVersion, framework: true, upgradesFrom: [], downgradesTo: [] });
    for (const key of ['maintainer', 'description', 'preInstallNotes', 'postInstallNotes', 'minDcosReleaseVersion']) expect(pkg.packageJson[key], key).toEqual(expect.any(String));
    expect(pkg.resource).toEqual({ assets: { container: { docker: { agent: `sluice/agent:${cliVersion}` } } } });
    // config.json is itself a valid draft-04 schema, closed at every level.
    const ajv = new Ajv04({ strict: false });
    expect(ajv.validateSchema(pkg.config), JSON.stringify(ajv.errors)).toBe(true);
    const groups = pkg.config.properties as Record<string, JsonObject>;
    expect(pkg.config.additionalProperties).toBe(false);
    for (const [name, group] of Object.entries(groups)) expect(group.additionalProperties, name).toBe(false);
  });

  it('renders with the defaults to an app Marathon takes: one instance, never two at once, health on /healthz, the package image', async () => {
    const { app, text } = renderDcosPackage(pkg);
    expect(marathonAppErrors(app)).toEqual([]);
    expect(text).not.toMatch(/&(amp|quot|#\d+);/); // nothing HTML-escaped
    expect(app).toMatchObject({
      id: '/sluice',
      instances: 1,
      upgradeStrategy: { minimumHealthCapacity: 0, maximumOverCapacity: 0 },
      container: { type: 'MESOS', docker: { image: 'sluice/agent:0.1.0' }, volumes: [] },
      secrets: {},
      healthChecks: [{ protocol: 'MESOS_HTTP', path: '/healthz', portIndex: 2 }],
      portDefinitions: [{ name: 'rest', port: 0 }, { name: 'rpc', port: 0 }, { name: 'metrics', port: 0 }],
      labels: { MARATHON_SINGLE_INSTANCE_APP: 'true', DCOS_PACKAGE_FRAMEWORK_NAME: 'sluice' },
    });
    const { options } = await sessionOptionsOf(app as MarathonApp);
    expect(options).toMatchObject({
      taskManagers: 1, maxTaskManagers: 10, slots: 2, clusterDir: expect.stringMatching(/\/cluster$/), bindHost: '0.0.0.0', advertisedHost: '127.0.0.1', restHost: '0.0.0.0',
      mesos: {
        master: 'zk://master.mesos:2181/mesos', frameworkName: 'sluice', roles: ['*'], user: 'nobody', failoverTimeoutSeconds: 604_800,
        taskManager: { cpus: 1, memMb: 2048, diskMb: 0 }, containerImage: 'sluice/agent:0.1.0', containerizer: 'mesos', constraints: [], metricsHost: '0.0.0.0',
      },
    });
    expect(options).not.toHaveProperty('highAvailability');
    expect(options).not.toHaveProperty('restTokenFrom');
    expect(options).not.toHaveProperty('jobDefaults');
    expect(options.mesos.volumes).toEqual([]);
    expect(options.mesos).not.toHaveProperty('principal');
  });

  it.each(Object.entries(SAMPLES))('renders %s to an app Marathon takes, whose command carries every option', async (_, userOptions) => {
    const { app, options: merged } = renderDcosPackage(pkg, userOptions);
    expect(marathonAppErrors(app)).toEqual([]);
    const { options } = await sessionOptionsOf(app as MarathonApp);
    const service = merged.service as JsonObject;
    const tm = merged.taskmanager as JsonObject;
    expect(app.id).toBe(`/${String(service.name)}`);
    expect(options.mesos).toMatchObject({ frameworkName: service.name, roles: [service.role], user: service.user, failoverTimeoutSeconds: service.failover_timeout });
    expect(options).toMatchObject({ taskManagers: tm.count, maxTaskManagers: tm.max, slots: tm.slots });
    expect(options.mesos.taskManager).toMatchObject({ cpus: tm.cpus, memMb: tm.mem, diskMb: tm.disk });
    expect(options.mesos.containerizer).toBe(tm.containerizer);
    expect(options.mesos.containerImage).toBe(service.image === '' ? 'sluice/agent:0.1.0' : service.image);
    expect((app.container as JsonObject).docker).toMatchObject({ image: options.mesos.containerImage });
    expect(app.env).toMatchObject({ SLUICE_LOG_LEVEL: service.log_level });
    // The constraints arrive exactly, quotes and all.
    const constraints = (tm.constraints as JsonObject[]).map((c) => ({ field: c.field, operator: c.operator, ...(c.value === undefined ? {} : { value: c.value }) }));
    expect(options.mesos.constraints).toEqual(constraints);
    const ha = merged.ha as JsonObject;
    if (ha.enabled === true) {
      expect(options.highAvailability).toMatchObject({ quorum: ha.zookeeper, rootPath: ha.root, clusterId: service.name, storageDir: ha.storage_dir });
      expect((app.container as MarathonApp['container'])!.volumes).toContainEqual({ containerPath: ha.storage_dir, hostPath: ha.storage_dir, mode: 'RW' });
    }
    const ports = app.portDefinitions as { port: number }[];
    expect(app.requirePorts).toBe(service.fixed_ports);
    expect(ports.map((p) => p.port)).toEqual(service.fixed_ports === true ? [service.rest_port, service.rpc_port, (merged.metrics as JsonObject).port] : [0, 0, 0]);
    // Secrets: files in the sandbox, named by reference, read with the flags that read files.
    const files = secretFiles(app as MarathonApp);
    if (service.secret_name !== '') {
      expect(files).toContainEqual({ containerPath: 'sluice-mesos-secret', secret: 'mesos-secret', source: service.secret_name });
      expect(options.mesos).toMatchObject({ principal: service.principal, secretFile: 'sluice-mesos-secret' });
    }
    if (service.rest_token_secret !== '') {
      expect(files).toContainEqual({ containerPath: 'sluice-rest-token', secret: 'rest-token', source: service.rest_token_secret });
      expect(options.restTokenFrom).toBe('sluice-rest-token');
    }
    // Job defaults: the flags the cluster serves at GET /config; the checkpoint directory mounted for the JobMasters and the TaskManagers.
    const job = merged.job as JsonObject;
    expect(options.jobDefaults).toEqual(expectedJobDefaults(job));
    const volumes = (app.container as MarathonApp['container'])!.volumes ?? [];
    if (job.checkpoint_dir !== '') {
      expect(volumes).toContainEqual({ containerPath: job.checkpoint_dir, hostPath: job.checkpoint_dir, mode: 'RW' });
      expect(options.mesos.volumes).toEqual([{ hostPath: job.checkpoint_dir, containerPath: job.checkpoint_dir, mode: 'RW' }]);
    } else {
      expect(options.mesos.volumes).toEqual([]);
    }
    expect(new Set(volumes.map((v) => v.containerPath)).size).toBe(volumes.length);
  });

  it('lists the volumes as JSON for every combination of HA storage, the two secrets and the checkpoint directory', () => {
    for (let bits = 0; bits < 16; bits++) {
      const [ha, secret, token, checkpoints] = [1, 2, 4, 8].map((b) => (bits & b) !== 0);
      const { app } = renderDcosPackage(pkg, {
        service: { ...(secret ? { principal: 'p', secret_name: 'dev/sluice/principal-secret' } : {}), ...(token ? { rest_token_secret: 'dev/sluice/rest-token' } : {}) },
        ha: ha ? { enabled: true, storage_dir: '/mnt/shared/sluice' } : {},
        job: checkpoints ? { checkpoint_dir: '/mnt/shared/checkpoints' } : {},
      });
      const paths = ((app.container as MarathonApp['container'])!.volumes ?? []).map((v) => v.containerPath);
      expect(paths, `ha ${ha}, secret ${secret}, token ${token}, checkpoints ${checkpoints}`).toEqual([
        ...(ha ? ['/mnt/shared/sluice'] : []),
        ...(secret ? ['sluice-mesos-secret'] : []),
        ...(token ? ['sluice-rest-token'] : []),
        ...(checkpoints ? ['/mnt/shared/checkpoints'] : []),
      ]);
      expect(marathonAppErrors(app)).toEqual([]);
    }
  });

  it('never puts a secret value in the app, and never takes a secret as an environment variable', () => {
    for (const userOptions of [{}, ...Object.values(SAMPLES)]) {
      const { text, app } = renderDcosPackage(pkg, userOptions);
      for (const value of Object.values(SECRET_VALUES)) expect(text).not.toContain(value);
      for (const [name, value] of Object.entries((app.env ?? {}) as Record<string, unknown>)) expect(typeof value, `env ${name}`).toBe('string');
      expect(Object.keys((app.env ?? {}) as object).filter((k) => /SECRET|TOKEN|PASSWORD/i.test(k))).toEqual([]);
    }
  });

  it('keeps the command valid JSON and exact for any string the schema allows', async () => {
    // A name, a principal and a constraint value with every character the patterns let through that JSON or a shell would care about.
    const { app } = renderDcosPackage(pkg, {
      service: { principal: "svc@EXAMPLE/a:b+c-d", secret_name: 'dev/sluice/principal-secret', role: 'a_b.c/d-e' },
      taskmanager: { constraints: [{ field: 'k', operator: 'LIKE', value: "$(touch x) `id` ; & | * ? ' <> {a,b} ~ \u00e9\u4e2d" }] },
      job: { settings: ['q.x-1=$(touch y) `id` "quoted" \\back\\slash ; & | * ? \' <> {a,b} ~ =more= \u00e9\u4e2d\ttab', '_=-starts-with-a-dash'] },
    });
    expect(marathonAppErrors(app)).toEqual([]);
    const { options } = await sessionOptionsOf(app as MarathonApp);
    expect(options.mesos).toMatchObject({ principal: 'svc@EXAMPLE/a:b+c-d', roles: ['a_b.c/d-e'] });
    expect(options.mesos.constraints).toEqual([{ field: 'k', operator: 'LIKE', value: "$(touch x) `id` ; & | * ? ' <> {a,b} ~ \u00e9\u4e2d" }]);
    expect(options.jobDefaults).toEqual({ params: { 'q.x-1': '$(touch y) `id` "quoted" \\back\\slash ; & | * ? \' <> {a,b} ~ =more= \u00e9\u4e2d\ttab', _: '-starts-with-a-dash' } });
  });

  const refusals: [string, JsonObject, RegExp][] = [
    ['negative cpus', { taskmanager: { cpus: -1 } }, /\/taskmanager\/cpus must be >= 0\.01/],
    ['too little scheduler memory', { service: { mem: 128 } }, /\/service\/mem must be >= 512/],
    ['a service name Marathon refuses', { service: { name: 'Payments_Stream' } }, /\/service\/name must match pattern/],
    ['an unknown option', { service: { nmae: 'x' } }, /\/service must NOT have additional properties: nmae/],
    ['an unknown group', { jobmanager: {} }, /\(options\) must NOT have additional properties: jobmanager/],
    ['constraints that are not an array', { taskmanager: { constraints: 'hostname:UNIQUE' } }, /\/taskmanager\/constraints must be array/],
    ['a constraint with an unknown operator', { taskmanager: { constraints: [{ field: 'hostname', operator: 'NEAR' }] } }, /\/taskmanager\/constraints\/0\/operator must be equal to one of the allowed values: \["UNIQUE"/],
    ['a constraint value with a double quote', { taskmanager: { constraints: [{ field: 'rack', operator: 'IS', value: 'a"b' }] } }, /\/taskmanager\/constraints\/0\/value must match pattern/],
    ['MAX_PER without its count', { taskmanager: { constraints: [{ field: 'rack', operator: 'MAX_PER' }] } }, /\/taskmanager\/constraints\/0 must match a schema in anyOf/],
    ['a fractional TaskManager count', { taskmanager: { count: 1.5 } }, /\/taskmanager\/count must be integer/],
    ['an unknown log level', { service: { log_level: 'verbose' } }, /\/service\/log_level must be equal to one of the allowed values: \["debug","info","warn","error"\]/],
    ['high availability without a storage directory', { ha: { enabled: true } }, /\/ha must match a schema in anyOf/],
    ['a principal without its secret', { service: { principal: 'sluice' } }, /\/service must match a schema in anyOf/],
    ['a relative storage directory', { ha: { enabled: true, storage_dir: 'shared/sluice' } }, /\/ha\/storage_dir must match pattern/],
    ['a ZooKeeper address without a port', { ha: { zookeeper: 'zk-1' } }, /\/ha\/zookeeper must match pattern/],
    ['a default parallelism of 0', { job: { parallelism: 0 } }, /\/job\/parallelism must be >= 1/],
    ['a fractional default parallelism', { job: { parallelism: 2.5 } }, /\/job\/parallelism must be integer/],
    ['a job setting without =', { job: { settings: ['bootstrap'] } }, /\/job\/settings\/0 must match pattern/],
    ['a job setting without a key', { job: { settings: ['=x'] } }, /\/job\/settings\/0 must match pattern/],
    ['a job setting whose key starts with a dash (a flag to the CLI)', { job: { settings: ['-p=3'] } }, /\/job\/settings\/0 must match pattern/],
    ['job settings that are not an array', { job: { settings: 'a=b' } }, /\/job\/settings must be array/],
    ['a relative checkpoint directory', { job: { checkpoint_dir: 'checkpoints' } }, /\/job\/checkpoint_dir must match pattern/],
    ['a checkpoint directory with a colon (--tm-volume separates with it)', { job: { checkpoint_dir: '/mnt/a:b' } }, /\/job\/checkpoint_dir must match pattern/],
    ['a checkpoint interval without a unit', { job: { checkpoint_interval: '10' } }, /\/job\/checkpoint_interval must match pattern/],
    ['a fractional checkpoint interval', { job: { checkpoint_interval: '1.5s' } }, /\/job\/checkpoint_interval must match pattern/],
    ['an unknown job option', { job: { restart_strategy: 'none' } }, /\/job must NOT have additional properties: restart_strategy/],
  ];

  it.each(refusals)('refuses %s with config.json\'s message', (_, userOptions, message) => {
    let error: unknown;
    try {
      renderDcosPackage(pkg, userOptions);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DcosOptionsError);
    expect((error as DcosOptionsError).errors.join('\n')).toMatch(message);
  });
});
