/**
 * Where a bounded KafkaSource stops when it does not start from its own enumeration, against the
 * run's real broker: resumed from a checkpoint of an unbounded run (at any parallelism) or with
 * splits of another bounded run it reads up to the end offsets current when it resumes, then
 * finishes; a restart of the same run keeps that run's end offsets. (A bounded run's savepoint
 * resumed: kafka-source.test.ts, "resumed part-way".)
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MetricGroup, ReaderOutput, SourceReader } from '@sluice/api';
import { compileJob } from '@sluice/cli';
import { randomId } from '@sluice/common';
import { startEmbeddedCluster, type EmbeddedCluster } from '@sluice/minicluster';
import { resolveCheckpoint, type CheckpointMetadata } from '@sluice/checkpoint';
import { KafkaDeserializers, KafkaSource, type KafkaPartitionSplit } from '@sluice/kafka';
import { jobPath } from './harness.js';
import { KafkaTestKit, located, sleep } from './kafka-test-kit.js';

const bootstrap = inject('kafkaBootstrap');

describe.runIf(bootstrap !== '')('bounded KafkaSource resumed (real broker)', () => {
  const kit = new KafkaTestKit(bootstrap, 'kafka-bounded-resume-test');
  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  it("resumed from an unbounded run's checkpoint, at the same or another parallelism, reads from the checkpoint to the end offsets at its start and finishes", async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sluice-kafka-resume-'));
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 4 });
    try {
      const input = await kit.topic(3);
      const group = `resume-${randomId(6)}`;
      const checkpointDir = join(scratch, 'checkpoints');
      const entry = await compileJob(jobPath('kafka-resume.ts'));
      const params = (bounded: boolean) => ({ bootstrap, topics: input, bounded: String(bounded), checkpointDir, group });
      const phase = async (name: string, n: number) => {
        await kit.producer.send({ topic: input, messages: Array.from({ length: n }, (_, i) => ({ key: `${name}${i}`, value: `${name}-${i}` })) });
      };
      /** The records of the given phases as the topic holds them: `partition/offset=value`, sorted. */
      const inTopic = async (...names: string[]) => located((await kit.readAll(input, await kit.count(input))).filter((r) => names.some((n) => r.value?.startsWith(`${n}-`))));

      await phase('one', 90);
      const unbounded = await embedded.submit({ entry, params: params(false), parallelism: 2 });
      // A completed checkpoint holds the end of phase one: the group has the ends committed.
      const ends = new Map((await kit.admin.fetchTopicOffsets(input)).map((p) => [p.partition, Number(p.high)] as const));
      await kit.waitForCommitted(group, input, (offsets) => [...ends].every(([p, end]) => offsets.get(p) === end));
      await unbounded.handle.cancel();
      expect((await unbounded.handle.result()).status).toBe('CANCELED');
      const fromUnbounded = join(checkpointDir, unbounded.handle.jobId);

      await phase('two', 60);
      const a = await finishes(embedded, entry, params(true), 2, fromUnbounded);
      expect(a.records).toEqual(await inTopic('two'));

      // Another parallelism, and the end has moved since: the end when this run starts counts.
      await phase('three', 30);
      const b = await finishes(embedded, entry, params(true), 3, fromUnbounded);
      expect(b.records).toEqual(await inTopic('two', 'three'));
    } finally {
      await embedded.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 240_000);

  it("resumed from a checkpoint taken after one source subtask ended, reads that subtask's partition on from where it ended, not never and not again", async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sluice-kafka-resume-'));
    const embedded = await startEmbeddedCluster({ slotsPerTaskManager: 2 });
    try {
      const input = await kit.topic(2);
      const checkpointDir = join(scratch, 'checkpoints');
      const entry = await compileJob(jobPath('kafka-resume.ts'));
      const send = async (name: string, partition: number, n: number) => {
        await kit.producer.send({ topic: input, messages: Array.from({ length: n }, (_, i) => ({ partition, value: `${name}-p${partition}-${i}` })) });
      };
      // Partition 0 is short; partition 1 is long and slow (1 ms a record, in bursts of up to
      // 1,024 between which checkpoints are taken: 30 bursts), so its reader runs on long after
      // the other ended.
      await send('one', 0, 5);
      await send('one', 1, 30_000);
      const params = { bootstrap, topics: input, bounded: 'true', checkpointDir };
      const first = await embedded.submit({ entry, params: { ...params, slowPartition: '1', slowMs: '1' }, parallelism: 2 });
      const jobDir = join(checkpointDir, first.handle.jobId);
      await until('a checkpoint taken after one source subtask ended', async () => {
        const latest = await newestCheckpoint(jobDir);
        return latest !== undefined && latest.meta.operators.find((o) => o.uid === 'records')!.finishedSubtasks.length === 1;
      });
      await first.handle.cancel();
      expect((await first.handle.result()).status).toBe('CANCELED');

      // The checkpoint the resume starts from has a position for every partition.
      const resumedFrom = (await newestCheckpoint(jobDir))!;
      const positions = sourcePositions(resumedFrom.meta);
      expect([...positions.keys()].sort()).toEqual([0, 1]);
      expect(positions.get(0)).toBe(5);

      await send('two', 0, 3);
      await send('two', 1, 3);
      const r = await finishes(embedded, entry, params, 2, jobDir);
      const all = await kit.readAll(input, await kit.count(input));
      expect(r.records).toEqual(located(all.filter((x) => x.offset >= positions.get(x.partition)!)));
      // Spelled out: partition 0's new records once, its old ones not again.
      expect(r.records.filter((x) => x.startsWith('0/'))).toEqual(located(all.filter((x) => x.partition === 0 && x.value!.startsWith('two-'))));
    } finally {
      await embedded.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 240_000);

  describe('one reader', () => {
    /** Reads a 10-record topic with a bounded reader of run `run-b`, from `split`; returns offsets read and its last snapshot. */
    async function readBounded(split: (topic: string) => KafkaPartitionSplit): Promise<{ offsets: number[]; snapshot: KafkaPartitionSplit[] }> {
      const topic = await kit.topic(1);
      await kit.producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) });
      const reader = readerOf(topic, true);
      reader.addSplits([split(topic)]);
      reader.notifyNoMoreSplits();
      const offsets: number[] = [];
      try {
        await drain(reader, (r) => offsets.push(r.offset), () => false);
        return { offsets, snapshot: reader.snapshotState(1) };
      } finally {
        await reader.close();
      }
    }

    const at2 = (topic: string, extra: Partial<KafkaPartitionSplit> = {}): KafkaPartitionSplit => ({ splitId: `${topic}-0`, topic, partition: 0, offset: 2, ...extra });

    it("a restart of the same run keeps the run's stop offsets", async () => {
      const r = await readBounded((t) => at2(t, { stopOffset: 5, stopOffsetJob: 'run-b' }));
      expect(r.offsets).toEqual([2, 3, 4]);
      expect(r.snapshot).toEqual([expect.objectContaining({ offset: 5, stopOffset: 5, stopOffsetJob: 'run-b' })]);
    });

    it.each([
      ["another run's stop offset", { stopOffset: 5, stopOffsetJob: 'run-a' }],
      ['no stop offset (an unbounded run)', {}],
    ])('a split with %s reads to the end current at start, and its snapshot says so for this run', async (_what, extra) => {
      const r = await readBounded((t) => at2(t, extra));
      expect(r.offsets).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
      expect(r.snapshot).toEqual([expect.objectContaining({ offset: 10, stopOffset: 10, stopOffsetJob: 'run-b' })]);
    });

    it('a restored split whose topic is gone fails the reader, naming the topic', async () => {
      const topic = `gone-${randomId(6)}`;
      const reader = readerOf(topic, true);
      reader.addSplits([at2(topic)]);
      reader.notifyNoMoreSplits();
      try {
        await expect(drain(reader, () => undefined, () => false)).rejects.toMatchObject({
          code: 'KAFKA_UNKNOWN_TOPIC',
          message: expect.stringContaining(`resumes topic '${topic}' from a checkpoint, but it does not exist`) as unknown,
        });
      } finally {
        await reader.close();
      }
    });

    it("an unbounded reader reads past a bounded run's stop offset", async () => {
      const topic = await kit.topic(1);
      await kit.producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) });
      const reader = readerOf(topic, false);
      reader.addSplits([at2(topic, { stopOffset: 5, stopOffsetJob: 'run-a' })]);
      reader.notifyNoMoreSplits();
      const offsets: number[] = [];
      try {
        await drain(reader, (r) => offsets.push(r.offset), () => offsets.length >= 8);
        expect(offsets).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
        expect(reader.snapshotState(1)).toEqual([{ splitId: `${topic}-0`, topic, partition: 0, offset: 10 }]);
      } finally {
        await reader.close();
      }
    });
  });

});

/** The newest complete checkpoint in a job's checkpoint folder (older ones are pruned meanwhile, and that is fine). */
async function newestCheckpoint(jobDir: string): Promise<{ dir: string; meta: CheckpointMetadata } | undefined> {
  const ids = existsSync(jobDir) ? readdirSync(jobDir).map((n) => /^chk-(\d+)$/.exec(n)?.[1]).filter((x) => x !== undefined).map(Number).sort((a, b) => b - a) : [];
  for (const id of ids) {
    try {
      return await resolveCheckpoint(join(jobDir, `chk-${id}`));
    } catch {
      // not complete yet, or pruned just now
    }
  }
  return undefined;
}

/** Partition → offset the checkpoint's source positions resume from (plain data in its metadata). */
function sourcePositions(meta: CheckpointMetadata): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of meta.operators.find((o) => o.uid === 'records')!.positions ?? []) {
    for (const s of p.splits as KafkaPartitionSplit[]) out.set(s.partition, s.offset);
  }
  return out;
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Resumes `entry` from `path` and waits for it to finish; its records, sorted. */
async function finishes(embedded: EmbeddedCluster, entry: string, params: Record<string, string>, parallelism: number, path: string): Promise<{ records: string[] }> {
  const job = await embedded.submit({ entry, params, parallelism }, { restoreFrom: { path } });
  // Not a time limit on the run: the bounded job used to wait for records forever.
  const r = await Promise.race([job.handle.result(), sleep(90_000).then(() => undefined)]);
  if (r === undefined) {
    await job.handle.cancel();
    throw new Error(`the bounded job resumed from ${path} at parallelism ${parallelism} did not finish`);
  }
  expect(r.error?.message).toBeUndefined();
  expect(r.status).toBe('FINISHED');
  return { records: [...((r.collected['records'] ?? []) as string[])].sort() };
}

function readerOf(topic: string, bounded: boolean): SourceReader<{ offset: number }, KafkaPartitionSplit> {
  const source = new KafkaSource({ bootstrapServers: bootstrap, topics: topic, bounded, partitionDiscoveryIntervalMs: 0, deserializer: KafkaDeserializers.withMetadata(KafkaDeserializers.string()) });
  const taskInfo = { taskName: 'resume test', jobId: 'run-b', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, attempt: 1 };
  return source.createReader({ taskInfo, params: {}, now: () => Date.now(), metrics: NO_OP_METRICS });
}

/** Polls until the reader ends (or `enough` says so), handing each record to `onRecord`. */
async function drain<T>(reader: SourceReader<T, KafkaPartitionSplit>, onRecord: (r: T) => void, enough: () => boolean): Promise<void> {
  const output: ReaderOutput<T> = { collect: onRecord, createSplitOutput: () => output, releaseSplitOutput: () => undefined };
  while (!enough()) {
    const status = reader.pollNext(output);
    if (status === 'end') return;
    if (status === 'nothing') await Promise.race([reader.isAvailable(), sleep(200)]);
  }
}

const noOp = { inc: () => undefined, set: () => undefined, dec: () => undefined, observe: () => undefined };
const NO_OP_METRICS: MetricGroup = {
  counter: () => ({ ...noOp, labels: () => noOp }),
  gauge: () => ({ ...noOp, labels: () => noOp }),
  histogram: () => ({ ...noOp, labels: () => noOp }),
};
