/**
 * Self time per function from a V8 .cpuprofile (what `node --cpu-prof` writes):
 *
 *   node bench/dist/chain/cpuprofile-summary.js <file.cpuprofile> [--top=N] [--by=file]
 *
 * Samples are attributed to the node on top of the stack (self time), summed per function
 * (name + file:line, so two closures of one line merge), and printed as a Markdown table with
 * each function's share of all samples and of the samples that were not idle/program/GC. With
 * --by=file, summed per source file instead (packages/runtime/…, examples/nexmark/generator.js).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** packages/runtime/task/chain-outputs.js, examples/nexmark/generator.js, node:internal/…. */
function shortPath(url: string): string {
  return url.replace(/^file:\/\/.*?\/(packages|examples|bench)\//, '$1/').replace('/dist/', '/');
}

const VM_FRAMES = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function main(): void {
  const file = process.argv[2];
  const topArg = process.argv.find((a) => a.startsWith('--top='));
  const top = topArg === undefined ? 30 : Number(topArg.slice(6));
  const byFile = process.argv.includes('--by=file');
  if (file === undefined) throw new Error('usage: cpuprofile-summary.js <file.cpuprofile> [--top=N]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n] as const));
  // Time per sample from the deltas (µs), not just counts: sampling intervals vary under load.
  const selfUs = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const where = f.url === '' ? '' : ` ${basename(f.url)}:${f.lineNumber + 1}`;
    const name = f.functionName === '' ? '(anonymous)' : f.functionName;
    const key = byFile ? (f.url === '' ? (VM_FRAMES.has(name) ? name : '(native)') : shortPath(f.url)) : `${name}${where}`;
    const dt = Math.max(0, profile.timeDeltas[i] ?? 0);
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
    total += dt;
  });
  const js = [...selfUs].filter(([k]) => !VM_FRAMES.has(k)).reduce((s, [, v]) => s + v, 0);
  const rows = [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`${file}: ${profile.samples.length} samples, ${(total / 1000).toFixed(0)} ms; JS (not idle/program/GC) ${(js / 1000).toFixed(0)} ms`);
  console.log(`| ${byFile ? 'file' : 'function'} | self ms | % of all | % of JS |`);
  console.log('|---|---:|---:|---:|');
  for (const [k, v] of rows) {
    const ofJs = VM_FRAMES.has(k) ? '' : ((100 * v) / js).toFixed(1);
    console.log(`| \`${k}\` | ${(v / 1000).toFixed(0)} | ${((100 * v) / total).toFixed(1)} | ${ofJs} |`);
  }
}

main();
