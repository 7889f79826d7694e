/**
 * Prometheus in tests: a minimal reader of the text format, enough to pick samples out of a
 * /metrics scrape by name and labels; and Debian's `prometheus` server and `promtool` (installed
 * by infra/prometheus/install.sh), started on a free loopback port and queried over the HTTP API.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { unusedPort } from './ports.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  return parsePrometheusText(await res.text());
}

/** Sum of the samples called `name` whose labels include all of `where`. */
export function sum(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  const total = sumIfPresent(samples, name, where);
  if (total === undefined) throw new Error(`no sample ${name}${JSON.stringify(where)} in the scrape`);
  return total;
}

/**
 * Like `sum`, but undefined when no such sample is in the scrape yet: a subtask appears on
 * /metrics only once it runs, which on a busy machine can be well after its job is RUNNING.
 */
export function sumIfPresent(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  let total = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name || !Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
    total += s.value;
    found = true;
  }
  return found ? total : undefined;
}

// --- the prometheus and promtool binaries ---------------------------------------------------

export const PROMETHEUS_BINARY = findOnPath('prometheus');
export const PROMTOOL_BINARY = findOnPath('promtool');
export const PROMETHEUS_INSTALL_HINT = 'run `bash infra/prometheus/install.sh` (installs Debian\'s prometheus package, promtool included)';

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `promtool <args>` with `stdin` (if given) to its end; killed after `timeoutMs`. */
export function promtool(args: readonly string[], options: { stdin?: string; cwd?: string; timeoutMs?: number } = {}): Promise<ToolRun> {
  if (PROMTOOL_BINARY === undefined) return Promise.reject(new Error(`no promtool on PATH; ${PROMETHEUS_INSTALL_HINT}`));
  const child = spawn(PROMTOOL_BINARY, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.on('error', () => undefined); // it may exit before reading everything
  child.stdin.end(options.stdin ?? '');
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise<ToolRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  }).finally(() => clearTimeout(killer));
}

// --- a Prometheus server and its HTTP API ---------------------------------------------------

/** One series of an instant query's result. */
export interface QueriedSeries {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusProcess {
  readonly baseUrl: string;
  api<T>(path: string): Promise<T>;
  /** Instant vector query, values as numbers. */
  query(promql: string): Promise<QueriedSeries[]>;
  /** The end of its log (warnings and errors), for failure messages. */
  log(): string;
  /** SIGTERM, and SIGKILL if it has not exited within 10 s. */
  stop(): Promise<void>;
}

/** Starts `prometheus` on a free loopback port and waits until it is ready. */
export async function startPrometheus(binary: string, configFile: string, storage: string): Promise<PrometheusProcess> {
  const port = await unusedPort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${storage}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log.push(chunk);
    if (log.length > 50) log.shift();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  const describeExit = (): string => `prometheus exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)}): ${log.join('').slice(-2000)}`;

  const api = async <T>(path: string): Promise<T> => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(describeExit());
    const res = await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(30_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (!res.ok || body.status !== 'success') throw new Error(`GET ${path}: HTTP ${res.status} ${body.error ?? ''}`);
    return body.data;
  };
  const proc: PrometheusProcess = {
    baseUrl,
    api,
    async query(promql) {
      const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `/api/v1/query?${new URLSearchParams({ query: promql })}`,
      );
      if (data.resultType !== 'vector') throw new Error(`query ${promql}: expected a vector, got ${data.resultType}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    log: () => log.join('').slice(-4000),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };

  try {
    await Promise.race([
      spawnError,
      exited.then(() => Promise.reject(new Error(describeExit()))),
      eventually('prometheus to be ready', async () => {
        const res = await fetch(`${baseUrl}/-/ready`, { signal: AbortSignal.timeout(2_000) }).catch((err: unknown) => err as Error);
        return res instanceof Response && res.ok ? { ok: true } : { fail: res instanceof Error ? res.message : `HTTP ${res.status}` };
      }),
    ]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/**
 * Polls `check` every 250 ms until it returns `{ ok }`, failing with its last reason after
 * `timeoutMs` (generous: only a hang should fail it, however busy the machine).
 */
export async function eventually<T>(what: string, check: () => Promise<{ ok: T } | { fail: string }>, minWaitMs = 0, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  if (minWaitMs > 0) await sleep(minWaitMs);
  let last = 'not checked yet';
  while (Date.now() - start < timeoutMs) {
    try {
      const r = await check();
      if ('ok' in r) return r.ok;
      last = r.fail;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
