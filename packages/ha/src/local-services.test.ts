import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createHighAvailabilityServices } from './create.js';
import { createLocalHighAvailabilityServices } from './local/local-services.js';
import type { HighAvailabilityServices } from './services.js';
import { conformanceSuite, lead, TestingContender, testingRecord, waitUntil } from './testing/conformance.js';

const roots: string[] = [];
const opened: HighAvailabilityServices[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((ha) => ha.close()));
  for (const d of roots.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-ha-'));
  roots.push(root);
  return join(root, 'ha');
}

function open(directory: string): HighAvailabilityServices {
  const ha = createLocalHighAvailabilityServices({ directory, pollIntervalMs: 20 });
  opened.push(ha);
  return ha;
}

describe('high availability none (a local directory): the conformance suite', () => {
  conformanceSuite(async () => {
    const directory = tempDir();
    const mine: HighAvailabilityServices[] = [];
    const files = { job: (id: string) => `jobs/${id}.json`, pointer: (id: string) => `jobs/${id}.checkpoint`, worker: (id: string) => `mesos/workers/${id}.json` };
    return {
      open: async () => {
        const ha = open(directory);
        mine.push(ha);
        return ha;
      },
      writeRaw: async (kind, id, text) => {
        const file = join(directory, files[kind](id));
        writeFileSync(file, text);
        return file;
      },
      cleanup: async () => {
        await Promise.all(mine.map((ha) => ha.close()));
      },
    };
  });
});

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');

/** A node process running `body` with `ha` (the built @sluice/ha) imported; its stdout lines. */
function child(body: string): { lines: string[]; exited: Promise<number | null>; kill: (s: NodeJS.Signals) => void; pid: number } {
  const code = `const ha = await import(${JSON.stringify(DIST)});\n${body}`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { lines, exited, kill: (s) => proc.kill(s), pid: proc.pid ?? -1 };
}

describe('high availability none (a local directory)', () => {
  it('keeps private files in the documented layout', async () => {
    const dir = tempDir();
    const ha = open(dir);
    const election = ha.leaderElection('dispatcher');
    const contender = new TestingContender();
    await election.start(contender);
    const token = await waitUntil('leadership', () => contender.leading);
    expect(token).toMatch(/^dispatcher\/local-[0-9a-f]{16}$/);
    await election.confirmLeadership({ token, address: 'sluice://h:1' });
    await ha.jobs.put(token, testingRecord('j1'));
    await ha.checkpoints.putLatest(token, 'j1', { id: 2, location: '/ck/chk-2' });
    await ha.checkpoints.nextCheckpointId(token, 'j1');
    await ha.mesos.putFrameworkId(token, 'fw');
    await ha.mesos.putWorker(token, { workerId: 'taskmanager-1', state: 'new' });
    expect(readdirSync(join(dir, 'jobs')).sort()).toEqual(['j1.checkpoint', 'j1.counter', 'j1.json']);
    expect(readdirSync(join(dir, 'leader')).sort()).toEqual(['dispatcher.json', 'dispatcher.token']);
    expect(JSON.parse(readFileSync(join(dir, 'leader', 'dispatcher.json'), 'utf8'))).toEqual({ token, address: 'sluice://h:1' });
    expect(readdirSync(join(dir, 'mesos')).sort()).toEqual(['framework-id', 'workers']);
    expect(JSON.parse(readFileSync(join(dir, 'jobs', 'j1.counter'), 'utf8'))).toEqual({ next: 2 });
    expect(JSON.parse(readFileSync(join(dir, 'leader', 'dispatcher.token'), 'utf8'))).toMatchObject({ token, pid: process.pid });
    for (const f of ['jobs/j1.json', 'jobs/j1.checkpoint', 'mesos/framework-id', 'mesos/workers/taskmanager-1.json']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    for (const d of ['', 'jobs', 'leader', 'mesos', 'mesos/workers']) expect(statSync(join(dir, d)).mode & 0o777).toBe(0o700);
    await ha.close();
    // Leaving gives the term up: no term file, no published leader.
    expect(readdirSync(join(dir, 'leader'))).toEqual([]);
  });

  it('hands the term on when the leading process is killed, and its token then writes nothing', async () => {
    const dir = tempDir();
    const leader = child(`
      const s = ha.createLocalHighAvailabilityServices({ directory: ${JSON.stringify(dir)}, pollIntervalMs: 20 });
      const e = s.leaderElection('dispatcher');
      await e.start({ grantLeadership: async (t) => { await e.confirmLeadership({ token: t, address: 'sluice://child:1' }); console.log(t); }, revokeLeadership: () => {} });
      setInterval(() => {}, 1000);`);
    const childToken = await waitUntil('the child to lead', () => leader.lines[0]);
    const ha = open(dir);
    const seen: (string | undefined)[] = [];
    await ha.leaderRetrieval('dispatcher').start((l) => seen.push(l?.address));
    await waitUntil('the child published', () => (seen.includes('sluice://child:1') ? true : undefined));
    await ha.jobs.put(childToken, testingRecord('j1', 1)); // this process writes with the token it was given
    const contender = new TestingContender();
    await ha.leaderElection('dispatcher').start(contender);
    expect(contender.grants).toEqual([]);
    leader.kill('SIGKILL');
    await leader.exited;
    const token = await waitUntil('this process to lead', () => contender.leading);
    expect(token).not.toBe(childToken);
    expect((await ha.jobs.put(childToken, testingRecord('j1', 5)).catch((e: { code?: string }) => e)) as object).toMatchObject({ code: 'HA_FENCED' });
    expect(await ha.jobs.get('j1')).toEqual(testingRecord('j1', 1));
    await waitUntil('the dead leader forgotten', () => (seen.at(-1) === undefined && seen.length > 1 ? true : undefined));
  });

  it('hands out distinct checkpoint ids to two processes racing on one counter', async () => {
    const dir = tempDir();
    const ha = open(dir);
    const { token } = await lead(ha);
    const racer = () =>
      child(`
        const s = ha.createLocalHighAvailabilityServices({ directory: ${JSON.stringify(dir)} });
        const ids = [];
        for (let i = 0; i < 30; i++) ids.push(await s.checkpoints.nextCheckpointId(${JSON.stringify(token)}, 'j1'));
        console.log(JSON.stringify(ids));
        await s.close();`);
    const racers = [racer(), racer()];
    const mine = await Promise.all(Array.from({ length: 10 }, () => ha.checkpoints.nextCheckpointId(token, 'j1')));
    expect(await Promise.all(racers.map((r) => r.exited))).toEqual([0, 0]);
    const ids = [...mine, ...racers.flatMap((r) => JSON.parse(r.lines[0] ?? '[]') as number[])];
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
  });

  it('revokes a term whose file was removed, and elects again with a new token', async () => {
    const dir = tempDir();
    const ha = open(dir);
    const first = await lead(ha);
    rmSync(join(dir, 'leader', 'dispatcher.token'));
    await waitUntil('the revoke', () => (first.contender.revokes.length === 1 ? true : undefined));
    const again = await waitUntil('a new term', () => first.contender.leading);
    expect(again).not.toBe(first.token);
    expect(first.contender.grants).toEqual([first.token, again]);
  });

  it('leaves no timer running once closed', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const ha = open(tempDir());
    await lead(ha);
    await ha.leaderRetrieval('dispatcher').start(() => undefined);
    expect(timers()).toBeGreaterThan(before);
    await ha.close();
    await ha.close();
    expect(timers()).toBe(before);
  });

  it('opens through createHighAvailabilityServices and refuses options that are not ones', async () => {
    const dir = tempDir();
    const ha = await createHighAvailabilityServices({ mode: 'none', directory: dir });
    opened.push(ha);
    expect(ha.mode).toBe('none');
    expect(ha.description).toBe(dir);
    await expect(createHighAvailabilityServices({ mode: 'none', directory: '' })).rejects.toThrow(/a directory is needed/);
    await expect(createHighAvailabilityServices({ mode: 'etcd' } as never)).rejects.toThrow(/not one of none, zookeeper/);
    expect(() => ha.leaderElection('Bad/Name')).toThrow(/not a component name/);
  });
});
