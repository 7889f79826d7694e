/**
 * The real `sluice` binary as child processes, for end-to-end tests: start one and watch its
 * output live, or run one to completion under a time limit. Every child is tracked so a test
 * file can kill whatever is still running after each test. Relies on packages/cli/dist being
 * built (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SLUICE_MAIN = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Started {
  child: ChildProcess;
  /** Output so far (live). */
  out: { stdout: string; stderr: string };
  done: Promise<Outcome>;
}

export interface CliProcesses {
  /**
   * Starts `sluice args…` in `cwd` with `env` added to this process's environment. SLUICE_HOME is
   * `<cwd>/.sluice` unless `env` says otherwise, so REST token files stay out of the real home.
   */
  start(args: string[], env?: Record<string, string>): Started;
  /** Runs `sluice args…` to completion; one that outlives `timeoutMs` is killed and the call throws. */
  run(args: string[], options?: { timeoutMs?: number; env?: Record<string, string> }): Promise<Outcome>;
  /** Kills every child still running (SIGKILL). */
  killAll(): void;
}

export function cliProcesses(cwd: string): CliProcesses {
  if (!existsSync(SLUICE_MAIN)) throw new Error(`${SLUICE_MAIN} is missing; build first with: npx tsc -b`);
  const children = new Set<ChildProcess>();
  const start = (args: string[], env: Record<string, string> = {}): Started => {
    // TMPDIR: job bundles outside any node_modules tree and default checkpoint directories land in `cwd`.
    const childEnv = { ...process.env, NO_COLOR: '1', TMPDIR: cwd, SLUICE_HOME: join(cwd, '.sluice'), ...env };
    const child = spawn(process.execPath, [SLUICE_MAIN, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const out = { stdout: '', stderr: '' };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
    const done = new Promise<Outcome>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        children.delete(child);
        resolve({ code, signal, ...out });
      });
    });
    return { child, out, done };
  };
  return {
    start,
    async run(args, options = {}) {
      const timeoutMs = options.timeoutMs ?? 60_000;
      const s = start(args, options.env);
      const timer = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
      try {
        const r = await s.done;
        if (r.signal === 'SIGKILL') throw new Error(`sluice ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${r.stderr}`);
        return r;
      } finally {
        clearTimeout(timer);
      }
    },
    killAll() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      children.clear();
    },
  };
}

/** Waits until `exited` settles, killing the process if it takes longer than `timeoutMs`. */
export async function exitWithin(s: Started, timeoutMs: number): Promise<Outcome> {
  const timer = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
  try {
    return await s.done;
  } finally {
    clearTimeout(timer);
  }
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

export async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The "submitted" line of `sluice run`: job id and REST address. */
export const SUBMITTED = /^Job '([^']*)' \(([0-9a-f]{32})\) submitted; REST API at (http:\/\/127\.0\.0\.1:\d+)$/m;

/** The line of `sluice run` after "submitted": the REST API's token and the file that holds it. */
export const TOKEN_LINE = /^REST API token \(savepoint, stop and cancel need it\): ([A-Za-z0-9_-]{43}); kept in (\S+) until the run ends$/m;

/** Waits for a started `sluice run` to print its job id, REST address and token. */
export async function submitted(s: Started, timeoutMs = 60_000): Promise<{ jobName: string; jobId: string; address: string; token: string; tokenFile: string }> {
  await until('the job to be submitted', () => TOKEN_LINE.test(s.out.stderr) || s.child.exitCode !== null, timeoutMs);
  const m = SUBMITTED.exec(s.out.stderr);
  const t = TOKEN_LINE.exec(s.out.stderr);
  if (m === null || t === null) throw new Error(`sluice run exited before submitting a job: ${s.out.stderr}`);
  return { jobName: m[1]!, jobId: m[2]!, address: m[3]!, token: t[1]!, tokenFile: t[2]! };
}
