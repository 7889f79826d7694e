/**
 * Functions compiled from source text at run time, for hot paths that need code of their own per
 * record shape or per chain link (serialization/object-writers.ts and shapes.ts,
 * operators/compiled-links.ts). Where code generation is disallowed
 * (`--disallow-code-generation-from-strings`) this returns undefined and every caller keeps its
 * generic path, with the same results.
 */

let codegenAvailable: boolean | undefined;

/**
 * `new Function(...params, body)(...args)` in strict mode: `body` returns the function wanted,
 * with `args` bound to `params`. Undefined when this thread may not compile code from strings.
 */
export function compileFunction<F>(params: readonly string[], body: string, args: readonly unknown[]): F | undefined {
  if (codegenAvailable === false) return undefined;
  try {
    const make = new Function(...params, `"use strict";\n${body}`) as (...a: unknown[]) => F;
    codegenAvailable = true;
    return make(...args);
  } catch (err) {
    if (err instanceof EvalError) {
      codegenAvailable = false;
      return undefined;
    }
    throw err;
  }
}
