/**
 * Elastic TaskManagers on Mesos, end to end on the fake: `sluice mesos-session --taskmanagers 0`
 * starts TaskManagers (Mesos tasks of Sluice's executor) only while jobs need slots. A second
 * job scales the cluster up, its end scales it down again (KILL, TASK_KILLED, the executors
 * exit) while the first keeps running; with nothing running every TaskManager is released and
 * the scheduler SUPPRESSes offers, and the next job REVIVEs them. On the way, the scheduler's
 * Prometheus `http_sd` lists exactly the running TaskManagers, each of which serves metrics, and
 * its `/metrics` counts what the fake saw.
 */
import { describe, expect, it, onTestFailed } from 'vitest';
import type { SchedulerCall, SchedulerEvent } from '@sluice/mesos-proto';
import { jobPath } from './harness.js';
import { waitFor } from './leaks.js';
import type { MesosCluster } from './mesos-fake/index.js';
import { cancelJob, jobRunning, launchedTasks, sessionRest, startMesosSession, submitDetached, type MesosSession, SMALL_TASKMANAGER } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { parsePrometheusText, scrape, sum, sumIfPresent } from './prometheus.js';

const bed = mesosTestBed('sluice-mesos-elastic-');

interface HttpSdGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** An endless job at a low rate: 2 slots at -p 2, running until cancelled. */
const ENDLESS = ['-p', '2', '-D', 'rate=200'];

describe('elastic TaskManagers of sluice mesos-session', () => {
  it('starts TaskManagers for a job, scales up for a second, releases the second\'s when it ends, suppresses offers when idle and revives them for a third', async () => {
    const agent = { resources: `cpus:4;mem:4096;disk:1000;ports:[31000-31099]` };
    const m = await bed.start({ agents: [agent, agent], allocationIntervalMs: 200 });
    const session = await startMesosSession(bed.procs, bed.home, 'elastic', m, [...SMALL_TASKMANAGER, '--taskmanagers', '0', '--idle-taskmanager-timeout', '1500']);
    onTestFailed(() => console.log(session.output()));
    const job = jobPath('details.ts');
    const frameworkId = await m.waitFor('the framework', () => m.frameworks()[0]?.id);
    const running = (): string[] => m.tasks().filter((t) => t.state === 'TASK_RUNNING').map((t) => t.taskId).sort();
    const killed = (): string[] => m.calls({ api: 'scheduler', type: 'KILL' }).map((c) => (c.call as SchedulerCall).kill!.task_id.value).sort();
    const executorsAlive = (): string[] => m.executors().filter((e) => e.exit === undefined).map((e) => e.executorId).sort();

    // Nothing runs: no TaskManager.
    expect(m.calls({ api: 'scheduler', type: 'ACCEPT' })).toHaveLength(0);

    // A job needing two slots: two TaskManagers.
    const first = await submitDetached(session, job, ENDLESS);
    await jobRunning(session, first);
    expect(running()).toEqual(['taskmanager-1', 'taskmanager-2']);

    // A second job while the first runs: two more.
    const second = await submitDetached(session, job, ENDLESS);
    await jobRunning(session, second);
    expect(running()).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3', 'taskmanager-4']);
    expect(killed()).toEqual([]);
    await expectHttpSd(session, m, frameworkId, ['taskmanager-1', 'taskmanager-2', 'taskmanager-3', 'taskmanager-4']);

    // The second ends: its TaskManagers (the two launched for it) are released; the first job keeps its own.
    await cancelJob(bed.procs, session, second);
    await m.waitFor('the second job\'s TaskManagers killed', () => ['taskmanager-3', 'taskmanager-4'].every((id) => m.task(id)?.state === 'TASK_KILLED'), 60_000);
    expect(killed()).toEqual(['taskmanager-3', 'taskmanager-4']);
    await m.waitFor('their executors gone', () => executorsAlive().length === 2);
    expect(executorsAlive()).toEqual(m.tasks().filter((t) => t.state === 'TASK_RUNNING').map((t) => t.executorId).sort());
    expect(running()).toEqual(['taskmanager-1', 'taskmanager-2']);
    expect((await jobRunning(session, first)).status).toBe('RUNNING');
    await expectHttpSd(session, m, frameworkId, ['taskmanager-1', 'taskmanager-2']);

    // Nothing runs: every TaskManager released, and the scheduler wants no offers.
    await cancelJob(bed.procs, session, first);
    await m.waitFor('every TaskManager killed', () => m.tasks().every((t) => t.state === 'TASK_KILLED'), 60_000);
    expect(killed()).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3', 'taskmanager-4']);
    await m.waitFor('every executor gone', () => executorsAlive().length === 0);
    await m.waitFor('offers suppressed', () => m.frameworks()[0]!.suppressedRoles.length > 0);
    const interest = (): string[] => m.calls({ api: 'scheduler' }).map((c) => c.call.type ?? '').filter((t) => t === 'SUPPRESS' || t === 'REVIVE');
    expect(interest().at(-1)).toBe('SUPPRESS');
    await expectHttpSd(session, m, frameworkId, []);
    const idleInterest = interest().length;

    // A third job: offers revived, TaskManagers again.
    const third = await submitDetached(session, job, ENDLESS);
    await jobRunning(session, third);
    expect(interest().slice(idleInterest)[0]).toBe('REVIVE');
    expect(running()).toEqual(['taskmanager-5', 'taskmanager-6']);

    // The scheduler's counters agree with what the fake saw.
    const metrics = await scrape(`${session.schedulerUrl}/metrics`);
    const offersSent = m.events(frameworkId).filter((e: SchedulerEvent) => e.type === 'OFFERS').reduce((n, e) => n + (e.offers?.offers?.length ?? 0), 0);
    const accepts = m.calls({ api: 'scheduler', type: 'ACCEPT' });
    const launched = launchedTasks(m);
    expect(launched).toHaveLength(6);
    expect(sum(metrics, 'sluice_mesos_task_launches_total')).toBe(6);
    expect(sum(metrics, 'sluice_mesos_offers_used_total')).toBe(accepts.length);
    expect(sum(metrics, 'sluice_mesos_offers_received_total')).toBe(offersSent);
    expect(sum(metrics, 'sluice_mesos_offers_declined_total')).toBeGreaterThan(0);
    expect(sumIfPresent(metrics, 'sluice_mesos_task_failures_total') ?? 0).toBe(0);
    expect(sum(metrics, 'sluice_mesos_workers', { state: 'running' })).toBe(2);
    expect(sum(metrics, 'sluice_mesos_subscribed')).toBe(1);

    // Scaling up and down is routine: nothing in it is worth a warning.
    expect(session.process.out.stderr.split('\n').filter((l) => /^(?:\[[^\]]*\] )?\S+Z +(?:WARN|ERROR) /.test(l))).toEqual([]);

    await cancelJob(bed.procs, session, third);
    session.process.child.kill('SIGINT');
    expect((await session.process.done).code).toBe(0);
    await m.waitFor('every executor gone', () => executorsAlive().length === 0);
  }, 400_000);
});

/**
 * `/http_sd` lists exactly `taskIds`, each with its framework, agent host and task id, and every
 * listed address serves the TaskManager's Prometheus metrics. Waits for it: a TaskManager is
 * listed once its executor's first report arrived, and dropped when it ended.
 */
async function expectHttpSd(session: MesosSession, m: MesosCluster, frameworkId: string, taskIds: string[]): Promise<void> {
  const groups = await waitFor(
    `http_sd to list ${taskIds.join(', ') || 'nothing'}`,
    async () => {
      const res = await fetch(`${session.schedulerUrl}/http_sd`);
      const g = (await res.json()) as HttpSdGroup[];
      return g.map((x) => x.labels.task_id).sort().join() === taskIds.join() ? g : undefined;
    },
    60_000,
  );
  const hostOfAgent = new Map(m.agents.map((a) => [a.id, a.hostname]));
  for (const group of groups) {
    const task = m.task(group.labels.task_id!)!;
    expect(group.labels).toEqual({ framework_id: frameworkId, agent_host: hostOfAgent.get(task.agentId), task_id: task.taskId });
    expect(group.targets).toHaveLength(1);
    const samples = parsePrometheusText(await (await fetch(`http://${group.targets[0]}/metrics`)).text());
    expect(samples.some((s) => s.name.startsWith('sluice_')), `metrics of ${task.taskId} at ${group.targets[0]}`).toBe(true);
  }
  const listed = await sessionRest<{ taskManagers: { metricsUrl?: string }[] }>(session, 'GET', '/taskmanagers');
  expect(listed.taskManagers.map((t) => t.metricsUrl).filter((u) => u !== undefined).map((u) => new URL(u).host).sort()).toEqual(groups.map((g) => g.targets[0]).sort());
}
