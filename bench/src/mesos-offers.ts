/**
 * The Mesos offer matcher at cluster scale (issue 12's target: ≤ 100 ms): one `matchOffers`
 * call over 10,000 agents' offers for 1,000 pending TaskManagers, with 300 already running, under
 * `hostname LIKE`, `rack MAX_PER 3` and `@zone GROUP_BY 3`. The offers are generated from a fixed
 * seed in the formats a MULTI_ROLE framework receives: a tenth for another role, static and
 * labelled dynamic reservations, pre-refinement entries, revocable cpus, GPU agents, port ranges
 * split in two, rack/class/cores attributes and a fault domain. The first call (cold JIT) is
 * reported apart; the BENCH line gives the median and the worst of the rounds after it.
 */
import type { Attribute, Offer, Resource } from '@sluice/mesos-proto';
import { matchOffers, type MatchInput, type PlacedWorker, type WorkerProfile } from '@sluice/mesos-scheduler';

const AGENTS = 10_000;
const PENDING = 1_000;
const RUNNING = 300;
const RACKS = 500;
const ROLE = 'sluice';

/** mulberry32: small, fast, and the same offers on every machine. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generateOffers(random: () => number): Offer[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const offers: Offer[] = [];
  for (let n = 0; n < AGENTS; n++) {
    const role = random() < 0.1 ? 'analytics' : ROLE;
    const alloc = { allocation_info: { role } };
    const preRefinement = random() < 0.1;
    const unreserved = preRefinement ? { role: '*' } : {};
    const scalar = (name: string, value: number, extra: Partial<Resource> = {}): Resource => ({ name, type: 'SCALAR', scalar: { value }, ...unreserved, ...alloc, ...extra });
    const small = random() < 0.1;
    const resources: Resource[] = [
      scalar('cpus', small ? 1 : 4 + Math.floor(random() * 57) / 2),
      scalar('mem', small ? 2048 : 8192 + 1024 * Math.floor(random() * 56)),
      scalar('disk', 50_000 + 1000 * Math.floor(random() * 150)),
      { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 31499 }, { begin: 31600, end: 32000 }] }, ...unreserved, ...alloc },
    ];
    if (role === ROLE && random() < 0.25) {
      const reserved = preRefinement ? { role: ROLE } : { reservations: [{ type: 'STATIC' as const, role: ROLE }] };
      resources.push(scalar('cpus', 2, reserved), scalar('mem', 4096, reserved));
    }
    if (role === ROLE && random() < 0.1) {
      const labels = { labels: [{ key: 'team', value: 'streams' }] };
      resources.push(scalar('mem', 2048, preRefinement ? { role: ROLE, reservation: { principal: 'ops', labels } } : { reservations: [{ type: 'DYNAMIC', role: ROLE, principal: 'ops', labels }] }));
    }
    if (random() < 0.15) resources.push(scalar('cpus', 8, { revocable: {} }));
    if (random() < 0.05) resources.push(scalar('gpus', 4));
    const rack = Math.floor(random() * RACKS);
    const attributes: Attribute[] = [
      { name: 'rack', type: 'TEXT', text: { value: `rack-${String(rack).padStart(3, '0')}` } },
      { name: 'class', type: 'SET', set: { item: random() < 0.3 ? ['ssd', 'general'] : ['general'] } },
      { name: 'cores', type: 'SCALAR', scalar: { value: pick([8, 16, 32, 64]) } },
    ];
    const region = pick(['eu-west', 'us-east']);
    offers.push({
      id: { value: `offer-${n}` },
      framework_id: { value: 'bench-framework' },
      agent_id: { value: `agent-${n}` },
      hostname: `${random() < 0.2 ? 'db' : 'agent'}-${String(n).padStart(5, '0')}.dc1.example`,
      domain: { fault_domain: { region: { name: region }, zone: { name: `${region}-${pick(['a', 'b', 'c'])}` } } },
      resources,
      attributes,
      allocation_info: { role },
    });
  }
  return offers;
}

const PROFILE: WorkerProfile = { name: 'taskmanager', cpus: 2, memMb: 4096, diskMb: 2048, gpus: 0, ports: ['rpc', 'data', 'metrics'], executor: { cpus: 0.1, memMb: 64 } };

function benchInput(): MatchInput {
  const random = seeded(12);
  const offers = generateOffers(random);
  const placed: PlacedWorker[] = Array.from({ length: RUNNING }, (_, i) => {
    const zone = `${i % 2 === 0 ? 'eu-west' : 'us-east'}-${'abc'[i % 3]}`;
    return { workerId: `taskmanager-${i + 1}`, agentId: `old-agent-${i}`, hostname: `agent-old-${i}.dc1.example`, attributes: { rack: `rack-${String(i % RACKS).padStart(3, '0')}` }, region: zone.slice(0, -2), zone };
  });
  return {
    offers,
    pending: Array.from({ length: PENDING }, (_, i) => ({ workerId: `taskmanager-${RUNNING + i + 1}`, profile: PROFILE })),
    placed,
    constraints: [
      { field: 'hostname', operator: 'LIKE', value: 'agent-[0-9]+\\.dc1\\.example' },
      { field: 'rack', operator: 'MAX_PER', value: '3' },
      { field: '@zone', operator: 'GROUP_BY', value: '3' },
    ],
    roles: [ROLE],
  };
}

export async function executeMesosOffers(rounds: number): Promise<{ fields: Record<string, number>; detail: Record<string, unknown>; jobDurationMs: number }> {
  const started = performance.now();
  const input = benchInput();
  const timed = (): { ms: number; placed: number } => {
    const t0 = performance.now();
    const r = matchOffers(input);
    const ms = performance.now() - t0;
    if (r.placements.length !== PENDING) throw new Error(`mesos-offers: placed ${r.placements.length} of ${PENDING}; first reason: ${r.unplaced[0]?.reason ?? 'none'}`);
    return { ms, placed: r.placements.length };
  };
  const cold = timed().ms;
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    times.push(timed().ms);
    // Let the event loop breathe between rounds, as the driver's mailbox would.
    await new Promise((r) => setImmediate(r));
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    fields: { offers: AGENTS, workers: PENDING, median_ms: sorted[Math.floor(sorted.length / 2)]!, worst_ms: sorted.at(-1)!, cold_ms: cold, rounds, target_ms: 100 },
    detail: { roundsMs: times, coldMs: cold, running: RUNNING, constraints: input.constraints },
    jobDurationMs: performance.now() - started,
  };
}
