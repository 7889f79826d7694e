/**
 * `sluice cluster start` and `stop` as processes: the foreground entrypoint serves REST, writes
 * its token where the client commands look, and stops everything on Ctrl-C; a detached one is
 * found and stopped by `sluice cluster stop`. No TaskManagers here (--taskmanagers 0): the
 * process tree and the addresses are the point.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import { makeTestCertificates } from '@sluice/rpc/testing';
import { jobPath } from './harness.js';
import { waitFor } from './leaks.js';

let home = '';
let procs: CliProcesses;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'sluice-cluster-cli-'));
  procs = cliProcesses(home);
});
afterEach(() => procs.killAll());
afterAll(() => rmSync(home, { recursive: true, force: true }));

const START = ['cluster', 'start', '--taskmanagers', '0', '--rpc-port', '0', '--rest-port', '0'];

describe('sluice cluster as a process', () => {
  it('runs in the foreground, serves REST with the token it wrote, and stops on SIGINT', async () => {
    const env = { SLUICE_HOME: join(home, 'fg') };
    const s = procs.start([...START, '--rest-allowed-host', 'sluice.example.com'], env);
    const url = await waitFor('the REST address', () => /REST API +(http:\/\/127\.0\.0\.1:\d+) \(token in (.+)\)/.exec(s.out.stdout) ?? undefined);
    const [, restUrl, tokenFile] = url;
    expect(tokenFile).toBe(join(home, 'fg', `rest-${new URL(restUrl!).port}.token`));
    const token = readFileSync(tokenFile!, 'utf8').trim();
    expect(await (await fetch(`${restUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    // A name it was told to answer to (a DNS name, a VIP) is served; any other is refused.
    const port = new URL(restUrl!).port;
    expect(await statusWithHost(restUrl!, `sluice.example.com:${port}`)).toBe(200);
    expect(await statusWithHost(restUrl!, `other.example.com:${port}`)).toBe(403);
    const overview = await fetch(`${restUrl}/overview`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await overview.json()).toEqual({ taskManagers: 0, slotsTotal: 0, slotsAvailable: 0, jobs: {} });
    // The client commands find the token by themselves.
    const list = await procs.run(['list', '--address', restUrl!], { env });
    expect(list.code).toBe(0);
    s.child.kill('SIGINT');
    const r = await s.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Sluice cluster stopped.');
    expect(existsSync(tokenFile!)).toBe(false);
    expect(existsSync(join(home, 'fg', 'cluster', 'entrypoint.json'))).toBe(false);
    // The token was made at this first start, said once, and is kept for the next start.
    expect(r.stderr).toContain(`sluice: generated the cluster's REST token (kept in ${join(home, 'fg', 'cluster', 'rest.token')}; shown only now): ${token}\n`);
    const again = procs.start(START, env);
    await waitFor('the second start', () => (again.out.stdout.includes('REST API') ? true : undefined));
    again.child.kill('SIGINT');
    const r2 = await again.done;
    expect(r2.code).toBe(0);
    expect(r2.stderr).not.toContain('generated');
    expect(readFileSync(join(home, 'fg', 'cluster', 'rest.token'), 'utf8').trim()).toBe(token);
  });

  it('starts detached and is stopped by `sluice cluster stop`; a second start is refused while it runs', async () => {
    const env = { SLUICE_HOME: join(home, 'bg') };
    const started = await procs.run([...START, '--detach'], { env });
    expect(started.code).toBe(0);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    expect(() => process.kill(pid, 0)).not.toThrow();
    const again = await procs.run(START, { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a cluster entrypoint \(pid \d+, sluice:\/\/127\.0\.0\.1:\d+\) already runs from .*; stop it with `sluice cluster stop`/);
    const stopped = await procs.run(['cluster', 'stop'], { env });
    expect(stopped).toMatchObject({ code: 0, stdout: `Sluice cluster (pid ${pid}) stopped.\n` });
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await procs.run(['cluster', 'stop'], { env })).toMatchObject({ code: 1, stderr: expect.stringMatching(/^sluice: no cluster runs from /) });
  });

  it('runs a job submitted with `sluice submit` on its TaskManager processes, attached to the end', async () => {
    const env = { SLUICE_HOME: join(home, 'jobs') };
    const s = procs.start(['cluster', 'start', '--taskmanagers', '1', '--slots', '2', '--rpc-port', '0', '--rest-port', '0'], env);
    const [, restUrl] = await waitFor('the REST address', () => /REST API +(http:\/\/127\.0\.0\.1:\d+)/.exec(s.out.stdout) ?? undefined);
    const submitted = await procs.run(['submit', jobPath('smoke.ts'), '-p', '2', '--address', restUrl!], { env });
    expect(submitted, submitted.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Job 'Sluice job' FINISHED in .*: 20 records from sources/) });
    const list = await procs.run(['list', '--address', restUrl!, '--json'], { env });
    expect(JSON.parse(list.stdout).jobs.map((j: { status: string }) => j.status)).toEqual(['FINISHED']);
    s.child.kill('SIGINT');
    expect((await s.done).code).toBe(0);
  });

  it('runs with TLS on every connection: the JobMaster and TaskManager processes join it and a job finishes', async () => {
    const certs = makeTestCertificates(mkdtempSync(join(home, 'certs-')));
    const env = { SLUICE_HOME: join(home, 'tls') };
    const tls = ['--tls-cert-file', certs.certFile, '--tls-key-file', certs.keyFile, '--tls-ca-file', certs.caFile];
    const s = procs.start(['cluster', 'start', '--taskmanagers', '2', '--slots', '1', '--rpc-port', '0', '--rest-port', '0', ...tls], env);
    const [, restUrl] = await waitFor('the REST address', () => /REST API +(http:\/\/127\.0\.0\.1:\d+)/.exec(s.out.stdout) ?? undefined);
    expect(s.out.stdout).toMatch(/RPC +sluice:\/\/127\.0\.0\.1:\d+ \(TLS, mutual\)/);
    // p=2 on two one-slot TaskManagers: the keyed exchange crosses their (TLS) data ports.
    const submitted = await procs.run(['submit', jobPath('smoke.ts'), '-p', '2', '--address', restUrl!], { env });
    expect(submitted, submitted.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/FINISHED in .*: 20 records from sources/) });
    s.child.kill('SIGINT');
    expect((await s.done).code).toBe(0);
  });

  it('gives every job submitted to it its job defaults, under the job\'s own flags: parallelism, checkpoints and -D', async () => {
    const env = { SLUICE_HOME: join(home, 'defaults') };
    const checkpoints = join(home, 'defaults-ck');
    const s = procs.start(
      ['cluster', 'start', '--taskmanagers', '1', '--slots', '2', '--rpc-port', '0', '--rest-port', '0',
        '--default-parallelism', '2', '--default-checkpoint-dir', 'defaults-ck', '--default-checkpoint-interval', '200ms', '-D', 'name=named by the cluster', '-D', 'rate=100'],
      env,
    );
    const [, restUrl, tokenFile] = await waitFor('the REST address', () => /REST API +(http:\/\/127\.0\.0\.1:\d+) \(token in (.+)\)/.exec(s.out.stdout) ?? undefined);
    // The checkpoint directory was relative to where the cluster started (the test's directory).
    expect(s.out.stdout).toContain(`  Job defaults  -p 2, checkpoints every 200ms to ${checkpoints}, -D name=…, -D rate=… (GET /config; submit's own flags win)\n`);
    const auth = { Authorization: `Bearer ${readFileSync(tokenFile!, 'utf8').trim()}` };
    expect(await (await fetch(`${restUrl}/config`, { headers: auth })).json()).toEqual({
      jobDefaults: { parallelism: 2, checkpointDir: checkpoints, checkpointIntervalMs: 200, params: { name: 'named by the cluster', rate: '100' } },
    });

    // No -p, no checkpoint flags, a -D of its own: the rest comes from the cluster.
    const submitted = await procs.run(['submit', jobPath('job-defaults.ts'), '--detached', '-D', 'rate=50', '--address', restUrl!], { env });
    expect(submitted, submitted.stderr).toMatchObject({ code: 0 });
    expect(submitted.stderr).toContain(`Cluster defaults applied: -p 2, checkpoints every 200ms to ${checkpoints}, -D name=…\n`);
    const jobId = submitted.stdout.trim();
    type Details = { jobName: string; status: string; vertices?: { name: string; parallelism: number; subtasks: Record<string, number> }[]; checkpoints: { completed: number } };
    const details = await waitFor(
      'every subtask running and a checkpoint completed',
      async () => {
        const d = (await (await fetch(`${restUrl}/jobs/${jobId}`)).json()) as Details;
        if (d.status === 'FAILED') throw new Error(`the job failed: ${JSON.stringify(d)}`);
        const running = d.vertices !== undefined && d.vertices.every((v) => v.subtasks.RUNNING === v.parallelism);
        return running && d.checkpoints.completed > 0 ? d : undefined;
      },
      60_000,
    );
    // The parameter arrived (the job is named by it), and every vertex runs at the default parallelism.
    expect(details.jobName).toBe('named by the cluster');
    expect(details.vertices!.length).toBeGreaterThan(1);
    expect(details.vertices!.map((v) => v.parallelism)).toEqual(details.vertices!.map(() => 2));
    // Checkpoints go to the default directory.
    const stats = (await (await fetch(`${restUrl}/jobs/${jobId}/checkpoints`)).json()) as { latest?: { path: string } };
    expect(stats.latest?.path.startsWith(`${checkpoints}/`), JSON.stringify(stats)).toBe(true);
    expect(existsSync(stats.latest!.path)).toBe(true);

    expect(await procs.run(['cancel', jobId, '--address', restUrl!], { env })).toMatchObject({ code: 0 });
    s.child.kill('SIGINT');
    expect((await s.done).code).toBe(0);
  });

  it('refuses bad flags with exit code 2', async () => {
    expect(await procs.run(['cluster', 'start', '--slots', '0'])).toMatchObject({ code: 2, stderr: "sluice: error: invalid value '0' for --slots: expected an integer ≥ 1. Run 'sluice cluster --help'\n" });
    expect(await procs.run(['cluster', 'start', '--tls-cert-file', 'node.crt'])).toMatchObject({ code: 2, stderr: "sluice: error: TLS needs all of --tls-cert-file, --tls-key-file and --tls-ca-file. Run 'sluice cluster --help'\n" });
    expect(await procs.run(['cluster', 'start', '--default-parallelism', '0'])).toMatchObject({ code: 2, stderr: "sluice: error: invalid value '0' for --default-parallelism: expected a positive integer. Run 'sluice cluster --help'\n" });
    expect(await procs.run(['cluster', 'start', '-D', 'no-equals-sign'])).toMatchObject({ code: 2, stderr: "sluice: error: invalid value 'no-equals-sign' for -D: expected key=value. Run 'sluice cluster --help'\n" });
    expect(await procs.run(['cluster', 'restart'])).toMatchObject({ code: 2, stderr: "sluice: error: unknown cluster action 'restart': use 'start' or 'stop'. Run 'sluice cluster --help'\n" });
  });
});

/** GET /healthz with a Host header of our choosing (fetch sets its own). */
function statusWithHost(url: string, host: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: '/healthz', headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
