import { encodeRecord } from '@sluice/mesos-proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { control, isAlive, startExecutor, stopExecutors, taskInfo, taskManagerLaunch, type RunningExecutor } from './executor-harness.test-helper.js';
import { TestingAgent } from './testing-agent.test-helper.js';

let agent: TestingAgent;
beforeEach(async () => {
  agent = await TestingAgent.start();
});
afterEach(async () => {
  await stopExecutors();
  await agent.stop();
});

async function launchRegistered(run: RunningExecutor): Promise<{ url: string; pid: number }> {
  await agent.whenSubscribed();
  agent.send({ type: 'LAUNCH', launch: { task: taskInfo('taskmanager-1', taskManagerLaunch()) } });
  const [, url] = await run.output.next(/^control (http:\S+)/);
  const [, pid] = await run.output.next(/^pid (\d+)/);
  await control(url!, '/register');
  await agent.waitForUpdate('taskmanager-1', 'TASK_RUNNING');
  return { url: url!, pid: Number(pid) };
}

const BAD_DATA = taskInfo('taskmanager-9', Buffer.from('{"v":1}'));

describe('MesosExecutor: the subscription', () => {
  it('subscribes with protobuf by default, the ids of its environment and no Authorization header', async () => {
    startExecutor(agent);
    const { call, headers } = await agent.nth('SUBSCRIBE', 1);
    expect(headers['content-type']).toBe('application/x-protobuf');
    expect(headers.accept).toBe('application/x-protobuf');
    expect(headers.authorization).toBeUndefined();
    expect(call).toEqual({
      type: 'SUBSCRIBE',
      executor_id: { value: 'sluice-executor-taskmanager-1' },
      framework_id: { value: 'fw-1' },
      subscribe: {},
    });
  });

  it('speaks JSON when told, and sends the authentication token on every call', async () => {
    const run = startExecutor(agent, { encoding: 'json', token: 'header.claims.signature' });
    const subscribe = await agent.nth('SUBSCRIBE', 1);
    expect(subscribe.headers['content-type']).toBe('application/json');
    expect(subscribe.headers.accept).toBe('application/json');
    await launchRegistered(run);
    await agent.waitForReport(() => true);
    const updates = agent.calls.filter((c) => c.call.type === 'UPDATE');
    for (const c of [subscribe, ...updates, agent.calls.find((x) => x.call.type === 'MESSAGE')!]) {
      expect(c.encoding).toBe('json');
      expect(c.headers.authorization).toBe('Bearer header.claims.signature');
    }
  });

  it('keeps an update until it is acknowledged: retried after a 503, then re-sent with its task in the next SUBSCRIBE', async () => {
    agent.autoAcknowledge = false;
    agent.answerNext('UPDATE', 503, 'Agent has not finished recovery');
    const run = startExecutor(agent, { config: { checkpoint: true } });
    await agent.whenSubscribed();
    agent.send({ type: 'LAUNCH', launch: { task: BAD_DATA } });
    const first = await agent.nth('UPDATE', 1);
    const second = await agent.nth('UPDATE', 2);
    expect(first.status).toBe(503);
    expect(second.status).toBe(202);
    const uuid = first.call.update!.status.uuid!;
    expect(Buffer.from(second.call.update!.status.uuid!).equals(Buffer.from(uuid))).toBe(true);
    await run.log.next(/status update TASK_FAILED of task taskmanager-9 not delivered \(the agent answered UPDATE with 503: Agent has not finished recovery\)/);

    agent.dropStream();
    const resubscribe = await agent.nth('SUBSCRIBE', 2);
    expect(resubscribe.call.subscribe!.unacknowledged_tasks!.map((t) => t.task_id.value)).toEqual(['taskmanager-9']);
    expect(resubscribe.call.subscribe!.unacknowledged_updates!.map((u) => Buffer.from(u.status.uuid!).toString('hex'))).toEqual([Buffer.from(uuid).toString('hex')]);
    // Taken with the SUBSCRIBE: not sent again as an UPDATE.
    expect(agent.calls.filter((c) => c.call.type === 'UPDATE')).toHaveLength(2);

    agent.send({ type: 'ACKNOWLEDGED', acknowledged: { task_id: { value: 'taskmanager-9' }, uuid } });
    expect(await run.exit).toBe(0);
  });

  it('re-subscribes after an agent restart while the TaskManager keeps running, and sends what happened meanwhile', async () => {
    const run = startExecutor(agent, { config: { checkpoint: true } });
    const { url, pid } = await launchRegistered(run);
    agent.answerNext('SUBSCRIBE', 503, 'Agent has not finished recovery');
    agent.dropStream();
    await agent.nth('SUBSCRIBE', 2);
    expect(isAlive(pid)).toBe(true);
    const third = await agent.nth('SUBSCRIBE', 3);
    expect(third.call.subscribe).toEqual({}); // everything was acknowledged before the restart
    await run.log.next(/re-subscribed to agent-1.test/);
    // The stream is back: the TaskManager's exit is reported on it.
    await control(url, '/exit/3');
    await agent.waitForUpdate('taskmanager-1', 'TASK_FAILED');
    expect(await run.exit).toBe(0);
    expect(agent.states('taskmanager-1')).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
  });

  it('exits (code 3) when it cannot re-subscribe within MESOS_RECOVERY_TIMEOUT, stopping its TaskManager', async () => {
    const run = startExecutor(agent, { config: { checkpoint: true, recoveryTimeoutMs: 2_000 } });
    const { pid } = await launchRegistered(run);
    for (let i = 0; i < 1000; i++) agent.answerNext('SUBSCRIBE', 503, 'Agent has not finished recovery');
    agent.dropStream();
    await agent.nth('SUBSCRIBE', 2);
    expect(isAlive(pid)).toBe(true);
    expect(await run.exit).toBe(3);
    expect(agent.calls.filter((c) => c.call.type === 'SUBSCRIBE').length).toBeGreaterThan(2);
    expect(run.log.all.some((l) => /not re-subscribed to the agent within MESOS_RECOVERY_TIMEOUT \(2000 ms\); exiting/.test(l))).toBe(true);
    expect(isAlive(pid)).toBe(false);
  });

  it('exits (code 3) on a disconnect when the framework does not checkpoint, without re-subscribing', async () => {
    const run = startExecutor(agent, { config: { checkpoint: false } });
    const { pid } = await launchRegistered(run);
    agent.dropStream();
    expect(await run.exit).toBe(3);
    expect(agent.calls.filter((c) => c.call.type === 'SUBSCRIBE')).toHaveLength(1);
    expect(isAlive(pid)).toBe(false);
  });

  it('exits (code 4) when the agent refuses the subscription, with the agent\'s reason in the log', async () => {
    agent.answerNext('SUBSCRIBE', 400, 'Executor cannot be found');
    const run = startExecutor(agent, { config: { checkpoint: true } });
    expect(await run.exit).toBe(4);
    expect(run.log.all.some((l) => l.includes('the agent refused the subscription: the agent answered SUBSCRIBE with 400: Executor cannot be found'))).toBe(true);
  });

  it.each([
    ['a length line that is not a number', 'garbage\n', /RecordIO length line is not a decimal byte count/],
    ['an event that does not decode', encodeRecord('{"type":"LAUNCH","launch":{"task":{"name":1}}}'), /cannot decode mesos\.v1\.executor\.Event/],
    ['a record over the size limit', '99999999999\n', /exceeds the limit/],
  ])('%s: a log line and a new subscription, never a crash', async (_name, bytes, logged) => {
    const run = startExecutor(agent, { encoding: 'json', config: { checkpoint: true } });
    await agent.whenSubscribed();
    await agent.nth('SUBSCRIBE', 1);
    agent.sendRaw(bytes);
    await agent.nth('SUBSCRIBE', 2);
    expect(run.log.all.some((l) => logged.test(l))).toBe(true);
  });

  it('logs ERROR events and ignores framework messages from the scheduler', async () => {
    const run = startExecutor(agent);
    await agent.whenSubscribed();
    agent.send({ type: 'ERROR', error: { message: 'Framework has been removed' } });
    agent.send({ type: 'MESSAGE', message: { data: Buffer.from('hello') } });
    await run.log.next(/ERROR .*the agent sent ERROR: Framework has been removed/);
    await run.log.next(/framework message from the scheduler \(5 bytes\)/);
  });

  it('exits 0 on SHUTDOWN with no task', async () => {
    const run = startExecutor(agent);
    await agent.whenSubscribed();
    agent.send({ type: 'SHUTDOWN' });
    expect(await run.exit).toBe(0);
  });
});
