/**
 * Allocation sites of one side of the chain benchmark: V8's sampling heap profiler through the
 * inspector, keeping the samples of objects the scavenger already collected (node --heap-prof
 * keeps only objects still alive at the end, which hides exactly the short-lived per-record
 * garbage this is about). Bytes per event per allocating function (self), top first.
 */
import { Session } from 'node:inspector/promises';
import { basename } from 'node:path';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

export interface AllocationSite {
  site: string;
  bytesPerEvent: number;
}

export async function profileAllocations(events: number, run: () => Promise<unknown>, samplingInterval = 1024): Promise<{ total: number; sites: AllocationSite[] }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', { samplingInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    await run();
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode } };
    const bySite = new Map<string, number>();
    const walk = (n: HeapNode): void => {
      if (n.selfSize > 0) {
        const f = n.callFrame;
        const site = `${f.functionName === '' ? '(anonymous)' : f.functionName}${f.url === '' ? '' : ` ${basename(f.url)}:${f.lineNumber + 1}`}`;
        bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
      }
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    const total = [...bySite.values()].reduce((a, b) => a + b, 0);
    const sites = [...bySite].sort((a, b) => b[1] - a[1]).map(([site, bytes]) => ({ site, bytesPerEvent: bytes / events }));
    return { total: total / events, sites };
  } finally {
    session.disconnect();
  }
}
