import type { Attribute, Offer } from '@sluice/mesos-proto';
import { describe, expect, it } from 'vitest';
import { matchOffers } from './match.js';
import { offer, PROFILE, ROLE, roomy, scalar, text, workers } from './offers.test-helper.js';
import type { PlacedWorker, PlacementConstraint } from './types.js';

const rack = (id: string, value: string, extra: { host?: string; attributes?: Attribute[] } = {}): Offer =>
  roomy(id, { attributes: [text('rack', value), ...(extra.attributes ?? [])], ...(extra.host === undefined ? {} : { host: extra.host }) });
/** Room for exactly one default worker. */
const single = (id: string, value: string): Offer => offer({ id, resources: [scalar('cpus', 1.1), scalar('mem', 1056)], attributes: [text('rack', value)] });
const placedOn = (workerId: string, host: string, attributes: Record<string, string>): PlacedWorker => ({ workerId, agentId: `agent-${host}`, hostname: host, attributes });

interface Case {
  name: string;
  constraints: PlacementConstraint[];
  offers: Offer[];
  workers?: number;
  placed?: PlacedWorker[];
  /** The offer each worker went to, in order. */
  expected: string[];
  /** The reason given to the first unplaced worker. */
  reason?: string;
}

const c = (field: string, operator: PlacementConstraint['operator'], value?: string): PlacementConstraint => ({ field, operator, ...(value === undefined ? {} : { value }) });

const CASES: Case[] = [
  { name: 'LIKE accepts a value the regex matches', constraints: [c('rack', 'LIKE', 'r[12]')], offers: [rack('o1', 'r3'), rack('o2', 'r1')], expected: ['o2'] },
  { name: 'LIKE must match the whole value', constraints: [c('rack', 'LIKE', 'r1')], offers: [rack('o1', 'r10'), rack('o2', 'xr1'), rack('o3', 'r1')], expected: ['o3'] },
  {
    name: 'LIKE rejects every other value', constraints: [c('rack', 'LIKE', 'r[12]')], offers: [rack('o1', 'r3'), rack('o2', 'r4')], expected: [],
    reason: 'constraint rack LIKE r[12]: no offer matches (offered rack: r3, r4)',
  },
  { name: 'UNLIKE rejects a matching value', constraints: [c('rack', 'UNLIKE', 'r1|r2')], offers: [rack('o1', 'r1'), rack('o2', 'r22')], expected: ['o2'] },
  { name: 'UNLIKE accepts an offer without the attribute', constraints: [c('rack', 'UNLIKE', 'r1')], offers: [rack('o1', 'r1'), roomy('o2')], expected: ['o2'] },
  {
    name: 'a missing attribute fails every other operator', constraints: [c('rack', 'IS', 'r1')], offers: [roomy('o1')], expected: [],
    reason: 'constraint rack IS r1: no offer matches (no offer has rack)',
  },
  { name: 'IS compares the stringified value (SCALAR 16.0 is "16")', constraints: [c('cores', 'IS', '16')], offers: [rack('o1', 'r1', { attributes: [{ name: 'cores', type: 'SCALAR', scalar: { value: 8 } }] }), rack('o2', 'r1', { attributes: [{ name: 'cores', type: 'SCALAR', scalar: { value: 16.0 } }] })], expected: ['o2'] },
  { name: 'IN accepts a member of the list', constraints: [c('rack', 'IN', 'r2 , r3')], offers: [rack('o1', 'r1'), rack('o2', 'r3')], expected: ['o2'] },
  {
    name: 'IN rejects a value outside the list', constraints: [c('rack', 'IN', 'r2,r3')], offers: [rack('o1', 'r1'), rack('o2', 'r23')], expected: [],
    reason: 'constraint rack IN r2,r3: no offer matches (offered rack: r1, r23)',
  },
  { name: 'CLUSTER with a value is IS', constraints: [c('rack', 'CLUSTER', 'r2')], offers: [rack('o1', 'r1'), rack('o2', 'r2')], workers: 2, expected: ['o2', 'o2'] },
  {
    name: 'CLUSTER without value: the first worker goes anywhere, the next ones follow it (same call)',
    constraints: [c('rack', 'CLUSTER')], offers: [single('o1', 'r1'), single('o2', 'r2'), single('o3', 'r1')], workers: 3, expected: ['o1', 'o3'],
    reason: 'constraint rack CLUSTER: TaskManagers run on rack r1, and no offer with room has it',
  },
  {
    name: 'CLUSTER without value follows the workers already placed', constraints: [c('rack', 'CLUSTER')], offers: [rack('o1', 'r1'), rack('o2', 'r2')],
    placed: [placedOn('taskmanager-0', 'h9', { rack: 'r2' })], expected: ['o2'],
  },
  {
    name: 'UNIQUE within one call: two workers, one host → one placed', constraints: [c('hostname', 'UNIQUE')], offers: [roomy('o1')], workers: 2, expected: ['o1'],
    reason: 'constraint hostname UNIQUE: every offered host already runs a TaskManager',
  },
  {
    name: 'UNIQUE counts two offers of one host as one host', constraints: [c('@hostname', 'UNIQUE')], offers: [roomy('o1', { host: 'h1' }), roomy('o2', { host: 'h1' }), roomy('o3', { host: 'h2' })],
    workers: 3, expected: ['o1', 'o3'], reason: 'constraint @hostname UNIQUE: every offered host already runs a TaskManager',
  },
  { name: 'UNIQUE avoids hosts of workers already placed', constraints: [c('hostname', 'UNIQUE')], offers: [roomy('o1'), roomy('o2')], placed: [placedOn('taskmanager-0', 'host-o1', {})], expected: ['o2'] },
  {
    name: 'UNIQUE on an attribute no offer has', constraints: [c('rack', 'UNIQUE')], offers: [roomy('o1')], expected: [],
    reason: 'constraint rack UNIQUE: no offer with room has rack',
  },
  {
    name: 'MAX_PER n: fewer than n placed with the value', constraints: [c('rack', 'MAX_PER', '2')],
    offers: [rack('o1', 'r1'), rack('o2', 'r1'), rack('o3', 'r2')], placed: [placedOn('taskmanager-0', 'h9', { rack: 'r2' })], workers: 4, expected: ['o1', 'o1', 'o3'],
    reason: 'constraint rack MAX_PER 2: every offered rack value already runs 2 TaskManagers',
  },
  {
    name: 'GROUP_BY without n: a new value, or the least used one', constraints: [c('rack', 'GROUP_BY')], offers: [rack('o1', 'r2'), rack('o2', 'r1')],
    placed: [placedOn('taskmanager-0', 'h8', { rack: 'r1' }), placedOn('taskmanager-00', 'h9', { rack: 'r2' }), placedOn('taskmanager-000', 'h9', { rack: 'r2' })],
    workers: 3, expected: ['o2', 'o1', 'o2'],
  },
  {
    name: 'GROUP_BY n: n distinct values first, then the least used',
    constraints: [c('rack', 'GROUP_BY', '3')], offers: [rack('o1', 'r1'), rack('o2', 'r1'), rack('o3', 'r2'), rack('o4', 'r3')], workers: 5, expected: ['o1', 'o3', 'o4', 'o1', 'o3'],
  },
  {
    name: 'GROUP_BY n with fewer values offered', constraints: [c('rack', 'GROUP_BY', '3')], offers: [rack('o1', 'r1'), rack('o2', 'r2')], workers: 3, expected: ['o1', 'o2'],
    reason: 'constraint rack GROUP_BY 3: 2 of 3 rack groups are in use, and no offer with room brings a new rack value',
  },
  {
    name: '@zone and @region read the fault domain', constraints: [c('@region', 'LIKE', 'eu-.*'), c('@zone', 'IS', 'eu-west-1b')],
    offers: [roomy('o1', { zone: { region: 'us-east', zone: 'eu-west-1b' } }), roomy('o2', { zone: { region: 'eu-west', zone: 'eu-west-1a' } }), roomy('o3', { zone: { region: 'eu-west', zone: 'eu-west-1b' } }), roomy('o4')],
    expected: ['o3'],
  },
  { name: 'hostname LIKE reads the offer hostname', constraints: [c('hostname', 'LIKE', 'worker-.*')], offers: [roomy('o1', { host: 'db-1' }), roomy('o2', { host: 'worker-7' })], expected: ['o2'] },
  {
    name: 'static constraints that each pass somewhere but never together', constraints: [c('rack', 'IS', 'r1'), c('hostname', 'IS', 'h2')],
    offers: [rack('o1', 'r1', { host: 'h1' }), rack('o2', 'r2', { host: 'h2' })], expected: [],
    reason: 'constraints rack IS r1, hostname IS h2: no offer meets all of them',
  },
  {
    name: 'resources are judged among the offers the constraints allow', constraints: [c('rack', 'IS', 'r1')],
    offers: [single('o1', 'r1'), rack('o2', 'r2')], workers: 2, expected: ['o1'],
    reason: 'no offer with 1.1 cpus (1 for the TaskManager, 0.1 for its executor): largest had 0 (among the 1 offers that meet the constraints)',
  },
];

describe('matchOffers: placement constraints', () => {
  for (const t of CASES) {
    it(t.name, () => {
      const r = matchOffers({ offers: t.offers, pending: workers(t.workers ?? 1, PROFILE), placed: t.placed ?? [], constraints: t.constraints, roles: [ROLE] });
      expect(r.placements.map((p) => p.offerId)).toEqual(t.expected);
      if (t.reason !== undefined) expect(r.unplaced[0]?.reason).toBe(t.reason);
      else expect(r.unplaced).toEqual([]);
    });
  }

  it('sees each placement of the call in the next verdict, with several constraints at once', () => {
    const offers = Array.from({ length: 12 }, (_, i) => rack(`o${i}`, `r${i % 3}`, { host: `h${i % 6}` }));
    const r = matchOffers({ offers, pending: workers(8), placed: [], constraints: [c('hostname', 'UNIQUE'), c('rack', 'MAX_PER', '2')], roles: [ROLE] });
    expect(r.placements.map((p) => p.hostname)).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    expect(r.unplaced.map((u) => u.reason)).toEqual([
      'constraint hostname UNIQUE: every offered host already runs a TaskManager',
      'constraint hostname UNIQUE: every offered host already runs a TaskManager',
    ]);
  });
});
