import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TestingAgent } from './testing-agent.test-helper.js';

// The built entry, as the agent runs it (`npm test` builds first).
const MAIN = fileURLToPath(new URL('../dist/executor-main.js', import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Run {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill(signal: NodeJS.Signals): void;
}

function runMain(args: string[], env: NodeJS.ProcessEnv): Run {
  // Only what the agent would set, plus PATH: nothing of this test's environment leaks in.
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await code;
  });
  return { code, stdout: () => out, stderr: () => err, kill: (s) => child.kill(s) };
}

describe('sluice-mesos-executor', () => {
  it('--help says a Mesos agent starts it, which variables it reads and its exit codes', async () => {
    const run = runMain(['--help'], {});
    expect(await run.code).toBe(0);
    const help = run.stdout();
    expect(help).toMatch(/A Mesos agent starts it/);
    for (const v of ['MESOS_FRAMEWORK_ID', 'MESOS_AGENT_ENDPOINT', 'MESOS_CHECKPOINT', 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD', 'MESOS_RECOVERY_TIMEOUT', 'MESOS_SUBSCRIPTION_BACKOFF_MAX', 'MESOS_EXECUTOR_AUTHENTICATION_TOKEN', 'MESOS_DOMAIN_SOCKET']) {
      expect(help).toContain(v);
    }
    expect(help).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 /);
  });

  it('exits 2 with one line naming what is missing when not started by an agent', async () => {
    const run = runMain([], {});
    expect(await run.code).toBe(2);
    expect(run.stderr()).toMatch(/^sluice-mesos-executor: MESOS_FRAMEWORK_ID is not set: expected the framework id .* run sluice-mesos-executor through Mesos, not by hand\n$/);
  });

  it('subscribes with the environment the agent gives it, and handles SIGTERM like SHUTDOWN (exit 0)', async () => {
    const agent = await TestingAgent.start();
    cleanups.push(() => agent.stop());
    const sandbox = mkdtempSync(join(tmpdir(), 'sluice-executor-main-'));
    cleanups.push(() => rmSync(sandbox, { recursive: true, force: true }));
    const run = runMain([], {
      MESOS_FRAMEWORK_ID: 'fw-7',
      MESOS_EXECUTOR_ID: 'exec-7',
      MESOS_AGENT_ENDPOINT: agent.endpoint,
      MESOS_DIRECTORY: sandbox,
      MESOS_SANDBOX: sandbox,
      MESOS_CHECKPOINT: '1',
      MESOS_RECOVERY_TIMEOUT: '15mins',
      MESOS_SUBSCRIPTION_BACKOFF_MAX: '2secs',
      MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD: '5secs',
      MESOS_EXECUTOR_AUTHENTICATION_TOKEN: 'jwt.of.agent',
      MESOS_HTTP_COMMAND_EXECUTOR: '0',
      MESOS_SLAVE_PID: `slave(1)@${agent.endpoint}`,
      LIBPROCESS_PORT: '0',
    });
    const { call, headers } = await agent.nth('SUBSCRIBE', 1);
    expect(call).toMatchObject({ executor_id: { value: 'exec-7' }, framework_id: { value: 'fw-7' } });
    expect(headers.authorization).toBe('Bearer jwt.of.agent');
    expect(headers['content-type']).toBe('application/x-protobuf');
    await agent.whenSubscribed();
    run.kill('SIGTERM');
    expect(await run.code).toBe(0);
  });
});
