/**
 * How one side of the chain benchmark is timed: wall clock and process CPU time around one
 * complete run. CPU time is what the figures lean on when the machine is shared: a run that is
 * descheduled loses wall time but not CPU time (it includes the garbage collector's helper
 * threads, which the chain's allocations keep busy, so it is the fairer cost anyway).
 */
export interface SideCounts {
  /** Events the generator produced (persons, auctions and bids). */
  events: number;
  bids: number;
  /** Records that reached the sink. */
  outputs: number;
  /** Sum of checksumOf() over the outputs, in sink order. */
  checksum: number;
}

export interface SideRun extends SideCounts {
  wallNs: number;
  cpuNs: number;
}

export async function timed(run: () => Promise<SideCounts> | SideCounts): Promise<SideRun> {
  const gc = (globalThis as { gc?: () => void }).gc;
  // With --expose-gc, neither side pays for the other's garbage.
  gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const counts = await run();
  const wallNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { ...counts, wallNs, cpuNs: (cpu.user + cpu.system) * 1000 };
}
