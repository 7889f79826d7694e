/**
 * The Mesos fake running executors in container images from its `dockerRegistry`, on a tiny
 * image made here (the host's /bin/sh and sleep with their libraries): the command runs inside
 * the provisioned rootfs as the task user from the image's /etc/passwd, with the image's Env and
 * WorkingDir, the sandbox at /mnt/mesos/sandbox, /proc and /dev mounted in the container's own
 * mount namespace (never in the agent's), and the rootfs removed when the container ends; an
 * unknown user or a missing image fails the task as Mesos does. Needs root.
 */
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorInfo, Offer, Resource, SchedulerEvent } from '@sluice/mesos-proto';
import { hostShellLayer, writeImageArchive, type LayerTree } from './image-fixture.js';
import { IN_CI, imageTestBlocker } from './image-guard.js';
import { waitFor } from './leaks.js';
import { startMesosCluster, type MesosCluster } from './mesos-fake/index.js';
import { FRAMEWORK, TestScheduler } from './mesos-fake/testing-scheduler.js';

const BLOCKER = imageTestBlocker(false);
if (BLOCKER !== undefined && !IN_CI) console.log(`agent-image-container.test.ts skipped: ${BLOCKER}`);

describe.runIf(BLOCKER !== undefined && IN_CI)('container images on the Mesos fake (CI)', () => {
  it('can run', () => {
    expect.fail(`required under CI=true: ${BLOCKER}`);
  });
});

describe.runIf(BLOCKER === undefined)('the Mesos fake runs executors in images from its docker registry', () => {
  let registry = '';
  let cluster: MesosCluster | undefined;
  let scheduler: TestScheduler | undefined;
  afterEach(async () => {
    await scheduler?.close();
    await cluster?.stop();
    scheduler = undefined;
    cluster = undefined;
  });
  beforeAll(() => {
    registry = mkdtempSync(join(tmpdir(), 'sluice-image-registry-'));
    const sleepLayer: LayerTree = { ...hostShellLayer(), 'bin/sleep': { copy: '/usr/bin/sleep' } };
    writeImageArchive(registry, {
      repository: 'tiny/shell',
      tag: '1',
      layers: [
        { 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nworker:x:4242:4343::/work:/bin/sh\n', 'work/.keep': '', tmp: { dir: true } },
        sleepLayer,
      ],
      config: { Env: ['PATH=/bin', 'FROM_IMAGE=yes'], WorkingDir: '/work', Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo "entrypoint ran" > /mnt/mesos/sandbox/entry'] },
    });
  });
  afterAll(() => {
    if (registry !== '') rmSync(registry, { recursive: true, force: true });
  });

  async function start(): Promise<{ c: MesosCluster; s: TestScheduler; offer: Offer }> {
    const c = (cluster = await startMesosCluster({ dockerRegistry: registry, statusUpdateRetryMs: 100, agentEnv: { FROM_AGENT: 'yes' } }));
    const s = (scheduler = await TestScheduler.subscribe(c.masterUrl, FRAMEWORK, { encoding: 'protobuf' }));
    return { c, s, offer: (await s.next('OFFERS')).offers!.offers![0]! };
  }

  const take = (offer: Offer, name: string, value: number): Resource => ({ ...structuredClone(offer.resources!.find((r) => r.name === name)!), scalar: { value } });

  function executor(offer: Offer, image: string, command: NonNullable<ExecutorInfo['command']>): ExecutorInfo {
    return {
      executor_id: { value: 'ex1' },
      command,
      resources: [take(offer, 'cpus', 0.1), take(offer, 'mem', 32)],
      container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: image } } } },
    };
  }

  async function launch(s: TestScheduler, offer: Offer, info: ExecutorInfo): Promise<void> {
    const taskId = `task-${info.executor_id.value}`;
    const task = { name: taskId, task_id: { value: taskId }, agent_id: offer.agent_id, resources: [take(offer, 'cpus', 0.2), take(offer, 'mem', 32)], executor: info };
    expect((await s.call({ type: 'ACCEPT', accept: { offer_ids: [offer.id], operations: [{ type: 'LAUNCH', launch: { task_infos: [task] } }] } })).status).toBe(202);
  }

  const failedUpdate = (e: SchedulerEvent): boolean => e.update?.status.state === 'TASK_FAILED';

  it('runs the shell command in the rootfs as the user, with the image Env and WorkingDir and the sandbox at /mnt/mesos/sandbox; mounts only in its own namespace', async () => {
    const { c, s, offer } = await start();
    const script = [
      'exec > /mnt/mesos/sandbox/facts',
      'echo "sandbox=$MESOS_SANDBOX"',
      'echo "pwd=$(pwd)"',
      'while read k v rest; do [ "$k" = Uid: ] && echo "uid=$v"; done < /proc/self/status',
      'echo "image=$FROM_IMAGE agent=$FROM_AGENT host=${HOME-unset}"',
      'echo x > /dev/null && echo "devnull=ok"',
      '[ -e /etc/os-release ] && echo "host-files=visible" || echo "host-files=hidden"',
      'echo done',
      'exec sleep 600',
    ].join('\n');
    await launch(s, offer, executor(offer, 'tiny/shell:1', { value: script, user: 'worker' }));
    // Polled: a file in the sandbox is no state change of the fake's.
    const running = await waitFor('the container to write its facts', () => c.executors().find((e) => e.pid !== undefined && existsSync(join(e.sandbox, 'facts')) && readFileSync(join(e.sandbox, 'facts'), 'utf8').includes('done')));
    expect(readFileSync(join(running.sandbox, 'facts'), 'utf8').trim().split('\n')).toEqual([
      'sandbox=/mnt/mesos/sandbox',
      'pwd=/work',
      'uid=4242',
      'image=yes agent=yes host=unset',
      'devnull=ok',
      'host-files=hidden',
      'done',
    ]);
    const pid = running.pid!;
    const rootfs = running.rootfs!;
    // The process's root is the provisioned rootfs, and it runs the image's sleep.
    expect(statSync(`/proc/${pid}/root/bin/sleep`).ino).toBe(statSync(join(rootfs, 'bin/sleep')).ino);
    expect(readlinkSync(`/proc/${pid}/exe`)).toMatch(/\/bin\/sleep$/);
    // Its mounts live in its namespace; the agent's (this process's) has none below the rootfs.
    const inside = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    for (const point of [' /proc ', ' /dev ', ' /mnt/mesos/sandbox ']) expect(inside).toContain(point);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(rootfs);

    c.crashExecutor('ex1');
    const failed = await s.next('UPDATE', failedUpdate);
    expect(failed.update?.status.reason).toBe('REASON_EXECUTOR_TERMINATED');
    await c.waitFor('the executor to end', () => c.executors().every((e) => e.exit !== undefined));
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(rootfs)).toBe(false);
  });

  it('runs the image Entrypoint and Cmd for a CommandInfo with shell=false and no value', async () => {
    const { c, s, offer } = await start();
    await launch(s, offer, executor(offer, 'tiny/shell:1', { shell: false, user: 'worker' }));
    await s.next('UPDATE', failedUpdate);
    const [ex] = c.executors();
    expect(ex?.exit?.code).toBe(0);
    expect(readFileSync(join(ex!.sandbox, 'entry'), 'utf8')).toBe('entrypoint ran\n');
  });

  it('fails the task when the user is not in the image or the image is not in the registry', async () => {
    const { c, s, offer } = await start();
    // FrameworkInfo.user ('sluice') is the task user when CommandInfo names none.
    await launch(s, offer, executor(offer, 'tiny/shell:1', { value: 'echo never' }));
    const first = await s.next('UPDATE', failedUpdate);
    const unknownUser = first.update!.status;
    expect(unknownUser.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(unknownUser.message).toContain("Failed to change user to 'sluice': Failed to getgid: unknown user");
    expect(c.executors()[0]?.pid).toBeUndefined();

    const next = (await s.next('OFFERS', () => true, s.events.indexOf(first))).offers!.offers![0]!;
    await launch(s, next, { ...executor(next, 'tiny/absent:1', { value: 'echo never' }), executor_id: { value: 'ex2' } });
    const missing = (await s.next('UPDATE', (e) => failedUpdate(e) && e.update?.status.executor_id?.value === 'ex2')).update!.status;
    expect(missing.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(missing.message).toContain(`Failed to find archive for image 'tiny/absent:1' at '${join(registry, 'tiny/absent:1.tar')}': the file does not exist`);
  });
});
