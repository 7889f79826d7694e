import type { Offer, Resource } from '@sluice/mesos-proto';
import { describe, expect, it } from 'vitest';
import { matchOffers } from './match.js';
import { offer, portRanges, PROFILE, ROLE, roomy, scalar, STATIC, text, workers } from './offers.test-helper.js';
import type { MatchInput, WorkerProfile } from './types.js';

const input = (offers: Offer[], pending = workers(1), extra: Partial<MatchInput> = {}): MatchInput => ({
  offers,
  pending,
  placed: [],
  constraints: [],
  roles: [ROLE],
  ...extra,
});

const SMALL: WorkerProfile = { ...PROFILE, cpus: 1, memMb: 100, executor: { cpus: 0.5, memMb: 10 } };

describe('matchOffers: echoed resources', () => {
  const preStatic: Resource = { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: ROLE, allocation_info: { role: ROLE } };
  const preUnreserved: Resource = { name: 'cpus', type: 'SCALAR', scalar: { value: 4 }, role: '*', allocation_info: { role: ROLE } };
  const preDynamic: Resource = {
    name: 'mem', type: 'SCALAR', scalar: { value: 64 }, role: ROLE, allocation_info: { role: ROLE },
    reservation: { principal: 'ops', labels: { labels: [{ key: 'team', value: 'streams' }] } },
  };
  const preMem: Resource = { name: 'mem', type: 'SCALAR', scalar: { value: 1000 }, role: '*', allocation_info: { role: ROLE } };
  const postStatic = scalar('cpus', 1, STATIC);
  const postUnreserved = scalar('cpus', 4, { reservations: [] });
  const postDynamic = scalar('mem', 64, { reservations: [{ type: 'DYNAMIC', role: ROLE, principal: 'ops', labels: { labels: [{ key: 'team', value: 'streams' }] } }] });
  const postMem = scalar('mem', 1000);
  const cases: { name: string; resources: Resource[]; task: Resource[]; executor: Resource[] }[] = [
    {
      name: 'pre-refinement format: static and dynamic (labelled) reservations before "*", each echoed field for field',
      resources: [preUnreserved, preMem, preStatic, preDynamic],
      task: [{ ...preStatic, scalar: { value: 1 } }, { ...preDynamic, scalar: { value: 64 } }, { ...preMem, scalar: { value: 36 } }],
      executor: [{ ...preUnreserved, scalar: { value: 0.5 } }, { ...preMem, scalar: { value: 10 } }],
    },
    {
      name: 'post-refinement format: reservations before an empty list or none, never merged',
      resources: [postUnreserved, postMem, postStatic, postDynamic],
      task: [{ ...postStatic, scalar: { value: 1 } }, { ...postDynamic, scalar: { value: 64 } }, { ...postMem, scalar: { value: 36 } }],
      executor: [{ ...postUnreserved, scalar: { value: 0.5 } }, { ...postMem, scalar: { value: 10 } }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = matchOffers(input([offer({ id: 'o1', resources: c.resources })], workers(1, SMALL)));
      expect(r.unplaced).toEqual([]);
      expect(r.placements[0]!.taskResources).toEqual(c.task);
      expect(r.placements[0]!.executorResources).toEqual(c.executor);
    });
  }

  it('splits a need across a reserved and an unreserved entry as two entries, reservation first', () => {
    const dynamic = scalar('cpus', 0.7, { reservations: [{ type: 'DYNAMIC', role: ROLE, principal: 'p', labels: { labels: [{ key: 'k', value: 'v' }] } }] });
    const plain = scalar('cpus', 4);
    const r = matchOffers(input([offer({ id: 'o1', resources: [plain, scalar('mem', 500), dynamic] })], workers(1, SMALL)));
    expect(r.placements[0]!.taskResources.filter((x) => x.name === 'cpus')).toEqual([{ ...dynamic, scalar: { value: 0.7 } }, { ...plain, scalar: { value: 0.3 } }]);
    expect(r.placements[0]!.executorResources.filter((x) => x.name === 'cpus')).toEqual([{ ...plain, scalar: { value: 0.5 } }]);
  });

  it('keeps every other field (disk info, provider id, allocation info) and leaves the offer objects unchanged', () => {
    const disk = scalar('disk', 2048, { disk: {}, provider_id: { value: 'rp-1' } });
    const resources = [scalar('cpus', 2), scalar('mem', 200), disk];
    const o = offer({ id: 'o1', resources });
    const before = structuredClone(o);
    const r = matchOffers(input([o], workers(1, { ...SMALL, diskMb: 512 })));
    expect(r.placements[0]!.taskResources[2]).toEqual({ ...disk, scalar: { value: 512 } });
    expect(o).toEqual(before);
  });

  it('counts in thousandths: 0.1 + 0.2 is 0.3 and what is left never drifts', () => {
    const tiny: WorkerProfile = { ...PROFILE, cpus: 0.2, memMb: 0.1, executor: { cpus: 0.1, memMb: 0.2 } };
    const r = matchOffers(input([offer({ id: 'o1', resources: [scalar('cpus', 1), scalar('mem', 0.9)] })], workers(4, tiny)));
    expect(r.placements.map((p) => p.workerId)).toEqual(['taskmanager-1', 'taskmanager-2', 'taskmanager-3']);
    expect(r.placements[2]!.taskResources.map((x) => x.scalar?.value)).toEqual([0.2, 0.1]);
    expect(r.placements[2]!.executorResources.map((x) => x.scalar?.value)).toEqual([0.1, 0.2]);
    expect(r.unplaced).toEqual([{ workerId: 'taskmanager-4', reason: 'no offer with 0.3 cpus (0.2 for the TaskManager, 0.1 for its executor): largest had 0.1' }]);
  });

  it('takes the lowest free ports, shrinking and splitting the offered ranges, reserved entries first', () => {
    const reserved = portRanges([[4000, 4000]], STATIC);
    const plain = portRanges([[31005, 31010], [31000, 31001]]);
    const profile = { ...SMALL, ports: ['rpc', 'data', 'metrics'] };
    const r = matchOffers(input([offer({ id: 'o1', resources: [scalar('cpus', 8), scalar('mem', 1000), plain, reserved] })], workers(2, profile)));
    const [a, b] = r.placements;
    expect(a!.ports).toEqual({ rpc: 4000, data: 31000, metrics: 31001 });
    expect(a!.taskResources.filter((x) => x.name === 'ports')).toEqual([
      { ...reserved, ranges: { range: [{ begin: 4000, end: 4000 }] } },
      { ...plain, ranges: { range: [{ begin: 31000, end: 31001 }] } },
    ]);
    expect(b!.ports).toEqual({ rpc: 31005, data: 31006, metrics: 31007 });
    expect(b!.taskResources.filter((x) => x.name === 'ports')).toEqual([{ ...plain, ranges: { range: [{ begin: 31005, end: 31007 }] } }]);
  });

  it('uses no revocable resources, none allocated to another role, no persistent volumes and no MOUNT/PATH disks', () => {
    const unusable = [
      scalar('cpus', 8, { revocable: {} }),
      scalar('cpus', 8, { allocation_info: { role: 'analytics' } }),
      scalar('disk', 5000, { disk: { persistence: { id: 'v1' }, volume: { container_path: 'data', mode: 'RW' } } }),
      scalar('disk', 5000, { disk: { source: { type: 'MOUNT', mount: { root: '/mnt/a' } } } }),
      scalar('disk', 5000, { disk: { source: { type: 'PATH', path: { root: '/mnt/b' } } } }),
    ];
    const profile = { ...SMALL, diskMb: 100 };
    const r = matchOffers(input([offer({ id: 'o1', resources: [...unusable, scalar('cpus', 1), scalar('mem', 500), scalar('disk', 50)] })], workers(1, profile)));
    expect(r.unplaced).toEqual([{ workerId: 'taskmanager-1', reason: 'no offer with 1.5 cpus (1 for the TaskManager, 0.5 for its executor): largest had 1' }]);
    const withCpus = matchOffers(input([offer({ id: 'o1', resources: [...unusable, scalar('cpus', 2), scalar('mem', 500), scalar('disk', 50)] })], workers(1, profile)));
    expect(withCpus.unplaced[0]!.reason).toBe('no offer with 100 MB disk: largest had 50');
  });
});

describe('matchOffers: roles, packing and GPUs', () => {
  it('leaves offers for other roles untouched and says so', () => {
    const foreign = roomy('o1', { role: 'analytics', resources: [scalar('cpus', 8, { allocation_info: { role: 'analytics' } }), scalar('mem', 9000, { allocation_info: { role: 'analytics' } })] });
    const r = matchOffers(input([foreign], workers(1)));
    expect(r).toEqual({ placements: [], unusedOfferIds: ['o1'], unplaced: [{ workerId: 'taskmanager-1', reason: 'no offer for role sluice: all 1 offers were for analytics' }] });
    const both = matchOffers(input([foreign, roomy('o2')], workers(1)));
    expect(both.placements.map((p) => p.offerId)).toEqual(['o2']);
    expect(both.unusedOfferIds).toEqual(['o1']);
  });

  it('uses offers for any of its roles, and offers without allocation info (a framework that is not MULTI_ROLE)', () => {
    const other = offer({ id: 'o1', role: 'batch', resources: [scalar('cpus', 2, { allocation_info: { role: 'batch' } }), scalar('mem', 2000, { allocation_info: { role: 'batch' } })] });
    const legacy = offer({ id: 'o2', role: null, resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, role: '*' }, { name: 'mem', type: 'SCALAR', scalar: { value: 2000 }, role: '*' }] });
    const r = matchOffers(input([other, legacy], workers(2), { roles: [ROLE, 'batch'] }));
    expect(r.placements.map((p) => p.offerId)).toEqual(['o1', 'o2']);
    expect(r.placements[1]!.taskResources).toEqual([{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: '*' }, { name: 'mem', type: 'SCALAR', scalar: { value: 1024 }, role: '*' }]);
  });

  it('places several workers on one offer with room, each with its own slices, and declines the rest', () => {
    const r = matchOffers(input([roomy('o1'), roomy('o2')], workers(3, { ...SMALL, cpus: 2 })));
    expect(r.placements.map((p) => [p.workerId, p.offerId])).toEqual([['taskmanager-1', 'o1'], ['taskmanager-2', 'o1'], ['taskmanager-3', 'o1']]);
    expect(r.placements.map((p) => p.taskResources[0]!.scalar?.value)).toEqual([2, 2, 2]);
    expect(r.unusedOfferIds).toEqual(['o2']);
    expect(r.placements[0]!.placed).toEqual({ workerId: 'taskmanager-1', agentId: 'agent-o1', hostname: 'host-o1', attributes: {} });
  });

  it('records the placed worker with its stringified attributes and fault domain', () => {
    const o = roomy('o1', { attributes: [text('rack', 'r1'), { name: 'cores', type: 'SCALAR', scalar: { value: 16 } }], zone: { region: 'eu', zone: 'eu-1a' } });
    expect(matchOffers(input([o])).placements[0]!.placed).toEqual({
      workerId: 'taskmanager-1', agentId: 'agent-o1', hostname: 'host-o1', attributes: { rack: 'r1', cores: '16' }, region: 'eu', zone: 'eu-1a',
    });
  });

  const gpuOffer = offer({ id: 'gpu', resources: [scalar('cpus', 8), scalar('mem', 9000), scalar('gpus', 2)] });
  const gpuAgentCpuOnly = offer({ id: 'gpu-b', agent: 'agent-gpu', resources: [scalar('cpus', 8), scalar('mem', 9000)] });
  const gpuAgentOffer = offer({ id: 'gpu-a', agent: 'agent-gpu', resources: [scalar('gpus', 1)] });
  const plain = offer({ id: 'plain', resources: [scalar('cpus', 2), scalar('mem', 9000)] });
  const cases: { name: string; offers: Offer[]; profile: WorkerProfile; n: number; expected: string[] }[] = [
    { name: 'a profile with gpus takes only an offer with enough gpus', offers: [plain, gpuOffer], profile: { ...SMALL, gpus: 2 }, n: 2, expected: ['gpu'] },
    { name: 'a profile without gpus avoids an agent that offers gpus while another fits', offers: [gpuOffer, plain], profile: SMALL, n: 1, expected: ['plain'] },
    { name: 'the GPU agent is known from any of its offers', offers: [gpuAgentOffer, gpuAgentCpuOnly, plain], profile: SMALL, n: 1, expected: ['plain'] },
    { name: 'and takes the GPU agent when nothing else fits', offers: [gpuOffer, plain], profile: SMALL, n: 3, expected: ['plain', 'gpu', 'gpu'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(matchOffers(input(c.offers, workers(c.n, c.profile))).placements.map((p) => p.offerId)).toEqual(c.expected);
    });
  }

  it('gives each unplaced worker one reason, the same for the same input', () => {
    const offers = [offer({ id: 'o1', resources: [scalar('cpus', 1.5), scalar('mem', 4000)] }), offer({ id: 'o2', resources: [scalar('cpus', 4), scalar('mem', 500)] })];
    const profile = { ...PROFILE, cpus: 2, memMb: 1000, executor: { cpus: 0, memMb: 0 }, ports: ['rpc'] };
    const first = matchOffers(input(offers, workers(2, profile)));
    expect(first.unplaced).toEqual([
      { workerId: 'taskmanager-1', reason: 'no offer with 1 free port (rpc): largest had 0' },
      { workerId: 'taskmanager-2', reason: 'no offer with 1 free port (rpc): largest had 0' },
    ]);
    expect(matchOffers(input(offers, workers(2, { ...profile, ports: [] }))).unplaced[0]!.reason).toBe('no single offer has 2 cpus, 1000 MB mem at once');
    expect(matchOffers(input(offers, workers(2, { ...profile, cpus: 5 }))).unplaced[0]!.reason).toBe('no offer with 5 cpus: largest had 4');
    expect(matchOffers(input([], workers(1))).unplaced[0]!.reason).toBe('no offers to match');
    expect(matchOffers(input(offers, workers(2, profile)))).toEqual(first);
  });

  it('rejects a profile with negative amounts or repeated port names', () => {
    expect(() => matchOffers(input([roomy('o1')], workers(1, { ...PROFILE, cpus: -1 })))).toThrow(/worker profile 'default' has a negative/);
    expect(() => matchOffers(input([roomy('o1')], workers(1, { ...PROFILE, ports: ['rpc', 'rpc'] })))).toThrow(/repeated port names \(rpc, rpc\)/);
  });
});
