/**
 * The bed of a test file that runs the real CLI against the Mesos fake: a home directory for the
 * CLI processes (made before the file's tests, removed after them) and, after each test, every
 * CLI process still running killed, the test's fake cluster stopped, and every executor and
 * TaskManager process it remembered checked gone; the sessions it was shown print their output
 * when the test fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import { waitFor } from './leaks.js';
import { startMesosCluster, type MesosCluster, type MesosClusterOptions } from './mesos-fake/index.js';
import { taskManagerPids, type MesosSession } from './mesos-harness.js';
import { isRunning } from './processes.js';

export interface MesosTestBed {
  /** The CLI processes' working directory (and TMPDIR). */
  readonly home: string;
  readonly procs: CliProcesses;
  /** Starts the test's fake cluster, stopped after the test. */
  start(options: MesosClusterOptions): Promise<MesosCluster>;
  /** Notes the executor and TaskManager processes running now: after the test, each must be gone. */
  remember(mesos: MesosCluster): void;
  /** A session whose output is printed when the test fails. */
  show(session: { output(): string }): void;
  /** Ctrl-C to a session: it exits 0, every executor ends, and no executor or TaskManager process is left. */
  stopSession(mesos: MesosCluster, session: MesosSession): Promise<void>;
}

/** Registers the file's hooks; call at the top level of a test file. */
export function mesosTestBed(prefix: string): MesosTestBed {
  let home = '';
  let procs: CliProcesses | undefined;
  let mesos: MesosCluster | undefined;
  let shown: { output(): string }[] = [];
  const seenPids = new Set<number>();
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), prefix));
    procs = cliProcesses(home);
  });
  beforeEach((context) => {
    shown = [];
    context.onTestFailed(() => {
      for (const s of shown) console.error(s.output());
    });
  });
  afterEach(async () => {
    procs?.killAll();
    await mesos?.stop();
    mesos = undefined;
    await waitFor('every executor and TaskManager process to end', () => ([...seenPids].some(isRunning) ? undefined : true), 30_000);
    seenPids.clear();
  }, 60_000);
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  return {
    get home() {
      return home;
    },
    get procs() {
      if (procs === undefined) throw new Error('the Mesos test bed is used before its beforeAll hook ran');
      return procs;
    },
    async start(options) {
      mesos = await startMesosCluster(options);
      return mesos;
    },
    remember(m) {
      for (const e of m.executors()) if (e.pid !== undefined) seenPids.add(e.pid);
      for (const pid of taskManagerPids(m).values()) seenPids.add(pid);
    },
    show(session) {
      shown.push(session);
    },
    async stopSession(m, session) {
      this.remember(m);
      session.process.child.kill('SIGINT');
      const stopped = await session.process.done;
      expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
      await m.waitFor('every executor gone', () => m.executors().every((e) => e.exit !== undefined), 30_000);
      await waitFor('every TaskManager process to end', () => ([...seenPids].some(isRunning) ? undefined : true), 30_000);
    },
  };
}
