/**
 * `sluice mesos-session` end to end on the Mesos fake: the real CLI process is the framework
 * scheduler, the fake's agents start Sluice's executor as real processes with a real agent's
 * environment, the executors start real TaskManager processes, and `sluice submit` runs a job on
 * them. The exactly-once job's committed output must equal a failure-free run's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Resource } from '@sluice/mesos-proto';
import { jobPath } from './harness.js';
import { committedLines, failureFreeLines, type Line } from './jobs/exactly-once.js';
import { launchedTasks, SMALL_TASKMANAGER, startMesosSession } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';

const bed = mesosTestBed('sluice-mesos-session-');

const SLUICE_PACKAGE_SCRIPT = fileURLToPath(new URL('../../scripts/sluice-package.mjs', import.meta.url));

function realpathSafe(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

const order = (a: Line, b: Line): number => a.key - b.key || (a.final ? 1 : 0) - (b.final ? 1 : 0) || a.seq - b.seq;
const reservedRole = (r: Resource): string | undefined => r.reservations?.at(-1)?.role ?? (r.role !== undefined && r.role !== '*' ? r.role : undefined);

describe('sluice mesos-session on the Mesos fake', () => {
  it('launches three TaskManagers through the executor on three hosts (UNIQUE), reserved resources first, runs a job exactly, and removes the framework on Ctrl-C', async () => {
    // Each agent reserves part of a TaskManager's cpus and memory for the role statically.
    const agent = { resources: 'cpus:2;mem:2048;disk:1000;ports:[31000-31099];cpus(streaming):0.25;mem(streaming):256' };
    const mesos = await bed.start({ agents: [agent, agent, agent], allocationIntervalMs: 200 });
    const session = await startMesosSession(bed.procs, bed.home, 'session', mesos, [...SMALL_TASKMANAGER, '--mesos-role', 'streaming', '--constraints', '[["hostname","UNIQUE"]]']);
    const out = mkdtempSync(join(bed.home, 'out-'));
    const events = 30_000;
    const keys = 12;
    const submitted = await session.submit(jobPath('exactly-once.ts'), ['-p', '3', '-D', `out=${out}`, '-D', `events=${events}`, '-D', `keys=${keys}`, '-D', 'rate=20000']);
    expect(submitted, `${submitted.stderr}\n${session.output()}`).toMatchObject({ code: 0, stdout: expect.stringMatching(/FINISHED/) });
    expect(committedLines(out).sort(order)).toEqual(failureFreeLines(events, keys).sort(order));

    // Three tasks, each with its own executor process, on three different agents.
    const tasks = mesos.tasks();
    expect(tasks.map((t) => t.taskId).sort()).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3']);
    expect(new Set(tasks.map((t) => t.agentId)).size).toBe(3);
    for (const t of tasks) expect(t.history).toContain('TASK_RUNNING');
    expect(mesos.executors().filter((e) => e.pid !== undefined)).toHaveLength(3);
    // Every launch used the role's reserved cpus and memory before unreserved ones, as separate entries.
    const launches = launchedTasks(mesos);
    expect(launches).toHaveLength(3);
    for (const task of launches) {
      const cpus = task.resources!.filter((r) => r.name === 'cpus');
      expect(cpus.map((r) => [reservedRole(r), r.scalar?.value])).toEqual([['streaming', 0.25], [undefined, 0.25]]);
      const mem = task.resources!.filter((r) => r.name === 'mem');
      expect(mem.map((r) => [reservedRole(r), r.scalar?.value])).toEqual([['streaming', 256], [undefined, 256]]);
    }

    // Ctrl-C: the TaskManagers are killed, their executors end, and the framework leaves Mesos.
    session.process.child.kill('SIGINT');
    const stopped = await session.process.done;
    expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
    expect(mesos.calls({ api: 'scheduler', type: 'TEARDOWN' })).toHaveLength(1);
    await mesos.waitFor('every executor gone', () => mesos.executors().every((e) => e.exit !== undefined), 30_000);
  }, 300_000);

  it('with --sluice-package, the agents fetch Sluice from the scheduler, unpack it in the sandbox, and run the executor and TaskManager from there', async () => {
    const archive = join(bed.home, 'sluice.tar.gz');
    execFileSync(process.execPath, [SLUICE_PACKAGE_SCRIPT, '--out', archive]);
    const mesos = await bed.start({ agents: [{}], allocationIntervalMs: 200 });
    const session = await startMesosSession(bed.procs, bed.home, 'packaged', mesos, [...SMALL_TASKMANAGER, '--sluice-package', archive]);
    const submitted = await session.submit(jobPath('smoke.ts'), ['-p', '1']);
    expect(submitted, `${submitted.stderr}\n${session.output()}`).toMatchObject({ code: 0, stdout: expect.stringMatching(/FINISHED in .*: 20 records from sources/) });

    const [task] = launchedTasks(mesos);
    const command = task!.executor!.command!;
    expect(command.value).toBe('exec node sluice/packages/mesos-executor/dist/executor-main.js');
    expect(command.uris?.map((u) => u.value)).toEqual([expect.stringMatching(new RegExp(`^${session.schedulerUrl}/artifacts/sluice-[0-9a-f]{16}\\.tar\\.gz$`))]);
    // The TaskManager stays until it has been idle a while: both processes run the unpacked code.
    const [executor] = mesos.executors();
    const executorCommand = readFileSync(`/proc/${executor!.pid}/cmdline`, 'utf8').split('\0');
    expect(executorCommand).toContain('sluice/packages/mesos-executor/dist/executor-main.js');
    expect(realpathSync(`/proc/${executor!.pid}/cwd`)).toBe(realpathSync(executor!.sandbox));
    const tmPid = Number(execFileSync('pgrep', ['-P', String(executor!.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    const tmCommand = readFileSync(`/proc/${tmPid}/cmdline`, 'utf8').split('\0');
    expect(tmCommand.some((a) => realpathSafe(a) === realpathSync(join(executor!.sandbox, 'sluice/packages/cluster/dist/taskmanager-main.js')))).toBe(true);

    session.process.child.kill('SIGINT');
    expect((await session.process.done).code).toBe(0);
  }, 300_000);
});
