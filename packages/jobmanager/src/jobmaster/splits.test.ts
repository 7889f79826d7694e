import { buildJob, WatermarkStrategy, type Source, type SourceSplit } from '@sluice/api';
import { describe, expect, it } from 'vitest';
import { enumerateVertexSplits } from './splits.js';

interface PartSplit extends SourceSplit {
  part: number;
}

/** A source whose splits say which subtask should read them: the last one goes to subtask 0. */
function partitioned(parts: number): Source<number, PartSplit> {
  return {
    boundedness: 'bounded',
    enumerateSplits: ({ params }) => Array.from({ length: parts + Number(params['extra'] ?? 0) }, (_, part) => ({ splitId: `p${part}`, part })),
    assignSplit: (split, _index, parallelism) => (split.part === parts - 1 ? 0 : split.part % parallelism),
    createReader: () => {
      throw new Error('not read in this test');
    },
  };
}

async function job(parts: number) {
  return buildJob(
    (env) => {
      env.fromSource(partitioned(parts), WatermarkStrategy.noWatermarks<number>(), 'parts').setParallelism(2).print();
    },
    { entry: 'in-memory', params: { extra: '1' } },
  );
}

describe('enumerateVertexSplits', () => {
  it("asks the vertex's source for its splits (with the job's params) and deals them by the source's rule", async () => {
    const j = await job(3);
    const src = j.jobGraph.vertices.find((v) => v.isSource)!;
    const splits = await enumerateVertexSplits(j, 'job-1', src.id, 2, { extra: '1' });
    // parts + extra = 4 splits; part 2 (= parts - 1) goes to subtask 0, the rest by part % 2.
    expect(splits.map((s) => (s as PartSplit[]).map((x) => x.part))).toEqual([[0, 2], [1, 3]]);
  });

  it('deals restored splits instead of enumerating again', async () => {
    const j = await job(3);
    const src = j.jobGraph.vertices.find((v) => v.isSource)!;
    const restored: PartSplit[] = [{ splitId: 'p2', part: 2 }, { splitId: 'p5', part: 5 }];
    expect(await enumerateVertexSplits(j, 'job-1', src.id, 2, {}, restored)).toEqual([[restored[0]], [restored[1]]]);
  });

  it('gives vertices that are not sources no splits', async () => {
    const j = await job(3);
    const other = j.jobGraph.vertices.find((v) => !v.isSource);
    const id = other?.id ?? 'no-such-vertex';
    expect(await enumerateVertexSplits(j, 'job-1', id, 2, {})).toEqual([[], []]);
  });
});
