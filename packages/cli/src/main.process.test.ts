/**
 * Runs the built `sluice` binary as a real process. Relies on packages/cli/dist existing
 * (`npx tsc -b packages/cli`, which `npm test` does first); it does not build it itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function sluice(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing; build first with: npx tsc -b packages/cli`);
});

describe('sluice binary', () => {
  it('prints help and exits 0', () => {
    const top = sluice('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: sluice <command> \[options\]\n/);
    expect(top.stderr).toBe('');
    const run = sluice('run', '-h');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: sluice run <job.ts\|job.js> \[options\]\n/);
  });

  it('prints the version', () => {
    const r = sluice('--version');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sluice \d+\.\d+\.\d+\n$/);
  });

  it('rejects unknown flags and commands with exit code 2 and one line', () => {
    expect(sluice('--bogus')).toEqual({ code: 2, stdout: '', stderr: "sluice: error: unknown option '--bogus'. Run 'sluice --help'\n" });
    expect(sluice('run', 'job.ts', '--bogus')).toEqual({
      code: 2,
      stdout: '',
      stderr: "sluice: error: unknown option '--bogus'. Run 'sluice run --help'\n",
    });
    expect(sluice('deploy')).toEqual({ code: 2, stdout: '', stderr: "sluice: error: unknown command 'deploy'. Run 'sluice --help'\n" });
  });

  it('reports a missing job file with exit code 1 and no stack trace', () => {
    const r = sluice('run', 'definitely-missing-job.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sluice: error: job file not found: 'definitely-missing-job\.ts' \(looked at .*\); check the path\n$/);
  });
});
