/**
 * What the app-definition tests need around the Marathon fake (marathon-fake/): the image's
 * commands as shims on this host, a `sluice` that only echoes its argv, and what other users of
 * an agent could read of a task. The image is not run by the Marathon fake: its `sluice` and
 * `sluice-mesos-executor` are shims on PATH that start this checkout's build, and the image's
 * entrypoint (tini) is left out.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLUICE_MAIN } from './cli-process.js';
import type { AppDefinition } from './marathon-fake/index.js';
import { MarathonTask } from './marathon-fake/task.js';

const EXECUTOR_MAIN = fileURLToPath(new URL('../../packages/mesos-executor/dist/executor-main.js', import.meta.url));

const shQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** A directory with `sluice` and `sluice-mesos-executor` starting this checkout's build, as the image has them on PATH. */
export function imageShims(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const shim = (name: string, main: string): void => {
    writeFileSync(join(dir, name), `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(main)} "$@"\n`);
    chmodSync(join(dir, name), 0o755);
  };
  shim('sluice', SLUICE_MAIN);
  shim('sluice-mesos-executor', EXECUTOR_MAIN);
  return dir;
}

/** A `sluice` that prints the arguments it was given as JSON and exits: to see what a command line expands to. */
export function argvEchoShim(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sluice'), `#!/bin/sh\nexec ${shQuote(process.execPath)} -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' -- "$@"\n`);
  chmodSync(join(dir, 'sluice'), 0o755);
  return dir;
}

export interface ExpandOptions {
  /** Where the sandbox is made. */
  home: string;
  /** Directory put first on PATH (the image's commands). */
  pathDir: string;
  /** Secret values by secret-store path (`secrets.<name>.source`). */
  secrets: Record<string, string>;
}

let sandboxes = 0;

/** Runs an app's command to its end with the echo shim on PATH, as Marathon would start it; resolves with the `sluice` argv it expanded to. */
export async function expandedArgv(app: AppDefinition, o: ExpandOptions): Promise<string[]> {
  const task = new MarathonTask({
    app,
    taskId: `expand.${++sandboxes}`,
    sandbox: mkdtempSync(join(o.home, 'sandbox-')),
    host: '127.0.0.1',
    secrets: new Map(Object.entries(o.secrets)),
    agentEnv: { PATH: `${o.pathDir}:/usr/local/bin:/usr/bin:/bin`, NO_COLOR: '1' },
    // Only the expansion matters here, not who runs it (the app's user need not exist on this host).
    switchUser: false,
  });
  await task.start();
  const end = await task.exited;
  if (end.code !== 0) throw new Error(`the command exited with ${String(end.code ?? end.signal)}\n${task.output()}`);
  return JSON.parse(task.read('stdout')) as string[];
}

/** What /proc shows of a process to other users of the agent: its command line and environment. */
export function visibleToTheAgent(pid: number): string {
  const read = (f: string): string => {
    try {
      return readFileSync(`/proc/${pid}/${f}`, 'utf8');
    } catch {
      return '';
    }
  };
  return `${read('cmdline')}\n${read('environ')}`;
}
