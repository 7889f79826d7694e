import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { control, isAlive, startExecutor, stopExecutors, taskInfo, taskManagerLaunch } from './executor-harness.test-helper.js';
import { TestingAgent } from './testing-agent.test-helper.js';

let agent: TestingAgent;
beforeEach(async () => {
  agent = await TestingAgent.start();
});
afterEach(async () => {
  await stopExecutors();
  await agent.stop();
});

/** Launches task `id` with the stand-in and returns its control URL and pid. */
async function launch(run: ReturnType<typeof startExecutor>, id = 'taskmanager-1', extra = {}): Promise<{ url: string; pid: number }> {
  await agent.whenSubscribed();
  agent.send({ type: 'LAUNCH', launch: { task: taskInfo(id, taskManagerLaunch({ resourceId: id }), extra) } });
  const [, url] = await run.output.next(/^control (http:\S+)/);
  const [, pid] = await run.output.next(/^pid (\d+)/);
  return { url: url!, pid: Number(pid) };
}

describe('MesosExecutor: a TaskManager task', () => {
  it('reports TASK_STARTING at launch and TASK_RUNNING only once the TaskManager registered', async () => {
    const run = startExecutor(agent);
    const { url } = await launch(run);
    const starting = await agent.waitForUpdate('taskmanager-1', 'TASK_STARTING');
    // The stand-in has started and waits to be told to register: nothing but STARTING so far.
    expect(agent.states('taskmanager-1')).toEqual(['TASK_STARTING']);
    await control(url, '/register');
    const running = await agent.waitForUpdate('taskmanager-1', 'TASK_RUNNING');
    for (const s of [starting, running]) {
      expect(s.source).toBe('SOURCE_EXECUTOR');
      expect(s.executor_id).toEqual({ value: 'sluice-executor-taskmanager-1' });
      expect(s.uuid).toHaveLength(16);
      expect(s.uuid![6]! >> 4).toBe(4); // RFC-4122 version 4
      expect(s.uuid![8]! >> 6).toBe(0b10); // RFC-4122 variant
    }
    expect(Buffer.from(starting.uuid!).equals(Buffer.from(running.uuid!))).toBe(false);
    expect(running.message).toBe('TaskManager taskmanager-1 registered at the ResourceManager');
  });

  it('starts the TaskManager with the flags from TaskInfo.data and the secret in a 0600 file of the sandbox, removed when it ends', async () => {
    const run = startExecutor(agent);
    await launch(run);
    const [, args] = await run.output.next(/^args (.*)$/);
    const argv = JSON.parse(args!) as string[];
    const secretFile = argv[argv.indexOf('--secret-file') + 1]!;
    expect(secretFile.startsWith(run.config.sandbox)).toBe(true);
    expect(argv).toEqual([
      '--cluster', 'sluice://127.0.0.1:6123', '--secret-file', secretFile, '--slots', '2', '--resource-id', 'taskmanager-1',
      '--bind-host', '127.0.0.1', '--advertised-host', 'agent-1.test', '--rpc-port', '0', '--data-port', '0', '--metrics-port', '0',
      '--metrics-host', '127.0.0.1',
    ]);
    await run.output.next(/^secret-file mode 600 content "cluster-secret-123"$/);
    run.executor.shutdown('test');
    expect(await run.exit).toBe(0);
    expect(() => statSync(secretFile)).toThrow(/ENOENT/);
  });

  it('reports slots and metrics as framework messages: on registration, on a change of free slots, and when the TaskManager exited', async () => {
    const run = startExecutor(agent);
    const { url } = await launch(run);
    await control(url, '/register');
    const registered = await agent.waitForReport((r) => r.phase === 'registered');
    const port = new URL(url).port;
    expect(registered).toMatchObject({
      v: 1,
      kind: 'taskmanager-report',
      taskId: 'taskmanager-1',
      slots: { total: 2, free: 2 },
      metricsAddress: `agent-1.test:${port}`,
      metrics: { recordsInTotal: 1200, recordsOutTotal: 1100, subtasks: 1, workerPoolUtilization: 0.25, residentMemoryBytes: 104857600 },
    });
    await control(url, '/free/1');
    await agent.waitForReport((r) => r.phase === 'registered' && r.slots.free === 1);
    await control(url, '/exit/3');
    const exited = await agent.waitForReport((r) => r.phase === 'exited');
    expect(exited.slots).toEqual({ total: 2, free: 0 });
    expect(await run.exit).toBe(0);
  });

  it('sends a report at least every report interval while the slots stay the same', async () => {
    const run = startExecutor(agent, { config: { reportIntervalMs: 30 } });
    const { url } = await launch(run);
    await control(url, '/register');
    await agent.waitForReport((r) => r.phase === 'registered');
    const first = agent.reports().length;
    await agent.waitForCall((c) => c.call.type === 'MESSAGE' && agent.reports().length >= first + 2);
    expect(agent.reports().every((r) => r.slots.free === 2)).toBe(true);
  });

  it('keeps running when a framework message is refused, and logs it', async () => {
    agent.answerNext('MESSAGE', 500, 'master unreachable');
    const run = startExecutor(agent);
    const { url } = await launch(run);
    await control(url, '/register');
    await run.log.next(/framework message .* not sent: the agent answered MESSAGE with 500: master unreachable/);
    await control(url, '/free/0');
    await agent.waitForReport((r) => r.slots.free === 0);
  });

  it('fails the task with the exit code and last output line when the TaskManager exits, and exits once that is acknowledged', async () => {
    const run = startExecutor(agent);
    const { url } = await launch(run);
    await control(url, '/register');
    await agent.waitForUpdate('taskmanager-1', 'TASK_RUNNING');
    await control(url, '/exit/3');
    const failed = await agent.waitForUpdate('taskmanager-1', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_COMMAND_EXECUTOR_FAILED');
    expect(failed.message).toBe('TaskManager taskmanager-1 exited with code 3: stand-in: giving up, cannot reach the ResourceManager');
    expect(await run.exit).toBe(0);
  });

  it('fails a task whose TaskInfo.data is not a TaskManager launch, naming the problem', async () => {
    const run = startExecutor(agent);
    await agent.whenSubscribed();
    agent.send({ type: 'LAUNCH', launch: { task: taskInfo('taskmanager-2', taskManagerLaunch({ slots: 0 })) } });
    const failed = await agent.waitForUpdate('taskmanager-2', 'TASK_FAILED');
    expect(failed).toMatchObject({ reason: 'REASON_TASK_INVALID', message: 'TaskInfo.data.slots must be a positive integer', source: 'SOURCE_EXECUTOR' });
    expect(agent.states('taskmanager-2')).toEqual(['TASK_FAILED']);
    expect(await run.exit).toBe(0);
  });

  it('fails a TaskManager that does not register within the registration timeout', async () => {
    const run = startExecutor(agent, { config: { registrationTimeoutMs: 100 } });
    // Not launch(): on a busy machine the stand-in may be stopped before it printed its address.
    await agent.whenSubscribed();
    agent.send({ type: 'LAUNCH', launch: { task: taskInfo('taskmanager-1', taskManagerLaunch({ resourceId: 'taskmanager-1' })) } });
    const failed = await agent.waitForUpdate('taskmanager-1', 'TASK_FAILED');
    // The stand-in ends on the SIGTERM itself, or by its own handler once it has installed one.
    expect(failed.message).toMatch(/^the TaskManager did not register at the ResourceManager within 100 ms .*; TaskManager taskmanager-1 (exited with code 0: stopping on SIGTERM|was killed by SIGTERM.*)$/);
    expect(agent.states('taskmanager-1')).toEqual(['TASK_STARTING', 'TASK_FAILED']);
    expect(await run.exit).toBe(0);
  });

  it('with the real taskmanager-main.js, a bad cluster address ends in TASK_FAILED with its reason', async () => {
    const run = startExecutor(agent, { script: null });
    await agent.whenSubscribed();
    agent.send({ type: 'LAUNCH', launch: { task: taskInfo('taskmanager-3', taskManagerLaunch({ resourceId: 'taskmanager-3', cluster: 'sluice://no-port-here' })) } });
    const failed = await agent.waitForUpdate('taskmanager-3', 'TASK_FAILED');
    expect(failed.reason).toBe('REASON_COMMAND_EXECUTOR_FAILED');
    expect(failed.message).toMatch(/^TaskManager taskmanager-3 exited with code 1: TaskManager failed to start: RPC peer "sluice:\/\/no-port-here" is invalid/);
    expect(agent.states('taskmanager-3')).toEqual(['TASK_STARTING', 'TASK_FAILED']);
    expect(await run.exit).toBe(0);
  });
});

describe('MesosExecutor: KILL and SHUTDOWN', () => {
  it('KILL without TASK_KILLING_STATE: SIGTERM, then TASK_KILLED only', async () => {
    const run = startExecutor(agent);
    const { url, pid } = await launch(run);
    await control(url, '/register');
    await agent.waitForUpdate('taskmanager-1', 'TASK_RUNNING');
    agent.send({ type: 'KILL', kill: { task_id: { value: 'taskmanager-1' } } });
    const killed = await agent.waitForUpdate('taskmanager-1', 'TASK_KILLED');
    expect(killed.message).toBe('killed on request: TaskManager taskmanager-1 exited with code 0: stopping on SIGTERM');
    expect(killed.reason).toBeUndefined();
    expect(agent.states('taskmanager-1')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
    expect(await run.exit).toBe(0);
    expect(isAlive(pid)).toBe(false);
  });

  it('KILL with TASK_KILLING_STATE: TASK_KILLING first, and SIGKILL once the grace period is over', async () => {
    agent.frameworkCapabilities = ['MULTI_ROLE', 'TASK_KILLING_STATE'];
    const run = startExecutor(agent, { env: { STAND_IN_IGNORE_TERM: '1' } });
    const { url } = await launch(run);
    await control(url, '/register');
    await agent.waitForUpdate('taskmanager-1', 'TASK_RUNNING');
    agent.send({ type: 'KILL', kill: { task_id: { value: 'taskmanager-1' }, kill_policy: { grace_period: { nanoseconds: 50_000_000 } } } });
    const killed = await agent.waitForUpdate('taskmanager-1', 'TASK_KILLED');
    expect(agent.states('taskmanager-1')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
    expect(killed.message).toBe('killed on request: TaskManager taskmanager-1 was killed by SIGKILL: ignoring SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('KILL before the TaskManager registered: TASK_KILLED with REASON_TASK_KILLED_DURING_LAUNCH, using the TaskInfo kill policy', async () => {
    const run = startExecutor(agent, { env: { STAND_IN_IGNORE_TERM: '1' } });
    await launch(run, 'taskmanager-1', { kill_policy: { grace_period: { nanoseconds: 10_000_000 } } });
    agent.send({ type: 'KILL', kill: { task_id: { value: 'taskmanager-1' } } });
    const killed = await agent.waitForUpdate('taskmanager-1', 'TASK_KILLED');
    expect(killed.reason).toBe('REASON_TASK_KILLED_DURING_LAUNCH');
    expect(killed.message).toMatch(/was killed by SIGKILL/);
    expect(await run.exit).toBe(0);
  });

  it('SHUTDOWN: stops the TaskManager, reports TASK_KILLED and exits 0', async () => {
    const run = startExecutor(agent);
    const { url, pid } = await launch(run);
    await control(url, '/register');
    await agent.waitForUpdate('taskmanager-1', 'TASK_RUNNING');
    agent.send({ type: 'SHUTDOWN' });
    const killed = await agent.waitForUpdate('taskmanager-1', 'TASK_KILLED');
    expect(killed).toMatchObject({ reason: 'REASON_EXECUTOR_TERMINATED', message: 'the executor was shut down: TaskManager taskmanager-1 exited with code 0: stopping on SIGTERM' });
    expect(await run.exit).toBe(0);
    expect(isAlive(pid)).toBe(false);
  });

  it('SHUTDOWN of a TaskManager that ignores SIGTERM: SIGKILL within the shutdown grace period', async () => {
    const run = startExecutor(agent, { config: { shutdownGracePeriodMs: 4000 }, env: { STAND_IN_IGNORE_TERM: '1' } });
    const { pid } = await launch(run);
    agent.send({ type: 'SHUTDOWN' });
    const killed = await agent.waitForUpdate('taskmanager-1', 'TASK_KILLED');
    expect(killed.message).toMatch(/was killed by SIGKILL: ignoring SIGTERM$/);
    expect(await run.exit).toBe(0);
    expect(isAlive(pid)).toBe(false);
  });
});
