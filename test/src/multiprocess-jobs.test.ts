/**
 * Jobs on a cluster of processes (multiprocess-harness.ts): TaskManager processes on two loopback
 * "hosts", subtasks exchanging data over authenticated TCP between TaskManagers and over shared
 * memory within one, code fetched as an uploaded bundle. Results must equal the embedded run's
 * exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@sluice/common';
import { createAuthenticatedDataTransport, parsePeer, resolveNetworkRpcOptions } from '@sluice/rpc';
import { cliProcesses } from './cli-process.js';
import { examplePath, jobPath, runJob, sortBy } from './harness.js';
import { waitFor } from './leaks.js';
import { startMultiProcessCluster, testLogger, type MultiProcessCluster } from './multiprocess-harness.js';

let cluster: MultiProcessCluster;

beforeAll(async () => {
  cluster = await startMultiProcessCluster({ taskManagers: 2, slotsPerTaskManager: 2, logger: testLogger() });
}, 120_000);

afterAll(async () => {
  await cluster?.close();
}, 60_000);

/** Sends `bytes` to host:port; resolves when the other side closed the connection. */
function sendRaw(host: string, port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    // Read what the server answers (a refusal): a paused socket would never see the end.
    socket.resume();
    socket.write(bytes);
  });
}

describe('a cluster of TaskManager processes', () => {
  it('refuses garbage and a wrong secret on a TaskManager’s data and RPC ports with the reason logged, and the TaskManager keeps working', async () => {
    const [tm] = await cluster.taskManagers();
    const data = tm!.dataAddress!;
    const ours = (re: RegExp): RegExp => new RegExp(`^${tm!.resourceId}: .*${re.source}`);
    await sendRaw(data.host, data.port, Buffer.from('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'));
    await cluster.waitForLine(ours(/refused data connection from 127\.0\.0\.1:\d+: .*text "GET \/metrics.*not the Sluice data exchange/));
    const intruder = createAuthenticatedDataTransport({ rpc: resolveNetworkRpcOptions({ secret: 'not-the-cluster-secret-0123456789', logger: silentLogger }) });
    await expect(intruder.connect(data)).rejects.toThrow(/does not share this process's cluster secret/);
    await cluster.waitForLine(ours(/refused data connection from .*wrong cluster secret/));
    const rpc = parsePeer(tm!.address);
    await sendRaw(rpc.host, rpc.port, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0]));
    await cluster.waitForLine(ours(/closed rpc connection from .*not the sluice-rpc protocol/));
    // Still there: registered, and (next test) running subtasks that exchange data with the other TaskManager.
    expect(cluster.pids().size).toBe(2);
    expect((await cluster.taskManagers()).map((t) => t.resourceId)).toContain(tm!.resourceId);
  }, 60_000);

  it('runs Nexmark q5 at parallelism 4 on 2 TaskManagers × 2 slots with the embedded run’s exact result', async () => {
    const params = { events: '400000', eventRate: '20000' };
    const job = await cluster.submit(jobPath('nexmark-q5.ts'), { parallelism: 4, params });
    const result = await job.result();
    expect(result.error?.message).toBeUndefined();
    expect(result.status).toBe('FINISHED');
    const embedded = await runJob('nexmark-q5.ts', { parallelism: 4, params });
    expect(embedded.status).toBe('FINISHED');
    const key = (r: unknown): string => JSON.stringify(r);
    const got = sortBy(result.collected['q5'] ?? [], key);
    const want = sortBy(embedded.collected['q5'] ?? [], key);
    expect(want.length).toBeGreaterThan(10);
    expect(got).toEqual(want);
    // The two TaskManagers are on two "hosts", and their subtasks' data crossed over the data port.
    const tms = await cluster.taskManagers();
    expect(tms.map((t) => t.dataAddress?.host).sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    expect(cluster.lines.filter((l) => /data connection open/.test(l)).length).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('runs the fraud demo at parallelism 4 across both TaskManagers and prints exactly the embedded run’s alerts', async () => {
    const events = '200000';
    const printedBefore = cluster.lines.length;
    const job = await cluster.submit(examplePath('fraud-detection.ts'), { parallelism: 4, params: { events } });
    const result = await job.result();
    expect(result.error?.message).toBeUndefined();
    expect(result.status).toBe('FINISHED');
    const cwd = mkdtempSync(join(tmpdir(), 'sluice-mp-fraud-'));
    let want: string[];
    try {
      const embedded = await cliProcesses(cwd).run(['run', examplePath('fraud-detection.ts'), '-p', '4', '-D', `events=${events}`], { timeoutMs: 120_000 });
      expect(embedded.code).toBe(0);
      want = embedded.stdout.split('\n').filter((l) => /^\d+> ALERT /.test(l)).sort();
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
    expect(want.length).toBeGreaterThan(5);
    // print() writes from the TaskManagers' worker threads to their stdout, which reaches the
    // driver line by line, possibly just after the job's end was reported.
    const alert = /^\S+: (\d+> ALERT .*)$/;
    const printed = (): string[] => cluster.lines.slice(printedBefore).flatMap((l) => alert.exec(l)?.slice(1, 2) ?? []);
    await waitFor('the alert lines', () => (printed().length >= want.length ? true : undefined));
    expect(printed().sort()).toEqual(want);
  }, 180_000);

  it('takes a TaskManager started by hand with `sluice taskmanager` (standalone, another "host"), which leaves in order on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sluice-mp-standalone-'));
    const cli = cliProcesses(cwd);
    try {
      const bad = await cli.run(['taskmanager', '--cluster', cluster.address, '--secret-file', cluster.secretFile, '--slots', 'many']);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toEqual(["sluice taskmanager: --slots must be a positive integer, got 'many'"]);
      const tm = cli.start(['taskmanager', '--cluster', cluster.address, '--secret-file', cluster.secretFile, '--slots', '2', '--resource-id', 'by-hand', '--bind-host', '127.0.0.4']);
      await waitFor('the registration line', () => (/TaskManager by-hand registered/.test(tm.out.stdout) ? true : undefined), 60_000);
      expect(tm.out.stdout).toMatch(/TaskManager by-hand registered at sluice:\/\/127\.0\.0\.1:\d+: 2 slot\(s\), rpc sluice:\/\/127\.0\.0\.4:\d+\/taskmanager, data 127\.0\.0\.4:\d+, metrics http:\/\/127\.0\.0\.1:\d+\/metrics/);
      // Its slots count as free once its first slot report has reached the ResourceManager, which
      // may come after the registration line on a busy machine.
      const listed = await waitFor('the by-hand TaskManager with its slots free', async () => {
        const t = (await cluster.taskManagers()).find((x) => x.resourceId === 'by-hand');
        return t?.freeSlots === 2 ? t : undefined;
      }, 60_000);
      expect(listed).toMatchObject({ numberOfSlots: 2, freeSlots: 2, dataAddress: { host: '127.0.0.4' } });
      tm.child.kill('SIGTERM');
      expect((await tm.done).code).toBe(0);
      await waitFor('the TaskManager to leave', async () => ((await cluster.taskManagers()).some((t) => t.resourceId === 'by-hand') ? undefined : true));
    } finally {
      cli.killAll();
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});
