/**
 * The behaviour every HighAvailabilityServices implementation owes its users, as one vitest
 * suite that takes a factory: the local directory runs it in packages/ha, ZooKeeper in
 * test/src/ha-zookeeper.test.ts against a real server. Each "process" is its own services
 * instance on the same store. Waits are causal (until a grant, a listener call); nothing is
 * timed.
 */
import { expect, it } from 'vitest';
import type { HighAvailabilityServices, JobRecord, LeaderInfo, LeaderToken, WorkerRecord } from '../services.js';

export interface ConformanceStore {
  /** Another process's services on the same store (closed by `cleanup`). */
  open(): Promise<HighAvailabilityServices>;
  /** Writes `text` where the store keeps that record, bypassing checks; returns the file or znode. */
  writeRaw(kind: 'job' | 'pointer' | 'worker', id: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

export const WAIT_BOUND_MS = 60_000;

export async function waitUntil<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = WAIT_BOUND_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A contender that records what it was told. */
export class TestingContender {
  readonly grants: LeaderToken[] = [];
  readonly revokes: { token: LeaderToken; reason: string }[] = [];
  grantLeadership(token: LeaderToken): void {
    this.grants.push(token);
  }
  revokeLeadership(token: LeaderToken, reason: string): void {
    this.revokes.push({ token, reason });
  }
  /** The token of the term held now, if any. */
  get leading(): LeaderToken | undefined {
    const last = this.grants.at(-1);
    return last !== undefined && !this.revokes.some((r) => r.token === last) ? last : undefined;
  }
}

export function testingRecord(jobId: string, attempts = 0): JobRecord {
  return {
    submission: {
      jobId,
      jobName: `job ${jobId}`,
      artifact: { entry: '/bundles/x.mjs', bundle: 'a'.repeat(64), params: {} },
      jobGraph: { jobName: `job ${jobId}`, vertices: [], edges: [], config: {} as JobRecord['submission']['jobGraph']['config'] },
    },
    jobMasterAttempts: attempts,
  };
}

/** Starts a contender on `ha` and waits for its grant. */
export async function lead(ha: HighAvailabilityServices, component = 'dispatcher'): Promise<{ token: LeaderToken; contender: TestingContender; stop: () => Promise<void> }> {
  const election = ha.leaderElection(component);
  const contender = new TestingContender();
  await election.start(contender);
  const token = await waitUntil(`${component} leadership on ${ha.description}`, () => contender.leading);
  return { token, contender, stop: () => election.stop() };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

export function conformanceSuite(makeStore: () => Promise<ConformanceStore>): void {
  const withStore = (fn: (s: ConformanceStore) => Promise<void>) => async () => {
    const s = await makeStore();
    try {
      await fn(s);
    } finally {
      await s.cleanup();
    }
  };

  it(
    'grants one of two contenders; the other takes over with a new token when the first stops, then when its services close',
    withStore(async (s) => {
      const [a, b, c] = [await s.open(), await s.open(), await s.open()];
      const first = await lead(a);
      const eb = b.leaderElection('dispatcher');
      const cb = new TestingContender();
      await eb.start(cb); // registered, not leading: the term is a's
      expect(cb.grants).toEqual([]);
      expect(eb.hasLeadership(first.token)).toBe(false);
      await first.stop();
      expect(first.contender.revokes.map((r) => r.token)).toEqual([first.token]);
      const second = await waitUntil('b to lead', () => cb.leading);
      expect(second).not.toBe(first.token);
      expect(eb.hasLeadership(second)).toBe(true);
      // c joins behind b; closing b's services (a process that ends) hands the term to c.
      const cc = new TestingContender();
      await c.leaderElection('dispatcher').start(cc);
      expect(cc.grants).toEqual([]);
      await b.close();
      expect(cb.revokes.map((r) => r.token)).toEqual([second]);
      const third = await waitUntil('c to lead', () => cc.leading);
      expect(new Set([first.token, second, third]).size).toBe(3);
      expect(cb.grants).toEqual([second]);
      expect(first.contender.grants).toEqual([first.token]);
    }),
  );

  it(
    'refuses every write with an ended term\'s token and changes nothing',
    withStore(async (s) => {
      const [a, b] = [await s.open(), await s.open()];
      const old = await lead(a);
      await a.jobs.put(old.token, testingRecord('j1', 1));
      await a.checkpoints.putLatest(old.token, 'j1', { id: 3, location: '/ck/chk-3' });
      expect(await a.checkpoints.nextCheckpointId(old.token, 'j1')).toBe(1);
      await a.mesos.putFrameworkId(old.token, 'fw-1');
      await a.mesos.putWorker(old.token, { workerId: 'taskmanager-1', state: 'launched' });
      const next = lead(b);
      await old.stop();
      const now = await next;
      // Thunks, so that each refusal is awaited as it happens.
      for (const write of [
        () => a.jobs.put(old.token, testingRecord('j1', 9)),
        () => a.jobs.put(old.token, testingRecord('j2')),
        () => a.jobs.remove(old.token, 'j1'),
        () => a.checkpoints.putLatest(old.token, 'j1', { id: 4, location: '/ck/chk-4' }),
        () => a.checkpoints.nextCheckpointId(old.token, 'j1'),
        () => a.checkpoints.advanceCheckpointIdTo(old.token, 'j1', 100),
        () => a.mesos.putFrameworkId(old.token, 'fw-2'),
        () => a.mesos.clearFrameworkId(old.token),
        () => a.mesos.putWorker(old.token, { workerId: 'taskmanager-1', state: 'released' }),
        () => a.mesos.removeWorker(old.token, 'taskmanager-1'),
        () => a.leaderElection('dispatcher').confirmLeadership({ token: old.token, address: 'sluice://old:1' }),
        () => b.jobs.put('not-a-token', testingRecord('j1', 9)),
      ]) {
        expect(await codeOf(write())).toBe('HA_FENCED');
      }
      const err = await a.jobs.put(old.token, testingRecord('j1', 9)).catch((e: Error) => e);
      expect(String(err)).toContain(old.token);
      expect(await b.jobs.get('j1')).toEqual(testingRecord('j1', 1));
      expect(await b.jobs.get('j2')).toBeUndefined();
      expect(await b.checkpoints.latest('j1')).toEqual({ id: 3, location: '/ck/chk-3' });
      expect(await b.mesos.frameworkId()).toBe('fw-1');
      expect((await b.mesos.workers()).records).toEqual([{ workerId: 'taskmanager-1', state: 'launched' }]);
      // The current term writes, from any instance that was given its token.
      expect(await a.checkpoints.nextCheckpointId(now.token, 'j1')).toBe(2);
      await a.jobs.put(now.token, testingRecord('j1', 2));
      expect(await b.jobs.get('j1')).toEqual(testingRecord('j1', 2));
    }),
  );

  it(
    'hands out distinct checkpoint ids to instances racing on one counter, and advances it only upwards',
    withStore(async (s) => {
      const [a, b] = [await s.open(), await s.open()];
      const { token } = await lead(a);
      const race = (ha: HighAvailabilityServices) => Promise.all(Array.from({ length: 20 }, () => ha.checkpoints.nextCheckpointId(token, 'j1')));
      const [ia, ib] = await Promise.all([race(a), race(b)]);
      expect([...ia, ...ib].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      await b.checkpoints.advanceCheckpointIdTo(token, 'j1', 100);
      await a.checkpoints.advanceCheckpointIdTo(token, 'j1', 50);
      expect(await a.checkpoints.nextCheckpointId(token, 'j1')).toBe(100);
      expect(await a.checkpoints.nextCheckpointId(token, 'other')).toBe(1);
      expect(await codeOf(a.checkpoints.advanceCheckpointIdTo(token, 'j1', 0))).toBe('INVALID_CHECKPOINT_ID');
    }),
  );

  it(
    'moves the latest-checkpoint pointer only forward, and forgets a removed job\'s counter and pointer',
    withStore(async (s) => {
      const a = await s.open();
      const { token } = await lead(a);
      expect(await a.checkpoints.latest('j1')).toBeUndefined();
      await a.checkpoints.putLatest(token, 'j1', { id: 5, location: '/ck/chk-5' });
      await a.checkpoints.putLatest(token, 'j1', { id: 3, location: '/ck/chk-3' });
      await a.checkpoints.putLatest(token, 'j1', { id: 5, location: '/ck/elsewhere' });
      expect(await a.checkpoints.latest('j1')).toEqual({ id: 5, location: '/ck/chk-5' });
      await a.checkpoints.putLatest(token, 'j1', { id: 7, location: '/ck/chk-7' });
      expect(await a.checkpoints.latest('j1')).toEqual({ id: 7, location: '/ck/chk-7' });
      expect(await codeOf(a.checkpoints.putLatest(token, 'j1', { id: 0, location: '' }))).toBe('INVALID_CHECKPOINT_POINTER');
      await a.jobs.put(token, testingRecord('j1'));
      await a.checkpoints.nextCheckpointId(token, 'j1');
      await a.jobs.remove(token, 'j1');
      await a.jobs.remove(token, 'j1'); // forgetting twice is no error
      expect(await a.jobs.get('j1')).toBeUndefined();
      expect(await a.checkpoints.latest('j1')).toBeUndefined();
      expect(await a.checkpoints.nextCheckpointId(token, 'j1')).toBe(1);
    }),
  );

  it(
    'lists the readable job records and reports each damaged one by record and job; get and latest name it',
    withStore(async (s) => {
      const a = await s.open();
      const { token } = await lead(a);
      await a.jobs.put(token, testingRecord('a'));
      await a.jobs.put(token, testingRecord('b', 2));
      const half = await s.writeRaw('job', 'c', '{"half a rec');
      const other = await s.writeRaw('job', 'd', JSON.stringify(testingRecord('not-d')));
      const { records, problems } = await a.jobs.list();
      expect(records).toEqual([testingRecord('a'), testingRecord('b', 2)]);
      expect(problems.map((p) => [p.jobId, p.where])).toEqual([['c', half], ['d', other]]);
      expect(problems[0]?.problem).toMatch(/not valid JSON/);
      expect(problems[1]?.problem).toMatch(/not a job record/);
      const err = await a.jobs.get('c').catch((e: Error & { code?: string }) => e);
      expect((err as { code?: string }).code).toBe('HA_STORE_CORRUPT');
      expect(String(err)).toContain(half);
      expect(String(err)).toContain('job c');
      const pointer = await s.writeRaw('pointer', 'b', 'garbage');
      const perr = await a.checkpoints.latest('b').catch((e: Error) => e);
      expect((perr as { code?: string }).code).toBe('HA_STORE_CORRUPT');
      expect(String(perr)).toContain(pointer);
      expect(String(perr)).toContain('job b');
      expect(await a.checkpoints.latest('a')).toBeUndefined();
    }),
  );

  it(
    'refuses job and worker ids that are not safe names before touching the store',
    withStore(async (s) => {
      const a = await s.open();
      const { token } = await lead(a);
      for (const bad of ['../x', '.hidden', 'a/b', '', '..', 'x'.repeat(200)]) {
        expect(await codeOf(a.jobs.get(bad))).toBe('INVALID_JOB_ID');
        expect(await codeOf(a.jobs.put(token, testingRecord(bad)))).toBe('INVALID_JOB_ID');
        expect(await codeOf(a.checkpoints.nextCheckpointId(token, bad))).toBe('INVALID_JOB_ID');
        expect(await codeOf(a.checkpoints.latest(bad))).toBe('INVALID_JOB_ID');
        expect(await codeOf(a.mesos.putWorker(token, { workerId: bad, state: 'new' }))).toBe('INVALID_WORKER_ID');
        expect(await codeOf(a.mesos.removeWorker(token, bad))).toBe('INVALID_WORKER_ID');
      }
      expect(await codeOf(a.mesos.putWorker(token, { workerId: 'w', state: 'gone' } as unknown as WorkerRecord))).toBe('INVALID_WORKER_RECORD');
      expect(await codeOf(a.mesos.putWorker(token, { workerId: 'w', state: 'new', slots: 0 }))).toBe('INVALID_WORKER_RECORD');
      expect(await a.jobs.list()).toEqual({ records: [], problems: [] });
      expect(await a.mesos.workers()).toEqual({ records: [], problems: [] });
    }),
  );

  it(
    'keeps the Mesos framework id and worker records, and reports a damaged worker record',
    withStore(async (s) => {
      const a = await s.open();
      const { token } = await lead(a);
      expect(await a.mesos.frameworkId()).toBeUndefined();
      await a.mesos.putFrameworkId(token, 'fw-0001');
      expect(await a.mesos.frameworkId()).toBe('fw-0001');
      const w1: WorkerRecord = {
        workerId: 'taskmanager-1',
        state: 'launched',
        agentId: 'agent-1',
        hostname: 'h1',
        profile: 'default',
        attributes: { rack: 'r1' },
        resourceId: 'taskmanager-3f9a2c',
        slots: 2,
        region: 'eu',
        zone: 'eu-1a',
      };
      await a.mesos.putWorker(token, { workerId: 'taskmanager-1', state: 'new' });
      await a.mesos.putWorker(token, w1);
      await a.mesos.putWorker(token, { workerId: 'taskmanager-2', state: 'new' });
      const bad = await s.writeRaw('worker', 'taskmanager-3', '{"workerId":"taskmanager-3"}');
      const { records, problems } = await a.mesos.workers();
      expect(records).toEqual([w1, { workerId: 'taskmanager-2', state: 'new' }]);
      expect(problems.map((p) => [p.jobId, p.where])).toEqual([['taskmanager-3', bad]]);
      await a.mesos.removeWorker(token, 'taskmanager-2');
      await a.mesos.removeWorker(token, 'taskmanager-2');
      await a.mesos.clearFrameworkId(token);
      await a.mesos.clearFrameworkId(token);
      expect(await a.mesos.frameworkId()).toBeUndefined();
      expect((await a.mesos.workers()).records).toEqual([w1]);
    }),
  );

  it(
    'lets followers see each published leader in order, and no leader once the leader is gone',
    withStore(async (s) => {
      const [a, b, f] = [await s.open(), await s.open(), await s.open()];
      const seen: (LeaderInfo | undefined)[] = [];
      const retrieval = f.leaderRetrieval('dispatcher');
      await retrieval.start((leader) => seen.push(leader));
      expect(seen).toEqual([undefined]);
      const ea = a.leaderElection('dispatcher');
      const ca = new TestingContender();
      await ea.start(ca);
      const ta = await waitUntil('a to lead', () => ca.leading);
      const a1: LeaderInfo = { token: ta, address: 'sluice://a:6123' };
      await ea.confirmLeadership(a1);
      await waitUntil('a seen', () => (seen.length === 2 ? true : undefined));
      const a2: LeaderInfo = { token: ta, address: 'sluice://a:6123', restUrl: 'http://a:8081' };
      await ea.confirmLeadership(a2);
      await waitUntil('a\'s REST URL seen', () => (seen.length === 3 ? true : undefined));
      const eb = b.leaderElection('dispatcher');
      const cb = new TestingContender();
      await eb.start(cb);
      await ea.stop();
      await waitUntil('the leader gone', () => (seen.length === 4 ? true : undefined));
      const tb = await waitUntil('b to lead', () => cb.leading);
      const b1: LeaderInfo = { token: tb, address: 'sluice://b:6123' };
      await eb.confirmLeadership(b1);
      await waitUntil('b seen', () => (seen.length === 5 ? true : undefined));
      expect(seen).toEqual([undefined, a1, a2, undefined, b1]);
      await retrieval.stop();
      await eb.stop();
      expect(seen.length).toBe(5);
      // Another component's election is separate.
      const other = await lead(a, 'resourcemanager');
      expect(other.token).not.toBe(tb);
    }),
  );
}
