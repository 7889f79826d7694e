import { ConfigurationError } from '@sluice/common';
import { describe, expect, it } from 'vitest';
import { loadExecutorConfig, parseMesosDuration } from './config.js';

const BASE = {
  MESOS_FRAMEWORK_ID: 'fw-1',
  MESOS_EXECUTOR_ID: 'sluice-executor-taskmanager-1',
  MESOS_AGENT_ENDPOINT: '10.0.0.7:5051',
  MESOS_DIRECTORY: '/var/lib/mesos/slaves/a/frameworks/fw-1/executors/e/runs/r',
  MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
};

describe('parseMesosDuration', () => {
  it.each([
    ['5secs', 5_000],
    ['2.5mins', 150_000],
    ['100ms', 100],
    ['1500us', 1.5],
    ['3000000ns', 3],
    ['1hrs', 3_600_000],
    ['1days', 86_400_000],
    ['2weeks', 1_209_600_000],
    ['.5secs', 500],
    ['0secs', 0],
    [' 15mins ', 900_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseMesosDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['5', 'secs', '5s', '5 secs', '-1secs', '1e3ms', '5SECS', '5sec', '', '1.secs', 'NaNsecs'])('rejects %j', (text) => {
    expect(parseMesosDuration(text)).toBeUndefined();
  });
});

describe('loadExecutorConfig', () => {
  it('reads what the agent sets for a non-checkpointing framework, with the defaults of the rest', () => {
    const config = loadExecutorConfig({ ...BASE, MESOS_CHECKPOINT: '0' });
    expect(config).toEqual({
      frameworkId: 'fw-1',
      executorId: 'sluice-executor-taskmanager-1',
      agentEndpoint: '10.0.0.7:5051',
      sandbox: BASE.MESOS_DIRECTORY,
      checkpoint: false,
      shutdownGracePeriodMs: 5_000,
      recoveryTimeoutMs: 900_000,
      subscriptionBackoffMaxMs: 2_000,
      encoding: 'protobuf',
      reportIntervalMs: 10_000,
      slotPollIntervalMs: 1_000,
      registrationTimeoutMs: 300_000,
    });
  });

  it('prefers MESOS_SANDBOX (the path inside the container) to MESOS_DIRECTORY', () => {
    expect(loadExecutorConfig({ ...BASE, MESOS_SANDBOX: '/mnt/mesos/sandbox' }).sandbox).toBe('/mnt/mesos/sandbox');
  });

  it('checkpoints only when MESOS_CHECKPOINT is exactly "1", and then reads the recovery settings', () => {
    const config = loadExecutorConfig({ ...BASE, MESOS_CHECKPOINT: '1', MESOS_RECOVERY_TIMEOUT: '15mins', MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs' });
    expect(config).toMatchObject({ checkpoint: true, recoveryTimeoutMs: 900_000, subscriptionBackoffMaxMs: 2_000 });
    for (const v of ['0', 'true', 'yes', '', ' 1']) expect(loadExecutorConfig({ ...BASE, MESOS_CHECKPOINT: v }).checkpoint).toBe(false);
  });

  it('takes the optional domain socket, the Sluice settings and an IPv6 agent', () => {
    const config = loadExecutorConfig({
      ...BASE,
      MESOS_AGENT_ENDPOINT: '[::1]:5051',
      MESOS_DOMAIN_SOCKET: '/run/mesos/agent.sock',
      SLUICE_EXECUTOR_ENCODING: 'json',
      SLUICE_EXECUTOR_REPORT_INTERVAL: '30secs',
      SLUICE_EXECUTOR_SLOT_POLL_INTERVAL: '250ms',
      SLUICE_TASKMANAGER_REGISTRATION_TIMEOUT: '1mins',
    });
    expect(config).toMatchObject({
      agentEndpoint: '[::1]:5051',
      domainSocket: '/run/mesos/agent.sock',
      encoding: 'json',
      reportIntervalMs: 30_000,
      slotPollIntervalMs: 250,
      registrationTimeoutMs: 60_000,
    });
  });

  it('takes the authentication token and removes it from the environment it read', () => {
    const env: Record<string, string | undefined> = { ...BASE, MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 'eyJhbGciOi.x.y' };
    expect(loadExecutorConfig(env).authenticationToken).toBe('eyJhbGciOi.x.y');
    expect('MESOS_EXECUTOR_AUTHENTICATION_TOKEN' in env).toBe(false);
  });

  it('removes the token even when the rest of the environment is wrong', () => {
    const env: Record<string, string | undefined> = { MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 'secret' };
    expect(() => loadExecutorConfig(env)).toThrow(ConfigurationError);
    expect(env.MESOS_EXECUTOR_AUTHENTICATION_TOKEN).toBeUndefined();
  });

  it.each([
    ['MESOS_FRAMEWORK_ID missing', { MESOS_FRAMEWORK_ID: undefined }, /MESOS_FRAMEWORK_ID is not set: expected the framework id/],
    ['MESOS_EXECUTOR_ID empty', { MESOS_EXECUTOR_ID: '' }, /MESOS_EXECUTOR_ID is not set/],
    ['MESOS_AGENT_ENDPOINT missing', { MESOS_AGENT_ENDPOINT: undefined }, /MESOS_AGENT_ENDPOINT is not set: expected the agent address as ip:port/],
    ['MESOS_AGENT_ENDPOINT without a port', { MESOS_AGENT_ENDPOINT: '10.0.0.7' }, /MESOS_AGENT_ENDPOINT is '10.0.0.7': expected the agent address as ip:port/],
    ['MESOS_AGENT_ENDPOINT as a URL', { MESOS_AGENT_ENDPOINT: 'http://10.0.0.7:5051' }, /MESOS_AGENT_ENDPOINT is 'http:\/\/10.0.0.7:5051'/],
    ['MESOS_AGENT_ENDPOINT port 0', { MESOS_AGENT_ENDPOINT: 'agent:0' }, /MESOS_AGENT_ENDPOINT is 'agent:0'/],
    ['no sandbox', { MESOS_DIRECTORY: undefined }, /MESOS_SANDBOX and MESOS_DIRECTORY are both unset/],
    ['grace period without unit', { MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5' }, /MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD is '5', not a duration: expected a number followed by ns, us, ms, secs/],
    ['grace period zero', { MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '0secs' }, /MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD must be above zero/],
    ['checkpointing without MESOS_RECOVERY_TIMEOUT', { MESOS_CHECKPOINT: '1', MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs' }, /MESOS_RECOVERY_TIMEOUT is not set: expected a number followed by/],
    ['checkpointing without MESOS_SUBSCRIPTION_BACKOFF_MAX', { MESOS_CHECKPOINT: '1', MESOS_RECOVERY_TIMEOUT: '15mins' }, /MESOS_SUBSCRIPTION_BACKOFF_MAX is not set/],
    ['malformed recovery timeout', { MESOS_RECOVERY_TIMEOUT: '15 minutes' }, /MESOS_RECOVERY_TIMEOUT is '15 minutes', not a duration/],
    ['unknown encoding', { SLUICE_EXECUTOR_ENCODING: 'xml' }, /SLUICE_EXECUTOR_ENCODING is 'xml': expected protobuf or json/],
    ['zero report interval', { SLUICE_EXECUTOR_REPORT_INTERVAL: '0ms' }, /SLUICE_EXECUTOR_REPORT_INTERVAL must be above zero/],
  ])('%s: a ConfigurationError naming the variable and the expected form', (_name, change, message) => {
    const env: Record<string, string | undefined> = { ...BASE, ...change };
    let error: unknown;
    try {
      loadExecutorConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
  });
});
