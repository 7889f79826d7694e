/**
 * Which methods of a registered gateway a peer may call, and the caller-side proxy.
 *
 * Callable: a function that is an own property of the registered object or of a prototype in
 * its chain below Object.prototype, whose name does not start with `_` and is not
 * `constructor`. So `toString`, `__proto__`, `constructor` or `hasOwnProperty` can never be
 * reached from the network, and getters are never run. Register a gateway view that holds only
 * the gateway's methods, not a component with other public methods.
 */
type AnyFunction = (...args: unknown[]) => unknown;

export function findCallable(gateway: object, name: string): AnyFunction | undefined {
  if (name.length === 0 || name.startsWith('_') || name === 'constructor') return undefined;
  for (let p: object | null = gateway; p !== null && p !== Object.prototype && p !== Function.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const d = Object.getOwnPropertyDescriptor(p, name);
    if (d !== undefined) return typeof d.value === 'function' ? (d.value as AnyFunction) : undefined;
  }
  return undefined;
}

/** Names a proxy never turns into remote calls: `then` (so awaiting a proxy is harmless) and the like. */
const NOT_REMOTE = new Set(['then', 'constructor', 'toJSON', 'valueOf']);

/** A gateway whose every method sends a call through `invoke`; `address` names it in `String(proxy)`. */
export function createGatewayProxy<G extends object>(address: string, invoke: (method: string, args: unknown[]) => Promise<unknown>): G {
  const methods = new Map<string, AnyFunction>();
  const describe = (): string => `[remote gateway ${address}]`;
  return new Proxy({} as G, {
    get(_target, prop) {
      if (prop === 'toString') return describe;
      if (typeof prop !== 'string' || NOT_REMOTE.has(prop) || prop.startsWith('_')) return undefined;
      let m = methods.get(prop);
      if (m === undefined) {
        m = (...args: unknown[]) => invoke(prop, args);
        methods.set(prop, m);
      }
      return m;
    },
  });
}
