/**
 * The agent image infra/docker/build.sh builds (build/image/sluice/agent:<version>.tar, or
 * SLUICE_IMAGE_ARCHIVE), read as a Mesos agent reads it: its config runs a non-root user under
 * tini; its filesystem runs `sluice` and `sluice-mesos-executor` as that user and holds no dev
 * dependencies or compilers; and `sluice mesos-session --container-image` on the Mesos fake
 * (with the archive's directory as the agents' docker registry) runs a job to the end on a
 * TaskManager that really runs from the image. Needs root and the archive: skipped without them
 * locally, failing under CI=true.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobPath } from './harness.js';
import { AGENT_IMAGE_ARCHIVE, AGENT_IMAGE_REPOSITORY, AGENT_IMAGE_TAG, IN_CI, REPO_ROOT, imageTestBlocker } from './image-guard.js';
import { pullImage, type PulledImage } from './mesos-fake/image-archive.js';
import { lookupUser, provisionRootfs, type ImageUser } from './mesos-fake/image-rootfs.js';
import { launchedTasks, SMALL_TASKMANAGER, startMesosSession, taskManagerPids } from './mesos-harness.js';
import { mesosTestBed } from './mesos-test-bed.js';

const BLOCKER = imageTestBlocker(true);
if (BLOCKER !== undefined && !IN_CI) console.log(`agent-image.test.ts skipped: ${BLOCKER}`);

describe.runIf(BLOCKER !== undefined && IN_CI)('the agent image (CI)', () => {
  it('is built and can be run', () => {
    expect.fail(`required under CI=true: ${BLOCKER} (.ci/run runs infra/docker/build.sh before npm test)`);
  });
});

/** Every devDependency of the root package.json and the workspaces', but the workspaces themselves. */
function devDependencyNames(): string[] {
  const manifests = ['package.json', ...['packages', 'examples', 'bench', 'test'].flatMap((d) => (d === 'packages' ? readdirSync(join(REPO_ROOT, d)).map((p) => `packages/${p}/package.json`) : [`${d}/package.json`]))];
  const read = manifests.filter((m) => existsSync(join(REPO_ROOT, m))).map((m) => JSON.parse(readFileSync(join(REPO_ROOT, m), 'utf8')) as { name: string; devDependencies?: Record<string, string> });
  const workspaces = new Set(read.map((p) => p.name));
  return [...new Set(read.flatMap((p) => Object.keys(p.devDependencies ?? {})))].filter((n) => !workspaces.has(n));
}

describe.runIf(BLOCKER === undefined)('the agent image for Mesos agents', () => {
  let work = '';
  let rootfs = '';
  let image: PulledImage;
  let user: ImageUser;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sluice-agent-image-'));
    rootfs = join(work, 'rootfs');
    // The archive sits at <registry>/sluice/agent:<tag>.tar as the agent wants it.
    mkdirSync(join(work, 'registry', 'sluice'), { recursive: true });
    symlinkSync(AGENT_IMAGE_ARCHIVE, join(work, 'registry', `${AGENT_IMAGE_REPOSITORY}:${AGENT_IMAGE_TAG}.tar`));
    image = await pullImage(join(work, 'registry'), `${AGENT_IMAGE_REPOSITORY}:${AGENT_IMAGE_TAG}`, join(work, 'store'));
    await provisionRootfs(image, rootfs);
    const found = image.config.user === undefined ? undefined : await lookupUser(rootfs, image.config.user);
    if (found === undefined) throw new Error(`the image's User '${image.config.user}' is not in its /etc/passwd`);
    user = found;
  }, 300_000);
  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  /** A command in the image's rootfs as its user (no mounts: what runs here needs none). */
  const inImage = (...argv: string[]): string =>
    execFileSync('chroot', [`--userspec=${user.uid}:${user.gid}`, rootfs, ...argv], { encoding: 'utf8', env: { ...image.config.env, HOME: user.home }, cwd: '/' });

  it('runs as a non-root user with tini as PID 1, and its executor and CLI run as that user', () => {
    expect(image.config.user).toBe('sluice');
    expect(user.uid).not.toBe(0);
    expect(image.config.entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(statSync(join(rootfs, 'usr/bin/tini')).mode & 0o111).not.toBe(0);
    expect(inImage('id', '-u').trim()).toBe(String(user.uid));
    expect(inImage('sluice-mesos-executor', '--help')).toContain('Usage: sluice-mesos-executor');
    expect(inImage('sluice', '--help')).toMatch(/mesos-session/);
    expect(inImage('node', '--version').trim()).toMatch(/^v(2\d|[3-9]\d)\./);
  });

  it('holds no dev dependencies, package managers or compilers', () => {
    const devDeps = devDependencyNames();
    expect(devDeps).toEqual(expect.arrayContaining(['typescript', 'vitest', 'turbo', '@types/node']));
    const modules = [join(rootfs, 'opt/sluice/node_modules'), join(rootfs, 'usr/local/lib/node_modules')];
    expect(existsSync(join(rootfs, 'opt/sluice/node_modules/@sluice/cluster/dist/taskmanager-main.js'))).toBe(true);
    const present = [...devDeps, 'tsx', 'npm', 'corepack']
      .flatMap((name) => modules.map((m) => join(m, name)))
      .filter((p) => existsSync(p));
    expect(present).toEqual([]);
    // Sluice's packages are there compiled, without their TypeScript sources.
    const packages = readdirSync(join(rootfs, 'opt/sluice/packages'));
    expect(packages).toEqual(expect.arrayContaining(['cli', 'cluster', 'mesos-executor']));
    expect(packages.filter((p) => existsSync(join(rootfs, 'opt/sluice/packages', p, 'src')))).toEqual([]);
    const tools = ['gcc', 'g++', 'cc', 'c++', 'make', 'ld', 'as', 'npm', 'npx', 'yarn', 'apt-get-build-dep']
      .flatMap((t) => ['usr/bin', 'usr/local/bin', 'bin'].map((d) => join(rootfs, d, t)))
      .filter((p) => existsSync(p));
    expect(tools).toEqual([]);
    expect(readdirSync(join(rootfs, 'var/lib/apt/lists')).filter((f) => f !== 'partial' && f !== 'lock')).toEqual([]);
  });

  describe('sluice mesos-session --container-image on the Mesos fake', () => {
    const bed = mesosTestBed('sluice-agent-image-session-');

    it('runs a job to the end on a TaskManager started by the executor inside the image, as the image user', async () => {
      const reference = `${AGENT_IMAGE_REPOSITORY}:${AGENT_IMAGE_TAG}`;
      const mesos = await bed.start({ agents: [{ resources: 'cpus:2;mem:2048;disk:1000;ports:[31000-31099]' }], allocationIntervalMs: 200, dockerRegistry: join(work, 'registry') });
      const session = await startMesosSession(bed.procs, bed.home, 'image', mesos, [...SMALL_TASKMANAGER, '--container-image', reference, '--containerizer', 'mesos', '--mesos-user', 'sluice']);
      bed.show(session);
      const submitted = await session.submit(jobPath('smoke.ts'), ['-p', '1']);
      expect(submitted, `${submitted.stderr}\n${session.output()}`).toMatchObject({ code: 0, stdout: expect.stringMatching(/FINISHED in .*: 20 records from sources/) });

      const [task] = launchedTasks(mesos);
      expect(task?.executor?.container).toEqual({ type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: reference } } } });
      expect(task?.executor?.command?.value).toBe('exec sluice-mesos-executor');
      const [executor] = mesos.executors();
      const containerRoot = executor!.rootfs!;
      const [tm] = [...taskManagerPids(mesos).values()];
      expect(tm, 'a TaskManager process under the executor').toBeDefined();
      bed.remember(mesos);
      // Its root is the rootfs provisioned from the image, it runs the image's node, as the image user.
      expect(statSync(`/proc/${tm}/root/usr/local/bin/node`).ino).toBe(statSync(join(containerRoot, 'usr/local/bin/node')).ino);
      expect(readlinkSync(`/proc/${tm}/exe`)).toMatch(/\/usr\/local\/bin\/node$/);
      expect(readFileSync(`/proc/${tm}/cmdline`, 'utf8')).toContain('/opt/sluice/');
      expect(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${tm}/status`, 'utf8'))?.[1]).toBe(String(user.uid));
      expect(readFileSync(`/proc/${executor!.pid}/environ`, 'utf8').split('\0')).toContain('MESOS_SANDBOX=/mnt/mesos/sandbox');

      await bed.stopSession(mesos, session);
      expect(existsSync(containerRoot)).toBe(false);
      expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(containerRoot);
    }, 300_000);
  });
});
