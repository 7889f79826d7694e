/**
 * The bed of a test file that runs the real CLI against the Mesos fake: a home directory for the
 * CLI processes (made before the file's tests, removed after them) and, after each test, every
 * CLI process still running killed and the test's fake cluster stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import { startMesosCluster, type MesosCluster, type MesosClusterOptions } from './mesos-fake/index.js';

export interface MesosTestBed {
  /** The CLI processes' working directory (and TMPDIR). */
  readonly home: string;
  readonly procs: CliProcesses;
  /** Starts the test's fake cluster, stopped after the test. */
  start(options: MesosClusterOptions): Promise<MesosCluster>;
}

/** Registers the file's hooks; call at the top level of a test file. */
export function mesosTestBed(prefix: string): MesosTestBed {
  let home = '';
  let procs: CliProcesses | undefined;
  let mesos: MesosCluster | undefined;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), prefix));
    procs = cliProcesses(home);
  });
  afterEach(async () => {
    procs?.killAll();
    await mesos?.stop();
    mesos = undefined;
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
  };
}
