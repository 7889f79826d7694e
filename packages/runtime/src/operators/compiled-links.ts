/**
 * Per-link copies of the chain's glue: for one link of one chain (an operator's Output feeding
 * the next operator, or a filter's or map's own processElement), a function compiled from source
 * text of its own, so that V8 keeps type feedback for that link alone.
 *
 * Why: the glue is shared code. `ChainedTarget.push` calls `processElement` of every operator
 * class in the chain from one call site, and a filter's `processElement` calls every filter
 * function of the thread from another. V8 inlines such a polymorphic site by inlining every
 * target it has seen, so each hop of a chain costs its inlining budget several times over, and a
 * five-operator chain (q2: isBid, q2's filter, q2's map, the sink) ran out of it: its hops stayed
 * calls. With a copy per link every site sees one target, and the whole chain is inlined
 * (bench/CHAIN-FINDINGS.md §10).
 *
 * Only constants and the link's own objects are passed in; no record data or name enters the
 * source text. Where code generation is disallowed (`--disallow-code-generation-from-strings`)
 * there are no copies and the shared glue runs, with the same results (codegen.ts).
 */

export { compileFunction as compileLink } from '../codegen.js';
