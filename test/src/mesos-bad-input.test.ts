/**
 * Bad input from the Mesos master, end to end on the fake, while `sluice mesos-session` runs the
 * exactly-once job: broken event streams (a truncated record, a record over the size limit, a
 * length line that is not a number, an ERROR event) make the scheduler say what was wrong and
 * subscribe again; an event of an unknown type is skipped; calls the master refuses (REVIVE,
 * ACCEPT, ACKNOWLEDGE, KILL) are logged and repaired — offers revived again, the tasks of a
 * refused ACCEPT reconciled and relaunched with its offer handed back, refused acknowledgements
 * made good when Mesos resends the update, a refused KILL sent again once Mesos says the task
 * still runs. Never a crash: the session keeps running and the job's
 * committed output is exactly a failure-free run's.
 *
 * The agent's side (bad bytes on an executor's stream) is covered by the executor's unit tests
 * against its testing agent (agent-client.test.ts: a record cut off, one over the size limit;
 * executor-connection.test.ts: ERROR events); the fake injects faults into scheduler streams only.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFailed } from 'vitest';
import type { SchedulerCall } from '@sluice/mesos-proto';
import { type Outcome } from './cli-process.js';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { waitFor } from './leaks.js';
import { type StreamFault } from './mesos-fake/index.js';
import { jobRunning, sessionRest, startMesosSession, type MesosSession, SMALL_TASKMANAGER } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';

const bed = mesosTestBed('sluice-mesos-bad-input-');

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;
const EVENTS = 30_000;
const KEYS = 12;

/** Starts the exactly-once job at -p 3 (three TaskManagers) without waiting for it; `out` gets its committed lines. */
function submitExactlyOnce(session: MesosSession, out: string, rate: number): Promise<Outcome> {
  return session.submit(jobPath('exactly-once.ts'), ['-p', '3', '-D', `out=${out}`, '-D', `events=${EVENTS}`, '-D', `keys=${KEYS}`, '-D', `rate=${rate}`]);
}

async function expectExactlyOnce(session: MesosSession, submitted: Promise<Outcome>, out: string): Promise<void> {
  const r = await submitted;
  expect(r, `${r.stderr}\n${session.output()}`).toMatchObject({ code: 0, stdout: expect.stringMatching(/FINISHED/) });
  expect(committedLines(out).sort(order)).toEqual(failureFreeLines(EVENTS, KEYS).sort(order));
}

/** Waits for a line of the session's stderr that matches `pattern`, after the first `from` characters. */
function logLine(session: MesosSession, pattern: RegExp, from = 0): Promise<string> {
  return waitFor(`a log line matching ${pattern}`, () => {
    if (session.process.child.exitCode !== null) throw new Error(`the session exited (${session.process.child.exitCode})\n${session.output()}`);
    return session.process.out.stderr.slice(from).split('\n').find((l) => pattern.test(l));
  });
}

async function stopSession(session: MesosSession): Promise<void> {
  expect(session.process.child.exitCode, 'the session is still running').toBeNull();
  session.process.child.kill('SIGINT');
  expect((await session.process.done).code).toBe(0);
}

describe('sluice mesos-session: bad input from the Mesos master', () => {
  it('resubscribes after a broken event stream or an ERROR, skips an unknown event, and the running job stays exact', async () => {
    const agent = { resources: `cpus:4;mem:4096;disk:1000;ports:[31000-31099]` };
    const m = await bed.start({ agents: [agent, agent], allocationIntervalMs: 200, heartbeatIntervalSeconds: 1 });
    const session = await startMesosSession(bed.procs, bed.home, 'streams', m);
    onTestFailed(() => console.log(session.output()));
    const out = mkdtempSync(join(bed.home, 'out-'));
    const submitted = submitExactlyOnce(session, out, 1500);
    const jobId = await waitFor('the job', async () => (await sessionRest<{ jobs: { jobId: string }[] }>(session, 'GET', '/jobs')).jobs[0]?.jobId);
    await jobRunning(session, jobId);
    const frameworkId = m.frameworks()[0]!.id;

    const framing: [StreamFault, RegExp][] = [
      [{ kind: 'truncated' }, /the event stream was truncated from master 127\.0\.0\.1:\d+: RecordIO stream ended inside a record: \d+ of 100 bytes received; subscribing again in \d+ ms/],
      [{ kind: 'oversized' }, /bad framing on the event stream from master 127\.0\.0\.1:\d+: RecordIO record of 1073741824 bytes exceeds the limit of \d+ bytes \(maxRecordBytes\); subscribing again/],
      [{ kind: 'garbage-length' }, /bad framing on the event stream from master 127\.0\.0\.1:\d+: RecordIO length line is not a decimal byte count: "12x"; subscribing again/],
      [{ kind: 'error-event', message: 'Injected: the master is unhappy' }, /master 127\.0\.0\.1:\d+ sent ERROR: Injected: the master is unhappy; subscribing again/],
    ];
    for (const [fault, said] of framing) {
      const streams = m.frameworks()[0]!.streamIds.length;
      const from = session.process.out.stderr.length;
      m.injectStreamFault(frameworkId, fault);
      await logLine(session, said, from);
      // The same framework on a new stream: nothing of it was lost.
      await m.waitFor(`a new subscription after the ${fault.kind} fault`, () => m.frameworks().length === 1 && m.frameworks()[0]!.connected && m.frameworks()[0]!.streamIds.length === streams + 1);
      expect(m.frameworks()[0]!.id).toBe(frameworkId);
    }
    expect(await logLine(session, /the Mesos master sent an error: Injected: the master is unhappy/)).toMatch(/ERROR/);

    // An event of a type this Sluice does not know: skipped, and the stream stays.
    const streams = m.frameworks()[0]!.streamIds.length;
    const from = session.process.out.stderr.length;
    m.injectStreamFault(frameworkId, { kind: 'unknown-event' });
    await logLine(session, /(?:skipping|ignoring) an event of a type .* does not know/, from);
    expect(m.frameworks()[0]!.streamIds).toHaveLength(streams);
    expect(m.frameworks()[0]!.connected).toBe(true);

    await expectExactlyOnce(session, submitted, out);
    // The TaskManagers lived through every resubscription: three tasks, none replaced.
    expect(m.tasks().map((t) => [t.taskId, t.state]).sort()).toEqual([
      ['taskmanager-1', 'TASK_RUNNING'],
      ['taskmanager-2', 'TASK_RUNNING'],
      ['taskmanager-3', 'TASK_RUNNING'],
    ]);
    await stopSession(session);
  }, 400_000);

  it('repairs refused calls: a REVIVE is sent again, a refused ACCEPT is reconciled and relaunched, a refused ACKNOWLEDGE is made good on the resend, a refused KILL is sent again', async () => {
    // One agent with room for three TaskManagers and no more: the refused ACCEPT's offer must come back.
    const m = await bed.start({ agents: [{ resources: `cpus:2;mem:2048;disk:1000;ports:[31000-31099]` }], allocationIntervalMs: 200, statusUpdateRetryMs: 300 });
    const session = await startMesosSession(bed.procs, bed.home, 'calls', m, [...SMALL_TASKMANAGER, '--idle-taskmanager-timeout', '2000']);
    onTestFailed(() => console.log(session.output()));
    await m.waitFor('offers suppressed while nothing runs', () => m.calls({ api: 'scheduler', type: 'SUPPRESS' }).some((c) => c.status === 202));
    m.failNextCalls(1, 503, { body: 'Injected: no leader for a moment', types: ['REVIVE'] });
    m.failNextCalls(1, 500, { body: 'Injected: internal error', types: ['ACCEPT'] });
    m.failNextCalls(2, 500, { body: 'Injected: internal error', types: ['ACKNOWLEDGE'] });

    const out = mkdtempSync(join(bed.home, 'out-'));
    await expectExactlyOnce(session, submitExactlyOnce(session, out, 10_000), out);
    const calls = (type: string): { call: SchedulerCall; status: number }[] => m.calls({ api: 'scheduler', type }).map((c) => ({ call: c.call as SchedulerCall, status: c.status }));

    // REVIVE: refused once, said so, sent again.
    await logLine(session, /REVIVE failed: Mesos master 127\.0\.0\.1:\d+ answered REVIVE with HTTP 503: Injected: no leader for a moment/);
    expect(calls('REVIVE').map((c) => c.status).slice(0, 2)).toEqual([503, 202]);

    // ACCEPT: refused; its tasks were reconciled (Mesos never heard of them), its offer declined, and new ones launched.
    const [refused, ...accepted] = calls('ACCEPT');
    expect(refused!.status).toBe(500);
    const lost = refused!.call.accept!.operations!.flatMap((o) => o.launch?.task_infos ?? []).map((t) => t.task_id.value);
    expect(lost.length).toBeGreaterThan(0);
    await logLine(session, new RegExp(`ACCEPT of offer \\S+ launching ${lost.join(', ')} failed: Mesos master 127\\.0\\.0\\.1:\\d+ answered ACCEPT with HTTP 500: Injected: internal error`));
    const reconciled = calls('RECONCILE').flatMap((c) => c.call.reconcile?.tasks ?? []).map((t) => t.task_id.value);
    for (const id of lost) {
      expect(reconciled).toContain(id);
      expect(m.task(id)).toBeUndefined();
    }
    const declined = calls('DECLINE').flatMap((c) => c.call.decline?.offer_ids ?? []).map((o) => o.value);
    expect(declined).toContain(refused!.call.accept!.offer_ids![0]!.value);
    expect(accepted.every((c) => c.status === 202)).toBe(true);
    const running = m.tasks().filter((t) => t.state === 'TASK_RUNNING').map((t) => t.taskId);
    expect(running).toHaveLength(3);
    expect(running.some((id) => lost.includes(id))).toBe(false);

    // ACKNOWLEDGE: two refused; Mesos resent those updates and each was then acknowledged.
    const acks = calls('ACKNOWLEDGE');
    const failed = acks.filter((c) => c.status === 500);
    expect(failed).toHaveLength(2);
    await logLine(session, /ACKNOWLEDGE of taskmanager-\d+ TASK_\w+ failed: Mesos master 127\.0\.0\.1:\d+ answered ACKNOWLEDGE with HTTP 500: Injected: internal error/);
    const uuid = (c: { call: SchedulerCall }): string => Buffer.from(c.call.acknowledge!.uuid).toString('hex');
    for (const f of failed) expect(acks.some((c) => c.status === 202 && uuid(c) === uuid(f))).toBe(true);
    // Nothing was lost or replaced because of it.
    expect(m.tasks().filter((t) => t.state !== 'TASK_RUNNING')).toEqual([]);

    // KILL of an idle TaskManager refused: Mesos is asked about the task, and it is killed after all.
    m.failNextCalls(1, 500, { body: 'Injected: internal error', types: ['KILL'] });
    await m.waitFor('every TaskManager released', () => m.tasks().every((t) => t.state === 'TASK_KILLED'), 120_000);
    const kills = calls('KILL');
    const refusedKill = kills.find((c) => c.status === 500)!.call.kill!.task_id.value;
    await logLine(session, new RegExp(`KILL of ${refusedKill} failed: Mesos master 127\\.0\\.0\\.1:\\d+ answered KILL with HTTP 500: Injected: internal error`));
    expect(kills.some((c) => c.status === 202 && c.call.kill!.task_id.value === refusedKill)).toBe(true);
    await stopSession(session);
  }, 400_000);
});
