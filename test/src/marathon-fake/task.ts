/**
 * One task of a Marathon app, run the way Marathon's Mesos command executor runs it on a host
 * without containers: host ports from `portDefinitions` (0 = any free one), Marathon's task
 * environment (PORT0…, PORT, PORTS, PORT_<NAME>, HOST, MARATHON_APP_*, MESOS_TASK_ID,
 * MESOS_SANDBOX) over the app's `env`, secrets from the fake's secret store (env `{"secret": …}`
 * and secret volumes as files under the sandbox), `cmd` through `/bin/sh -c` or `args` exec'd, in
 * the sandbox, stdout and stderr to files there, as the app's `user` when the fake runs as root. Health checks (HTTP / MESOS_HTTP / TCP on a
 * port index) run as the app says; kill is SIGTERM, then SIGKILL after the grace period.
 *
 * Not faked: the container image (the command runs on the host, so what it calls must be on the
 * PATH the test gives), constraints, fetch URIs, resource limits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { unusedPort } from '../ports.js';
import type { AppDefinition, HealthCheck } from './app.js';

export interface TaskOptions {
  app: AppDefinition;
  taskId: string;
  sandbox: string;
  host: string;
  /** The secret store (DC/OS: `dcos security secrets create`): source path → value. */
  secrets: ReadonlyMap<string, string>;
  /** The environment of the "agent" (PATH and the like), under Marathon's and the app's. */
  agentEnv: NodeJS.ProcessEnv;
  /** Probe health this often instead of the checks' intervalSeconds (tests that cannot wait 30 s). */
  probeIntervalMs?: number;
  /** Run as the app's `user` when running as root (default true), as an agent with --switch_user. */
  switchUser?: boolean;
}

export interface HealthResult {
  alive: boolean;
  consecutiveFailures: number;
  lastFailureCause?: string;
}

export class MarathonTask {
  readonly ports: number[] = [];
  state: 'TASK_STAGING' | 'TASK_RUNNING' | 'TASK_FINISHED' | 'TASK_FAILED' | 'TASK_KILLED' = 'TASK_STAGING';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly health: HealthResult[] = [];
  private child: ChildProcess | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private killing = false;
  private ended: Promise<void> = new Promise(() => undefined);

  constructor(private readonly o: TaskOptions) {}

  get id(): string {
    return this.o.taskId;
  }

  get sandbox(): string {
    return this.o.sandbox;
  }

  /** Settles when the task's process has ended (never, if it never started). */
  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.ended.then(() => this.exit!);
  }

  /** The host port of the port definition named `name`. */
  port(name: string): number {
    const i = (this.o.app.portDefinitions ?? []).findIndex((d) => d.name === name);
    if (i < 0 || this.ports[i] === undefined) throw new Error(`the app has no port named ${name}`);
    return this.ports[i];
  }

  /** What the task wrote to stdout or stderr in its sandbox so far. */
  read(stream: 'stdout' | 'stderr'): string {
    try {
      return readFileSync(join(this.o.sandbox, stream), 'utf8');
    } catch {
      return '';
    }
  }

  /** The tails of both, for failure messages. */
  output(): string {
    return `--- task stdout ---\n${this.read('stdout').slice(-3000)}\n--- task stderr ---\n${this.read('stderr').slice(-6000)}`;
  }

  async start(): Promise<void> {
    const { app, sandbox } = this.o;
    for (const d of app.portDefinitions ?? []) this.ports.push(d.port === 0 || d.port === undefined ? await unusedPort() : d.port);
    mkdirSync(sandbox, { recursive: true });
    const user = this.o.switchUser === false ? undefined : taskUser(app.user);
    const env = this.environment();
    if (user !== undefined) Object.assign(env, { USER: app.user, LOGNAME: app.user, HOME: user.home });
    for (const v of app.container?.volumes ?? []) {
      if (v.secret === undefined) continue;
      const file = resolvePath(sandbox, v.containerPath);
      if (!file.startsWith(`${sandbox}/`)) throw new Error(`secret volume ${v.containerPath} is outside the sandbox`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, this.secret(v.secret), { mode: 0o400 });
    }
    const out = openSync(join(sandbox, 'stdout'), 'a');
    const err = openSync(join(sandbox, 'stderr'), 'a');
    // The sandbox belongs to the task's user, as Mesos chowns it before the launch.
    if (user !== undefined) chownTree(sandbox, user.uid, user.gid);
    try {
      const [file, args] = app.cmd !== undefined ? ['/bin/sh', ['-c', app.cmd]] : [app.args?.[0] ?? '', app.args?.slice(1) ?? []];
      const child = spawn(file, args, { cwd: sandbox, env, stdio: ['ignore', out, err], detached: true, ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }) });
      this.child = child;
      this.ended = new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          this.exit = { code, signal };
          this.state = this.killing ? 'TASK_KILLED' : code === 0 ? 'TASK_FINISHED' : 'TASK_FAILED';
          for (const t of this.timers) clearInterval(t);
          resolve();
        }),
      );
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.state = 'TASK_RUNNING';
    for (const [i, check] of (app.healthChecks ?? []).entries()) {
      this.health[i] = { alive: false, consecutiveFailures: 0 };
      this.schedule(i, check);
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Healthy: running, and every health check's last result alive (Marathon's tasksHealthy). */
  healthy(): boolean {
    return this.state === 'TASK_RUNNING' && this.health.every((h) => h.alive);
  }

  /** SIGTERM to the task's process group, SIGKILL after the app's taskKillGracePeriodSeconds (default 3). */
  async kill(): Promise<void> {
    if (this.exit !== undefined || this.child?.pid === undefined) return;
    this.killing = true;
    const group = -this.child.pid;
    const signal = (s: NodeJS.Signals): void => {
      try {
        process.kill(group, s);
      } catch {
        // the group is gone
      }
    };
    signal('SIGTERM');
    const grace = setTimeout(() => signal('SIGKILL'), (this.o.app.taskKillGracePeriodSeconds ?? 3) * 1000);
    await this.ended;
    clearTimeout(grace);
    signal('SIGKILL');
  }

  private secret(name: string): string {
    const source = this.o.app.secrets?.[name]?.source;
    const value = source === undefined ? undefined : this.o.secrets.get(source);
    if (value === undefined) throw new Error(`secret '${name}' (source ${String(source)}) is not in the secret store`);
    return value;
  }

  private environment(): NodeJS.ProcessEnv {
    const { app, host, taskId, sandbox } = this.o;
    const env: NodeJS.ProcessEnv = { ...this.o.agentEnv };
    for (const [k, v] of Object.entries(app.env ?? {})) env[k] = typeof v === 'string' ? v : this.secret(v.secret);
    this.ports.forEach((p, i) => {
      env[`PORT${i}`] = String(p);
      const name = app.portDefinitions?.[i]?.name;
      if (name !== undefined) env[`PORT_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = String(p);
    });
    if (this.ports.length > 0) env.PORT = String(this.ports[0]);
    env.PORTS = this.ports.join(',');
    env.HOST = host;
    env.MARATHON_APP_ID = app.id;
    env.MARATHON_APP_VERSION = app.version ?? '';
    env.MARATHON_APP_RESOURCE_CPUS = String(app.cpus ?? 1);
    env.MARATHON_APP_RESOURCE_MEM = String(app.mem ?? 128);
    if (app.container?.docker?.image !== undefined) env.MARATHON_APP_DOCKER_IMAGE = app.container.docker.image;
    env.MESOS_TASK_ID = taskId;
    env.MESOS_SANDBOX = sandbox;
    return env;
  }

  private schedule(i: number, check: HealthCheck): void {
    const probe = async (): Promise<void> => {
      const h = this.health[i]!;
      const port = check.port ?? this.ports[check.portIndex ?? 0];
      const failure = port === undefined ? `no port index ${check.portIndex ?? 0}` : await probeOnce(check, this.o.host, port);
      if (failure === undefined) {
        h.alive = true;
        h.consecutiveFailures = 0;
        delete h.lastFailureCause;
      } else {
        h.alive = false;
        h.consecutiveFailures++;
        h.lastFailureCause = failure;
      }
    };
    const interval = this.o.probeIntervalMs ?? (check.intervalSeconds ?? 60) * 1000;
    // The first probe right away: the fake does not wait out the grace period, it only counts failures after it.
    void probe();
    this.timers.push(setInterval(() => void probe(), interval));
  }
}

/** One probe: undefined when healthy, else why not. */
function probeOnce(check: HealthCheck, host: string, port: number): Promise<string | undefined> {
  const timeoutMs = (check.timeoutSeconds ?? 20) * 1000;
  return new Promise((resolve) => {
    if (check.protocol === 'TCP' || check.protocol === 'MESOS_TCP') {
      const s = connect({ host, port, timeout: timeoutMs }, () => {
        s.destroy();
        resolve(undefined);
      });
      s.on('error', (err) => resolve(err.message));
      s.on('timeout', () => (s.destroy(), resolve('timed out')));
      return;
    }
    const req = request({ host, port, path: check.path ?? '/', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      // Marathon: 2xx and 3xx are healthy.
      resolve(status >= 200 && status < 400 ? undefined : `HTTP ${status}`);
    });
    req.on('error', (err) => resolve(err.message));
    req.on('timeout', () => (req.destroy(), resolve('timed out')));
    req.end();
  });
}

/**
 * The app's `user` as the agent switches to it (Mesos with --switch_user): only when the fake
 * runs as root, which can; otherwise the task runs as the test's user.
 */
function taskUser(name: string | undefined): { uid: number; gid: number; home: string } | undefined {
  if (name === undefined || process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  const [, , uid, gid, , home] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error(`Failed to change user to '${name}': unknown user on the agent`);
  return { uid: Number(uid), gid: Number(gid), home: home ?? '/' };
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), uid, gid);
}
