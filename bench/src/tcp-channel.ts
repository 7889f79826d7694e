/**
 * The tcp-channel bench: one channel between two TaskManager processes (producer and consumer
 * tasks on worker threads, loopback TCP between the processes' main threads), run by the
 * runtime's own script (packages/runtime/src/shuffle/tcp-bench.ts) in a child process, whose
 * last output line is its figures as JSON.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../packages/runtime/dist/shuffle/tcp-bench.js', import.meta.url));

export interface TcpChannelRunOptions {
  records: number;
  /** Measured seconds of the paced latency run (after one warm-up second). */
  seconds: number;
  rate: number;
}

export function executeTcpChannel(options: TcpChannelRunOptions): Promise<{ fields: Record<string, number>; jobDurationMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const args = [SCRIPT, `--records=${options.records}`, `--seconds=${options.seconds}`, `--rate=${options.rate}`];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`tcp-channel exited with ${code}: ${err.trim().slice(-500) || 'no output'}`));
      else resolve({ fields: JSON.parse(last) as Record<string, number>, jobDurationMs: Date.now() - started });
    });
  });
}
