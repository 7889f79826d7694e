/**
 * Micro-benchmark of custom metrics on the hot path: what one counter increment, gauge set or
 * histogram observation costs on a worker thread, with labels per call or bound once, and what
 * collecting an update of 1,000 changed series costs (done every 500 ms, not per record).
 *
 *   npx tsc -b packages/runtime && node packages/runtime/dist/metrics/bench.js [operations]
 *
 * Not a test: prints ns per operation, asserts only that the counts add up.
 */
import { SubtaskCustomMetrics } from './custom-metric-group.js';

const ops = Number(process.argv[2] ?? 20_000_000);

function time(name: string, body: (n: number) => void): void {
  body(Math.min(ops, 1_000_000)); // warm-up: let the JIT settle
  const t0 = process.hrtime.bigint();
  body(ops);
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  console.log(`${name.padEnd(48)} ${ns.toFixed(1).padStart(6)} ns/op`);
}

const metrics = new SubtaskCustomMetrics();
const group = metrics.group(1, 'Source: tx');
const plain = group.counter('bench_plain_total', 'x');
const byTopic = group.counter('bench_topic_total', 'x', ['topic']);
const byPartition = group.counter('bench_partition_total', 'x', ['topic', 'partition']);
const lag = group.gauge('bench_lag', 'x', ['topic', 'partition']);
const latency = group.histogram('bench_latency_seconds', 'x');
const partitions = Array.from({ length: 16 }, (_, p) => ({ topic: 'tx', partition: String(p) }));
const bound = partitions.map((l) => byPartition.labels(l));

let sink = 0;
time('baseline: a plain field increment', (n) => {
  const o = { v: 0 };
  for (let i = 0; i < n; i++) o.v += 1;
  sink += o.v;
});
time('counter.inc() without labels', (n) => {
  for (let i = 0; i < n; i++) plain.inc();
});
time("counter.inc(1, { topic }) labels per call", (n) => {
  const l = { topic: 'tx' };
  for (let i = 0; i < n; i++) byTopic.inc(1, l);
});
time('counter.inc(1, { topic, partition }) of 16', (n) => {
  for (let i = 0; i < n; i++) byPartition.inc(1, partitions[i & 15]!);
});
time('bound counter (labels(...) kept per partition)', (n) => {
  for (let i = 0; i < n; i++) bound[i & 15]!.inc();
});
time('gauge.set(v, { topic, partition }) of 16', (n) => {
  for (let i = 0; i < n; i++) lag.set(i, partitions[i & 15]!);
});
time('histogram.observe(v), 13 default buckets', (n) => {
  for (let i = 0; i < n; i++) latency.observe((i & 1023) / 100_000);
});

const wide = group.counter('bench_wide_total', 'x', ['series']);
const wideBound = Array.from({ length: 1_000 }, (_, i) => wide.labels({ series: String(i) }));
metrics.takeUpdate();
const rounds = 2_000;
const t0 = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) {
  for (const c of wideBound) c.inc();
  metrics.takeUpdate();
}
console.log(`${'takeUpdate() of 1,000 changed series'.padEnd(48)} ${(Number(process.hrtime.bigint() - t0) / rounds / 1000).toFixed(1).padStart(6)} µs`);

const total = metrics.read().find((r) => r.name === 'sluice_bench_plain_total')?.values[0];
if (total !== ops + Math.min(ops, 1_000_000)) throw new Error(`counted ${total}, expected ${ops + Math.min(ops, 1_000_000)}`);
if (sink === 0) throw new Error('unreachable');
