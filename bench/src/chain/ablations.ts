/**
 * What-if experiments for bench/CHAIN-FINDINGS.md, used only by profile.js --ablate=…: each one
 * replaces a piece of the runtime's chained path in this process (by patching prototypes of the
 * runtime's own modules, loaded from the same files the worker entry loads) and so measures what
 * that piece costs per record. They change counters and timestamps, so results are for timing
 * only; nothing outside profile.js loads this file, and nothing in packages/ changes.
 *
 *   no-counters    OperatorOutput.collect and ChainedTarget.push without recordsOut/recordsIn++
 *   no-watermarks  the source's output extracts timestamps but feeds no watermark generator
 *   no-timestamps  the source's output passes no timestamp at all (no extraction, none carried)
 *   mono           every chained link and every operator's Output get their own compiled copy of
 *                  push/collect, so each call site between operators sees one target (the runtime
 *                  now does this itself for outputs with one chained target, and for filters' and
 *                  maps' processElement: operators/compiled-links.ts)
 */
export const ABLATIONS = ['no-counters', 'no-watermarks', 'no-timestamps', 'mono'] as const;
export type Ablation = (typeof ABLATIONS)[number];

type Fn = (...args: never[]) => unknown;
interface Proto {
  prototype: Record<string, Fn>;
}
interface TargetLike {
  op: { processElement(v: unknown, t: unknown, i: number): void; processWatermark(w: number, i: number): void; processWatermarkStatus(idle: boolean, i: number): void };
  inputIndex: number;
  counters: { recordsIn: number };
}

const runtimeFile = (path: string): string => new URL(`../../../packages/runtime/dist/${path}`, import.meta.url).href;

let compiled = 0;
/** A fresh function from unique source text: its own SharedFunctionInfo, so its own type feedback. */
function compile<T>(body: string): T {
  return new Function(`// ablation copy ${compiled++}\n${body}`)() as T;
}

export async function applyAblations(names: readonly Ablation[]): Promise<void> {
  const outputs = (await import(runtimeFile('task/chain-outputs.js'))) as { ChainedTarget: Proto; OperatorOutput: Proto };
  const source = (await import(runtimeFile('operators/source.js'))) as { SourceOperator: Proto };
  const task = (await import(runtimeFile('task/stream-task.js'))) as { StreamTask: Proto };
  for (const name of names) {
    if (name === 'no-counters') {
      outputs.OperatorOutput.prototype['collect'] = compile<Fn>(
        'return function collect(value, timestamp) { const s = this.single; if (s !== undefined) { s.push(value, timestamp); return; } const m = this.main; for (let i = 0; i < m.length; i++) m[i].push(value, timestamp); };',
      );
      outputs.ChainedTarget.prototype['push'] = compile<Fn>('return function push(value, timestamp) { try { this.op.processElement(value, timestamp, this.inputIndex); } catch (err) { throw err; } };');
      // Outputs compile their own collect per link (operators/compiled-links.ts), which would
      // bypass the patched prototype: make them keep it.
      outputs.ChainedTarget.prototype['compileCollect'] = (() => undefined) as Fn;
    } else if (name === 'no-watermarks' || name === 'no-timestamps') {
      const original = source.SourceOperator.prototype['createGeneratingOutput']!;
      const body =
        name === 'no-watermarks'
          ? 'return function collect(value, timestamp) { this.out.collect(value, this.strategy.extractTimestamp(value, timestamp)); };'
          : 'return function collect(value) { this.out.collect(value, undefined); };';
      const collect = compile<Fn>(body);
      source.SourceOperator.prototype['createGeneratingOutput'] = function (this: unknown) {
        const out = (original as unknown as (this: unknown) => object).call(this);
        (Object.getPrototypeOf(out) as Record<string, Fn>)['collect'] = collect;
        return out;
      } as unknown as Fn;
    } else {
      const chainedTarget = task.StreamTask.prototype['chainedTarget']!;
      task.StreamTask.prototype['chainedTarget'] = function (this: unknown, ...args: never[]) {
        const t = (chainedTarget as unknown as (this: unknown, ...a: never[]) => TargetLike).apply(this, args);
        const Link = compile<new (t: TargetLike) => object>(
          'return class Link { constructor(t) { this.op = t.op; this.inputIndex = t.inputIndex; this.counters = t.counters; }' +
            ' push(value, timestamp) { this.counters.recordsIn++; try { this.op.processElement(value, timestamp, this.inputIndex); } catch (err) { throw err; } }' +
            ' watermark(w) { this.op.processWatermark(w, this.inputIndex); } watermarkStatus(idle) { this.op.processWatermarkStatus(idle, this.inputIndex); } };',
        );
        return new Link(t);
      } as unknown as Fn;
      const buildChain = task.StreamTask.prototype['buildChain']!;
      task.StreamTask.prototype['buildChain'] = function (this: { outputs: Map<number, Record<string, unknown>> }) {
        (buildChain as unknown as (this: unknown) => void).call(this);
        for (const out of this.outputs.values()) {
          out['collect'] = compile<Fn>(
            'return function collect(value, timestamp) { this.counters.recordsOut++; const s = this.single; if (s !== undefined) { s.push(value, timestamp); return; } const m = this.main; for (let i = 0; i < m.length; i++) m[i].push(value, timestamp); };',
          );
        }
      } as unknown as Fn;
    }
  }
}
