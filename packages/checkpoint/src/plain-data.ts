/**
 * Plain data: what survives a JSON round trip unchanged. Source positions are stored in the
 * checkpoint metadata as JSON, so a split holding a bigint, a Date, a Map, `undefined` or a class
 * instance would come back different (or not at all) on restore; this says so when the position
 * is taken, not when a restore reads it months later.
 */

/** Why `value` is not plain JSON data (naming where inside it, from `at`), or undefined if it is. */
export function plainDataProblem(value: unknown, at: string): string | undefined {
  return check(value, at, new Set());
}

function check(value: unknown, at: string, path: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${at} is ${String(value)}, which JSON cannot represent`;
    case 'undefined':
      return `${at} is undefined (JSON has no undefined: leave the property out or use null)`;
    case 'bigint':
      return `${at} is a bigint (${String(value)}n); store it as a number if it is a safe integer, or as a string`;
    case 'function':
    case 'symbol':
      return `${at} is a ${typeof value}`;
  }
  if (value === null) return undefined;
  const obj = value as object;
  if (path.has(obj)) return `${at} refers back to an object that contains it (a cycle)`;
  path.add(obj);
  try {
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        if (!(i in obj)) return `${at}[${i}] is a hole in a sparse array`;
        const problem = check(obj[i], `${at}[${i}]`, path);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const proto: unknown = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (obj as { constructor?: { name?: unknown } }).constructor?.name;
      return `${at} is ${typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a prototype'}, not a plain object`;
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) return `${at} has symbol-keyed properties`;
    for (const [key, v] of Object.entries(obj)) {
      const problem = check(v, `${at}.${key}`, path);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    path.delete(obj);
  }
}
