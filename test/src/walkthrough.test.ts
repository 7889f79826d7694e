/**
 * The README's "Run Sluice on Mesos", block by block as written, in one shell (walkthrough-shell.ts):
 * the agent image built by infra/docker/build.sh and copied into the agents' registry, the
 * secrets put into the secret store and infra/marathon's app posted to Marathon, the fraud job
 * submitted over Kafka, Prometheus started with infra/prometheus/sluice.yml and asked for the
 * job's throughput, the job stopped with a savepoint and resumed at parallelism 3, the alerts
 * read, Prometheus stopped and the app removed. Only the first block's values are the test's:
 * the Mesos fake's master (three agents running TaskManagers in the image from that registry,
 * authenticating the principal), the Marathon fake (tasks as the app's user, its secret store),
 * the test broker, a shared directory, a free port for Prometheus.
 *
 * Between the blocks the test checks what the reader is promised: the scheduler healthy and
 * subscribed, TaskManagers in the image, the first job FINISHED at parallelism 2 with a
 * savepoint in the shared directory, the resumed one RUNNING at parallelism 3, and the alerts
 * topic holding exactly the alerts the detector finds in the produced transactions, each once.
 * At the end the framework is torn down and every container is gone.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { expectedFraudAlerts } from '../../examples/src/testing/fraud-reference.js';
import { AGENT_IMAGE_ARCHIVE, IN_CI, REPO_ROOT, imageTestBlocker } from './image-guard.js';
import { KafkaTestKit } from './kafka-test-kit.js';
import { waitFor } from './leaks.js';
import { imageShims } from './marathon-exec.js';
import { startMarathon } from './marathon-fake/index.js';
import { marathonAppErrors } from './marathon-schema.js';
import { mesosTestBed } from './mesos-test-bed.js';
import { unusedPort } from './ports.js';
import { PROMETHEUS_BINARY, PROMETHEUS_INSTALL_HINT } from './prometheus.js';
import { readmeShellBlocks, WalkthroughShell } from './walkthrough-shell.js';

const bootstrap = inject('kafkaBootstrap');
const blocker = imageTestBlocker(true) ?? (PROMETHEUS_BINARY === undefined ? `no prometheus on PATH; ${PROMETHEUS_INSTALL_HINT}` : undefined) ?? (othersCanReach(REPO_ROOT) ? undefined : `the app runs as 'nobody', who cannot reach the checkout ${REPO_ROOT}: give its parent directories o+x`);
const EVENTS = 200_000;
const SEED = 7; // fraud-produce's default, as the README runs it
const MESOS_SECRET = 'principal secret with spaces & $igns';
const AGENT = { resources: 'cpus:4;mem:8192;disk:1000;ports:[31000-31099]' };

if (blocker !== undefined && !IN_CI) console.log(`walkthrough.test.ts skipped: ${blocker}`);

describe.runIf(blocker !== undefined && IN_CI)('the README walkthrough (CI)', () => {
  it('has what it needs', () => {
    expect.fail(`the walkthrough cannot run under CI=true: ${String(blocker)}`);
  });
});

interface JobView {
  jobId: string;
  status: string;
  vertices?: { name: string; parallelism: number }[];
}

const bed = mesosTestBed('sluice-walkthrough-');

describe.runIf(blocker === undefined && bootstrap !== '')('Run Sluice on Mesos (README), block by block', () => {
  it('builds the image, installs with Marathon, runs the fraud job over Kafka, watches it in Prometheus, stops it with a savepoint and resumes it at parallelism 3', async () => {
    const blocks = readmeShellBlocks(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'), 'Run Sluice on Mesos');
    expect(blocks).toHaveLength(7);
    // The app and its TaskManagers run as nobody: the shared directory is world-writable, as an NFS export for them would be.
    chmodSync(bed.home, 0o755);
    const dir = (name: string, mode: number): string => {
      const d = join(bed.home, name);
      mkdirSync(d, { mode });
      chmodSync(d, mode);
      return d;
    };
    const shared = dir('shared', 0o777);
    const registry = dir('registry', 0o755);
    const work = dir('work', 0o755);
    const mesos = await bed.start({ agents: [AGENT, AGENT, AGENT], allocationIntervalMs: 200, dockerRegistry: registry, authenticate: { principal: 'sluice', secret: MESOS_SECRET } });
    // The scheduler runs on this host: the image's `sluice` is a shim starting this checkout's build.
    const shims = imageShims(join(bed.home, 'image-bin'));
    const marathon = await startMarathon({
      workDir: dir('marathon', 0o755),
      agentEnv: { PATH: `${shims}:/usr/local/bin:/usr/bin:/bin`, NO_COLOR: '1' },
      probeIntervalMs: 1_000,
      validate: (app) => marathonAppErrors(app).map((e) => ({ path: '/', errors: [e] })),
    });
    const kit = new KafkaTestKit(bootstrap, 'walkthrough-test');
    await kit.open();
    const shell = new WalkthroughShell(REPO_ROOT, {
      ...process.env,
      MESOS_MASTER: mesos.masterAddress,
      DCOS_URL: marathon.url,
      DCOS_AUTH: 'Authorization: token=walkthrough',
      MESOS_SECRET,
      KAFKA: bootstrap,
      SHARED: shared,
      REGISTRY: registry,
      BIND: '127.0.0.1',
      PROMETHEUS: `127.0.0.1:${await unusedPort()}`,
      WORK: work,
      // The reader's own machine: where `sluice run` keeps its REST token.
      SLUICE_HOME: dir('home', 0o700),
      NO_COLOR: '1',
    });
    bed.show({ output: () => `--- walkthrough shell ---\n${shell.output()}\n--- scheduler ---\n${marathon.task('/sluice/session')?.output() ?? '(not started)'}` });
    try {
      // 1. The image, in the agents' registry.
      await shell.run(blocks[1]!, 900_000);
      expect(statSync(join(registry, 'sluice', `${AGENT_IMAGE_ARCHIVE.split('/').pop()!}`)).size).toBe(statSync(AGENT_IMAGE_ARCHIVE).size);

      // 2. The scheduler, installed with Marathon: healthy, subscribed with the principal, its kept TaskManager in the image.
      const overview = await shell.run(blocks[2]!, 300_000);
      expect(overview).toMatch(/^TaskManagers: +\d+$/m);
      const framework = mesos.frameworks().find((f) => f.connected);
      expect(framework?.info).toMatchObject({ name: 'sluice', principal: 'sluice' });
      const scheduler = marathon.task('/sluice/session')!;
      const restUrl = `http://127.0.0.1:${scheduler.port('rest')}`;
      const token = readFileSync(join(work, 'rest.token'), 'utf8').trim();
      const rest = async <T>(path: string): Promise<T> => (await (await fetch(`${restUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as T;

      // 3. The job, at the cluster's default parallelism, on TaskManagers started in the image.
      const submitted = await shell.run(blocks[3]!, 300_000);
      const [first] = (await rest<{ jobs: JobView[] }>('/jobs')).jobs;
      expect(first?.jobId).toMatch(/^[0-9a-f]{32}$/);
      expect(submitted).toContain(first!.jobId);
      await waitFor('the first job RUNNING at parallelism 2', async () => {
        const j = await rest<JobView>(`/jobs/${first!.jobId}`);
        return j.status === 'RUNNING' && j.vertices?.every((v) => v.parallelism === 2) ? j : undefined;
      }, 120_000);
      expect(mesos.executors().length).toBeGreaterThan(0);
      expect(mesos.executors().every((e) => e.rootfs !== undefined)).toBe(true);

      // 4. Prometheus has the job's throughput per operator.
      const throughput = await shell.run(blocks[4]!, 300_000);
      for (const operator of ['Transactions from Kafka', 'Fraud detector', 'Alerts to Kafka']) expect(throughput).toMatch(new RegExp(`^${operator} [0-9.e+-]+$`, 'm'));

      // 5. Stopped with a savepoint in the shared directory, resumed at parallelism 3.
      await shell.run(blocks[5]!, 300_000);
      expect((await rest<JobView>(`/jobs/${first!.jobId}`)).status).toBe('FINISHED');
      const savepoints = readdirSync(join(shared, 'savepoints'));
      expect(savepoints).toHaveLength(1);
      expect(readdirSync(join(shared, 'savepoints', savepoints[0]!))).toContain('_metadata');
      const resumed = (await rest<{ jobs: JobView[] }>('/jobs')).jobs.find((j) => j.jobId !== first!.jobId)!;
      await waitFor('the resumed job RUNNING at parallelism 3', async () => {
        const j = await rest<JobView>(`/jobs/${resumed.jobId}`);
        return j.status === 'RUNNING' && j.vertices?.every((v) => v.parallelism === 3) ? j : undefined;
      }, 120_000);

      // Every alert of the produced transactions, each once, across the stop and the resume.
      const expected = expectedFraudAlerts(EVENTS, SEED);
      const written = await kit.readAll('alerts', expected.length, 300_000);
      const key = (a: { accountId: number; large: { timestamp: number } }): string => `${a.accountId}/${a.large.timestamp}`;
      expect(written.map((r) => key(JSON.parse(r.value!))).sort()).toEqual(expected.map(key).sort());

      // 6. The alerts read, Prometheus stopped, the app removed: the framework torn down, every container gone.
      const counted = await shell.run(blocks[6]!, 300_000);
      expect(counted).toMatch(new RegExp(`^\\s*${expected.length}\\s*$`, 'm'));
      await mesos.waitFor('the framework torn down', () => (mesos.calls({ api: 'scheduler', type: 'TEARDOWN' }).length === 1 ? true : undefined), 120_000);
      await mesos.waitFor('every executor gone', () => mesos.executors().every((e) => e.exit !== undefined), 60_000);
      await scheduler.exited;
      bed.remember(mesos);
    } finally {
      await shell.close();
      await marathon.close();
      await kit.close();
    }
  }, 1_500_000);
});

/** Whether users other than the owner can reach `dir`: every directory on its way has o+x. */
function othersCanReach(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}
