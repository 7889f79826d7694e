import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sink, SinkWriter } from '@sluice/api';
import { afterEach, describe, expect, it } from 'vitest';
import { PrintOperator } from './print.js';
import { OperatorTestHarness } from './testing.js';

class TestingWriter implements SinkWriter<number> {
  written: [number, number | undefined][] = [];
  flushed: boolean[] = [];
  closed = false;
  /** Resolvers of writes that signalled a full buffer. */
  waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  write(value: number, timestamp: number | undefined): void | Promise<void> {
    this.written.push([value, timestamp]);
    if (value % 3 !== 0) return undefined;
    return new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
  flush(endOfInput: boolean): void {
    this.flushed.push(endOfInput);
  }
  close(): void {
    this.closed = true;
  }
}

function sinkOf(writer: TestingWriter): Sink<number> {
  return { createWriter: async () => writer };
}

describe('SinkOperator', () => {
  it('reports a full writer through backpressure() until its promise settles, then flushes and closes', async () => {
    const writer = new TestingWriter();
    const h = await OperatorTestHarness.open({ kind: 'sink', sink: sinkOf(writer) });
    const op = h.operator;
    h.processElement(1, 10);
    expect(op.backpressure!()).toBeUndefined();
    h.processElement(3, 11);
    const pending = op.backpressure!();
    expect(pending).toBeInstanceOf(Promise);
    expect(op.backpressure!()).toBe(pending);
    writer.waiting[0]!.resolve();
    await pending;
    expect(op.backpressure!()).toBeUndefined();
    h.processElement(4);
    await h.end();
    expect(writer.written).toEqual([[1, 10], [3, 11], [4, undefined]]);
    expect(writer.flushed).toEqual([true]);
    expect(writer.closed).toBe(true);
  });

  it('fails the next record after a write promise rejects', async () => {
    const writer = new TestingWriter();
    const h = await OperatorTestHarness.open({ kind: 'sink', sink: sinkOf(writer) });
    h.processElement(6);
    const pending = h.operator.backpressure!()!;
    writer.waiting[0]!.reject(new Error('broker gone'));
    await expect(pending).rejects.toThrow('broker gone');
    expect(h.operator.backpressure!()).toBeUndefined();
    expect(() => h.processElement(7)).toThrow('broker gone');
  });
});

describe('CollectOperator', () => {
  it('ships full batches of 1,000 and the rest on finish', async () => {
    const h = await OperatorTestHarness.open({ kind: 'collect', name: 'out' });
    for (let i = 0; i < 2500; i++) h.processElement(i);
    expect(h.collected.get('out')!.map((b) => b.length)).toEqual([1000, 1000]);
    await h.end();
    const batches = h.collected.get('out')!;
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(batches.flat()).toEqual(Array.from({ length: 2500 }, (_, i) => i));
  });
});

describe('PrintOperator', () => {
  it('prints strings as-is and other values as compact JSON, prefixed with the subtask when parallel', async () => {
    const chunks: string[] = [];
    const h = await OperatorTestHarness.open(new PrintOperator('out:', false, (c) => chunks.push(c)), { parallelism: 2, subtaskIndex: 1 });
    h.processElement('hello');
    h.processElement({ a: 1, b: [true, null] });
    h.processElement(10n);
    expect(chunks).toEqual([]);
    await h.finish();
    expect(chunks).toEqual(['out:2> hello\nout:2> {"a":1,"b":[true,null]}\nout:2> 10\n']);
  });

  it('writes buffered lines after a short delay and omits the subtask at parallelism 1', async () => {
    const chunks: string[] = [];
    const h = await OperatorTestHarness.open(new PrintOperator('', true, (c) => chunks.push(c)));
    h.processElement(1);
    h.processElement('two');
    h.setProcessingTime(100);
    expect(chunks).toEqual(['1\ntwo\n']);
    await h.end();
    expect(chunks).toEqual(['1\ntwo\n']);
  });
});

describe('FileSinkOperator', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('appends JSON lines to <path>/part-<subtask>, creating the directory', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-file-sink-'));
    const path = join(dir, 'nested', 'out');
    const first = await OperatorTestHarness.open({ kind: 'file', path }, { parallelism: 3, subtaskIndex: 2 });
    first.processElement({ id: 1 });
    first.processElement('text');
    await first.end();
    const second = await OperatorTestHarness.open({ kind: 'file', path }, { parallelism: 3, subtaskIndex: 2 });
    second.processElement([1, 2]);
    await second.end();
    expect(readFileSync(join(path, 'part-2'), 'utf8')).toBe('{"id":1}\n"text"\n[1,2]\n');
  });
});
