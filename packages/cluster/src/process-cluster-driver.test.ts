import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@sluice/common';
import type { ClusterDriverEvents } from '@sluice/jobmanager';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessClusterDriver } from './process-cluster-driver.js';

/** A stand-in TaskManager process: says hello, then lives until told otherwise by its spec. */
function script(behaviour: 'wait' | 'fail' | 'ignore-term'): string[] {
  const body = {
    wait: `console.log('tm up'); setInterval(() => {}, 1000);`,
    fail: `console.error('cannot bind the data port: EADDRINUSE'); process.exit(3);`,
    'ignore-term': `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('tm up'); setInterval(() => {}, 1000);`,
  }[behaviour];
  return ['-e', body];
}

function recorder() {
  const events: string[] = [];
  const waiters: { match: RegExp; resolve(): void }[] = [];
  const push = (e: string): void => {
    events.push(e);
    for (const w of waiters.filter((x) => x.match.test(e))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const handlers: ClusterDriverEvents = {
    onWorkerStarted: (id) => push(`started ${id}`),
    onWorkerTerminated: (id, reason) => push(`terminated ${id}: ${reason}`),
  };
  const next = (match: RegExp): Promise<void> =>
    events.some((e) => match.test(e)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ match, resolve }));
  return { events, handlers, next };
}

let driver: ProcessClusterDriver | undefined;
afterEach(async () => {
  await driver?.terminate();
  driver = undefined;
});

describe('ProcessClusterDriver', () => {
  it('starts a TaskManager process per worker and stops it on release, reporting it released', async () => {
    const lines: string[] = [];
    const rec = recorder();
    driver = new ProcessClusterDriver({ taskManagerArgs: () => script('wait'), onLine: (id, l) => lines.push(`${id}: ${l}`), logger: silentLogger });
    await driver.initialize(rec.handlers);
    await driver.requestWorker({ resourceId: 'tm-1', numberOfSlots: 2 });
    expect(rec.events).toEqual(['started tm-1']);
    const pid = driver.processes()[0]?.pid;
    expect(pid).toBeGreaterThan(0);
    await driver.releaseWorker('tm-1');
    await rec.next(/terminated tm-1/);
    expect(rec.events).toEqual(['started tm-1', 'terminated tm-1: released']);
    expect(() => process.kill(pid!, 0)).toThrow();
    expect(driver.processes()).toEqual([]);
  });

  it('reports a crash with its exit code and last line of output', async () => {
    const rec = recorder();
    driver = new ProcessClusterDriver({ taskManagerArgs: () => script('fail'), onLine: () => undefined, logger: silentLogger });
    await driver.initialize(rec.handlers);
    await driver.requestWorker({ resourceId: 'tm-2', numberOfSlots: 1 });
    await rec.next(/terminated tm-2/);
    expect(rec.events[1]).toBe('terminated tm-2: TaskManager process exited with code 3: cannot bind the data port: EADDRINUSE');
  });

  it('reports a kill -9 by its signal', async () => {
    const rec = recorder();
    driver = new ProcessClusterDriver({ taskManagerArgs: () => script('wait'), onLine: () => undefined, logger: silentLogger });
    await driver.initialize(rec.handlers);
    await driver.requestWorker({ resourceId: 'tm-3', numberOfSlots: 1 });
    process.kill(driver.processes()[0]!.pid!, 'SIGKILL');
    await rec.next(/terminated tm-3/);
    expect(rec.events[1]).toMatch(/^terminated tm-3: TaskManager process was killed by SIGKILL/);
  });

  it('kills a TaskManager that ignores SIGTERM once the grace period is over', async () => {
    const rec = recorder();
    const lines: string[] = [];
    let up!: () => void;
    const isUp = new Promise<void>((resolve) => (up = resolve));
    const onLine = (_id: string, line: string): void => {
      lines.push(line);
      if (line === 'tm up') up();
    };
    driver = new ProcessClusterDriver({ taskManagerArgs: () => script('ignore-term'), stopGraceMs: 200, onLine, logger: silentLogger });
    await driver.initialize(rec.handlers);
    await driver.requestWorker({ resourceId: 'tm-4', numberOfSlots: 1 });
    await isUp;
    await driver.terminate();
    expect(lines).toEqual(['tm up', 'ignoring SIGTERM']);
    expect(rec.events).toEqual(['started tm-4', 'terminated tm-4: released']);
  });

  it('refuses a second worker under the same id and any worker once terminated', async () => {
    driver = new ProcessClusterDriver({ taskManagerArgs: () => script('wait'), onLine: () => undefined, logger: silentLogger });
    await driver.initialize(recorder().handlers);
    await driver.requestWorker({ resourceId: 'tm-5', numberOfSlots: 1 });
    await expect(driver.requestWorker({ resourceId: 'tm-5', numberOfSlots: 1 })).rejects.toMatchObject({ code: 'WORKER_EXISTS' });
    await driver.terminate();
    await expect(driver.requestWorker({ resourceId: 'tm-6', numberOfSlots: 1 })).rejects.toMatchObject({ code: 'DRIVER_TERMINATED' });
  });
});

describe('exitWithParent', () => {
  it('ends a child whose parent was killed with SIGKILL', async () => {
    const childModule = fileURLToPath(new URL('../dist/child.js', import.meta.url));
    // parent: starts a child that uses exitWithParent, prints the child's pid, then waits.
    const grandchild = `import { exitWithParent } from ${JSON.stringify(childModule)}; exitWithParent(async () => {}, { warn() {}, error() {} }); console.log('ready'); setInterval(() => {}, 1000);`;
    const parentCode = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, ['--input-type=module', '-e', ${JSON.stringify(grandchild)}], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      c.on('spawn', () => console.log(String(c.pid)));
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', parentCode], { stdio: ['ignore', 'pipe', 'inherit'] });
    // The grandchild's pid (from the parent), then its 'ready' (on the same inherited stdout).
    let out = '';
    await new Promise<void>((resolve) =>
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      }),
    );
    const pid = Number(/^(\d+)$/m.exec(out)?.[1]);
    expect(() => process.kill(pid, 0)).not.toThrow();
    parent.kill('SIGKILL');
    // The grandchild notices the closed IPC channel and exits on its own.
    for (;;) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
