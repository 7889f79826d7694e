/** Child processes, read from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

/** Process ids of this process's children whose command line contains `marker`. */
export function childrenRunning(marker: string): number[] {
  return childrenOf(process.pid, marker);
}

/** Process ids of `pid`'s children whose command line contains `marker`. */
export function childrenOf(pid: number, marker: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Whether `pid` runs: it exists and is no zombie (a frozen parent cannot reap its children). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
