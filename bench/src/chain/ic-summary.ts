/**
 * Polymorphic and megamorphic property accesses from a V8 `--log-ic` log (Node 20 writes
 * isolate-<addr>-<pid>-v8.log in the working directory):
 *
 *   node --log-ic bench/dist/chain/profile.js chain --runs=2 --events=300000
 *   node bench/dist/chain/ic-summary.js isolate-*-v8.log [--match=runtime/]
 *
 * Each IC event names the code address of the access; the code-creation events before it say
 * which function and file that code belongs to. Prints the sites whose last state was
 * polymorphic (P) or megamorphic (N), with the property key and how many maps they saw.
 */
import { readFileSync } from 'node:fs';

interface CodeRange {
  start: number;
  end: number;
  name: string;
}

const IC_KINDS = new Set(['LoadIC', 'StoreIC', 'KeyedLoadIC', 'KeyedStoreIC', 'LoadGlobalIC', 'StoreGlobalIC']);

function short(url: string): string {
  return url.replace(/^.*\/(packages|examples|bench)\//, '$1/').replace('/dist/', '/');
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: ic-summary.js <isolate-…-v8.log> [--match=substring]');
  const match = process.argv.find((a) => a.startsWith('--match='))?.slice(8);
  const ranges: CodeRange[] = [];
  const sites = new Map<string, { kind: string; state: string; maps: Set<string>; events: number }>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(',');
    if (f[0] === 'code-creation' && f[1] === 'JS') {
      const start = Number.parseInt(f[4]!, 16);
      ranges.push({ start, end: start + Number(f[5]), name: f.slice(6, -2).join(',').trim() });
      continue;
    }
    if (!IC_KINDS.has(f[0]!)) continue;
    const pc = Number.parseInt(f[1]!, 16);
    // The latest code object covering the pc (code can be freed and its space reused).
    let owner: CodeRange | undefined;
    for (let i = ranges.length - 1; i >= 0; i--) {
      const r = ranges[i]!;
      if (pc >= r.start && pc < r.end) {
        owner = r;
        break;
      }
    }
    const fn = owner === undefined ? '?' : short(owner.name);
    if (match !== undefined && !fn.includes(match)) continue;
    const key = `${fn.replace(/:\d+:\d+$/, '')} @${f[3]}:${f[4]} .${f[8]}`;
    const site = sites.get(key) ?? { kind: f[0]!, state: '0', maps: new Set<string>(), events: 0 };
    site.state = f[6]!;
    if (f[7] !== undefined && f[7] !== '') site.maps.add(f[7]);
    site.events++;
    sites.set(key, site);
  }
  const hot = [...sites].filter(([, s]) => s.state === 'N' || s.state === 'P').sort((a, b) => (a[1].state === b[1].state ? a[0].localeCompare(b[0]) : a[1].state === 'N' ? -1 : 1));
  console.log(`${sites.size} IC sites; ${hot.filter(([, s]) => s.state === 'N').length} megamorphic, ${hot.filter(([, s]) => s.state === 'P').length} polymorphic${match === undefined ? '' : ` (in code matching '${match}')`}`);
  console.log('| state | kind | site (function file @line:col .key) | maps seen |');
  console.log('|---|---|---|---:|');
  for (const [k, s] of hot) console.log(`| ${s.state} | ${s.kind} | \`${k}\` | ${s.maps.size} |`);
}

main();
