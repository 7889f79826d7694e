/**
 * Runs a Marathon app's command the way Marathon and a Mesos agent would, on this host: in a
 * fresh sandbox holding the app's secret volumes as files, with the environment Marathon gives
 * a task (the app's env, PORT0.., PORTS, PORT_<NAME>, HOST, MESOS_SANDBOX, MARATHON_APP_ID) and
 * `cmd` through `/bin/sh -c` or `args` without a shell. The image is not run: its `sluice` and
 * `sluice-mesos-executor` are shims on PATH that start this checkout's build, and the image's
 * entrypoint (tini) is left out. Health checks are polled as the app defines them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLUICE_MAIN } from './cli-process.js';
import { waitFor } from './leaks.js';
import type { MarathonApp } from './marathon-schema.js';
import { unusedPort } from './ports.js';

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

export interface MarathonTaskOptions {
  /** Where the sandbox is made. */
  home: string;
  /** Directory put first on PATH (the image's commands). */
  pathDir: string;
  /** Secret values by secret-store path (`secrets.<name>.source`). */
  secrets: Record<string, string>;
  /** Environment values that differ from the app's: what the test changes, named in the test. */
  envOverrides?: Record<string, string>;
}

export interface MarathonTask {
  child: ChildProcess;
  sandbox: string;
  /** The host ports Marathon assigned, in portDefinitions order. */
  ports: number[];
  env: Record<string, string>;
  out: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The port of the port definition named `name`. */
  port(name: string): number;
  output(): string;
}

/** Starts the app's command as a task would start; ports are free ones on 127.0.0.1 (requirePorts false). */
export async function startMarathonTask(app: MarathonApp, o: MarathonTaskOptions): Promise<MarathonTask> {
  const sandbox = mkdtempSync(join(o.home, 'sandbox-'));
  for (const v of app.container?.volumes ?? []) {
    // A host volume mounted at its own path is that path on this host too.
    if (v.secret === undefined && v.hostPath === v.containerPath) continue;
    if (v.secret === undefined) throw new Error(`volume ${v.containerPath}: only secret volumes and host volumes at their own path are laid out here`);
    if (isAbsolute(v.containerPath)) throw new Error(`secret volume ${v.containerPath}: only sandbox-relative paths are laid out here`);
    const source = app.secrets?.[v.secret]?.source;
    const value = source === undefined ? undefined : o.secrets[source];
    if (value === undefined) throw new Error(`no value given for secret '${v.secret}' (source ${String(source)})`);
    const file = join(sandbox, v.containerPath);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value, { mode: 0o400 });
  }
  const definitions = app.portDefinitions ?? [];
  const ports: number[] = [];
  for (let i = 0; i < definitions.length; i++) ports.push(await unusedPort());
  const env: Record<string, string> = { PATH: `${o.pathDir}:/usr/local/bin:/usr/bin:/bin`, NO_COLOR: '1' };
  for (const [k, v] of Object.entries(app.env ?? {})) if (typeof v === 'string') env[k] = v;
  Object.assign(env, {
    HOST: '127.0.0.1',
    MESOS_SANDBOX: sandbox,
    MARATHON_APP_ID: app.id,
    PORTS: ports.join(','),
    ...Object.fromEntries(ports.map((p, i) => [`PORT${i}`, String(p)])),
    ...Object.fromEntries(definitions.flatMap((d, i) => (d.name === undefined ? [] : [[`PORT_${d.name.toUpperCase().replaceAll('-', '_')}`, String(ports[i])]]))),
    ...o.envOverrides,
  });
  const [file, args] = app.cmd !== undefined ? ['/bin/sh', ['-c', app.cmd]] : [app.args![0]!, app.args!.slice(1)];
  // Its own process group, as a Mesos task has: the test can end whatever it leaves behind.
  const child = spawn(file, args, { cwd: sandbox, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    sandbox,
    ports,
    env,
    out,
    exited,
    port(name) {
      const i = definitions.findIndex((d) => d.name === name);
      if (i < 0) throw new Error(`the app has no port named ${name}`);
      return ports[i]!;
    },
    output: () => `--- task stdout ---\n${out.stdout.slice(-3000)}\n--- task stderr ---\n${out.stderr.slice(-6000)}`,
  };
}

/** Runs an app's command to its end with the echo shim on PATH; resolves with the `sluice` argv it expanded to. */
export async function expandedArgv(app: MarathonApp, o: MarathonTaskOptions): Promise<string[]> {
  const task = await startMarathonTask(app, o);
  const end = await task.exited;
  await new Promise((r) => setImmediate(r));
  if (end.code !== 0) throw new Error(`the command exited with ${String(end.code ?? end.signal)}\n${task.output()}`);
  return JSON.parse(task.out.stdout) as string[];
}

/** Polls the app's first health check as Marathon (HTTP) or the agent (MESOS_HTTP) would: healthy on 200..399. */
export async function waitHealthy(app: MarathonApp, task: MarathonTask, timeoutMs = 60_000): Promise<{ status: number; body: string }> {
  const check = app.healthChecks?.[0];
  if (check === undefined) throw new Error('the app has no health check');
  if (check.protocol !== 'MESOS_HTTP' && check.protocol !== 'HTTP') throw new Error(`health check protocol ${String(check.protocol)} is not polled here`);
  const port = check.port ?? task.ports[check.portIndex ?? 0]!;
  return waitFor(
    `the health check (${check.protocol} ${check.path ?? '/'} on port index ${check.portIndex ?? 0})`,
    async () => {
      if (task.child.exitCode !== null || task.child.signalCode !== null) throw new Error(`the task ended before it was healthy\n${task.output()}`);
      const res = await fetch(`http://127.0.0.1:${port}${check.path ?? '/'}`, { redirect: 'manual' }).catch(() => undefined);
      if (res === undefined) return undefined;
      const body = await res.text();
      return res.status >= 200 && res.status < 400 ? { status: res.status, body } : undefined;
    },
    timeoutMs,
  );
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
