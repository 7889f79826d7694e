/**
 * Runs a README section's shell blocks as a reader would: in order, in one bash session (so the
 * variables and background jobs of one block are there for the next), `set -euo pipefail`, each
 * block's stdin /dev/null so no command eats the blocks that follow. The test may look at the
 * world between blocks. A block that fails ends the session; the error names the block and
 * shows what the session printed.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** The ```sh blocks of the README section titled `heading` (from its `## ` line to the next one). */
export function readmeShellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`the README has no section '## ${heading}'`);
  const next = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

export class WalkthroughShell {
  private readonly child: ChildProcess;
  private out = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<() => void>();
  private count = 0;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    // Its own process group, so close() can end whatever a block left running.
    this.child = spawn('bash', ['--noprofile', '--norc', '-s'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const take = (d: Buffer): void => {
      this.out += d.toString('utf8');
      for (const w of this.waiters) w();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.child.once('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.waiters) w();
    });
    this.child.stdin!.write('set -euo pipefail\n');
  }

  /** What the session printed (stdout and stderr interleaved), the last `chars` of it. */
  output(chars = 12_000): string {
    return this.out.slice(-chars);
  }

  /** Runs one block to its end; resolves with what it printed. */
  async run(block: string, timeoutMs: number): Promise<string> {
    const n = ++this.count;
    const begin = `::walkthrough block ${n} begins::`;
    const end = `::walkthrough block ${n} ends::`;
    this.child.stdin!.write(`printf '%s\\n' '${begin}'\n{\n${block}\n} </dev/null\nprintf '%s\\n' '${end}'\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const from = this.out.indexOf(begin);
      const to = this.out.indexOf(end);
      if (from >= 0 && to > from) return this.out.slice(from + begin.length, to);
      if (this.exited !== undefined) throw new Error(`block ${n} failed (the shell exited with ${String(this.exited.code ?? this.exited.signal)}):\n${block}\n--- output ---\n${this.output()}`);
      if (Date.now() > deadline) throw new Error(`block ${n} did not end within ${timeoutMs} ms:\n${block}\n--- output ---\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 1_000);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.waiters;
        waiters.add(done);
      });
    }
  }

  /** Ends the session and everything it started. */
  async close(): Promise<void> {
    if (this.exited === undefined) {
      this.child.stdin!.end('exit 0\n');
      await new Promise((r) => setTimeout(r, 200));
    }
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      // the group is gone
    }
  }
}
