/**
 * A minimal reader of the Prometheus text format, enough to pick samples out of a /metrics
 * scrape by name and labels in tests.
 */

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
