/**
 * The client's side of one-shot watches: which watcher waits on which server path, in three
 * kinds as ZooKeeper keeps them (data, exist, child). A watch is registered when the reply that
 * set it is read, and removed when its event is read, both on the connection's frame order, so
 * no event can slip between the two. The lists feed SetWatches after a reconnection.
 */
import type { WatchLists } from './protocol.js';

export type WatchEvent = { type: 'created' | 'deleted' | 'dataChanged' | 'childrenChanged'; path: string };
export type Watcher = (event: WatchEvent) => void;

export type WatchKind = 'data' | 'exist' | 'child';

/** WatcherEvent.type on the wire → event type; other values are not node events. */
const EVENT_TYPES: ReadonlyMap<number, WatchEvent['type']> = new Map([
  [1, 'created'],
  [2, 'deleted'],
  [3, 'dataChanged'],
  [4, 'childrenChanged'],
]);

/** Which kinds of watch an event fires (ZooKeeper's own rule). */
const FIRES: Readonly<Record<WatchEvent['type'], readonly WatchKind[]>> = {
  created: ['data', 'exist'],
  dataChanged: ['data', 'exist'],
  childrenChanged: ['child'],
  deleted: ['data', 'exist', 'child'],
};

export function eventType(wire: number): WatchEvent['type'] | undefined {
  return EVENT_TYPES.get(wire);
}

export class WatchRegistry {
  private readonly kinds: Record<WatchKind, Map<string, Set<Watcher>>> = { data: new Map(), exist: new Map(), child: new Map() };

  /**
   * Adds `watcher` on `serverPath`. The same function added twice for one path and kind is one
   * registration (it fires once), as in ZooKeeper's Java client.
   */
  add(kind: WatchKind, serverPath: string, watcher: Watcher): void {
    const byPath = this.kinds[kind];
    let set = byPath.get(serverPath);
    if (set === undefined) byPath.set(serverPath, (set = new Set()));
    set.add(watcher);
  }

  /** Removes and returns the watchers `type` on `serverPath` fires (each once). */
  take(type: WatchEvent['type'], serverPath: string): Watcher[] {
    const out = new Set<Watcher>();
    for (const kind of FIRES[type]) {
      const set = this.kinds[kind].get(serverPath);
      if (set === undefined) continue;
      this.kinds[kind].delete(serverPath);
      for (const w of set) out.add(w);
    }
    return [...out];
  }

  /** The paths to re-register with SetWatches. */
  lists(): WatchLists {
    return { data: [...this.kinds.data.keys()], exist: [...this.kinds.exist.keys()], child: [...this.kinds.child.keys()] };
  }

  get size(): number {
    return this.kinds.data.size + this.kinds.exist.size + this.kinds.child.size;
  }

  clear(): void {
    for (const kind of Object.values(this.kinds)) kind.clear();
  }
}

/**
 * SetWatches batches whose paths stay under `maxBytes` in total: a server refuses a packet over
 * its jute.maxbuffer, so many watches go in several packets, as the Java client does.
 */
export function batchWatchLists(lists: WatchLists, maxBytes = 128 * 1024): WatchLists[] {
  const batches: WatchLists[] = [];
  let current: WatchLists = { data: [], exist: [], child: [] };
  let bytes = 0;
  for (const kind of ['data', 'exist', 'child'] as const) {
    for (const path of lists[kind]) {
      const size = Buffer.byteLength(path) + 4;
      if (bytes + size > maxBytes && bytes > 0) {
        batches.push(current);
        current = { data: [], exist: [], child: [] };
        bytes = 0;
      }
      current[kind].push(path);
      bytes += size;
    }
  }
  if (bytes > 0) batches.push(current);
  return batches;
}
