/**
 * What a finished test must leave behind: no worker threads and no message ports. Worker
 * threads are threads of this process, so the kernel's thread count shows a leaked or still
 * spinning one even when Node no longer reports a handle for it.
 *
 * Also the polling helpers the integration tests wait with. Their default bound is long: it only
 * has to fail a wait that will never end, and on a machine whose cores are busy with other work
 * a thread start or a job deployment can take seconds.
 */
import { readFileSync } from 'node:fs';

/** Default bound of the waits below: generous, so that only a hang fails it. */
export const SETTLE_TIMEOUT_MS = 30_000;

/** Threads of this process, from /proc/self/status. */
export function threadCount(): number {
  const line = /^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (line === null) throw new Error('no Threads: line in /proc/self/status');
  return Number(line[1]);
}

/** Active Worker and MessagePort handles, as Node reports them. */
export function threadHandles(): string[] {
  return process.getActiveResourcesInfo().filter((h) => h === 'Worker' || h === 'MessagePort');
}

/** Polls until the thread count is at most `limit` (threads exit asynchronously), or gives up. */
export async function settleThreads(limit: number, timeoutMs = SETTLE_TIMEOUT_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = threadCount();
  while (n > limit && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    n = threadCount();
  }
  return n;
}

/**
 * Polls until no Worker or MessagePort handle is left (a closed pool's ports are released a
 * little after close() resolves), or gives up; returns the handles still open.
 */
export async function settleThreadHandles(timeoutMs = SETTLE_TIMEOUT_MS): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let open = threadHandles();
  while (open.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    open = threadHandles();
  }
  return open;
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = SETTLE_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
