/**
 * High availability of the whole cluster: two entrypoints (`sluice cluster start
 * --high-availability zookeeper`, real processes) of one cluster id on a real ZooKeeper, one
 * leading. A checkpointed Kafka → Kafka exactly-once job over a stream, submitted through the
 * standby's REST API (forwarded to the leader), survives `kill -9` of the leading entrypoint:
 * the standby takes over once ZooKeeper expires the dead leader's session, recovers the job from
 * its latest checkpoint, and a read_committed consumer of the output sees every record once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
// Before kafkajs loads (through the test kit): the read_committed correction must be in place.
import { kafkajsReadCommittedFixed } from '@sluice/kafka';
import { randomId } from '@sluice/common';
import { cliProcesses, type CliProcesses } from './cli-process.js';
import { leaderOf, publishedLeader, rest, restTokenOf, restWhenLed, startHaEntrypoint, submitBundled, waitForJobEnd, type HaClusterOptions } from './ha-cluster.js';
import type { Counted } from './jobs/kafka-exactly-once.js';
import { expectCountedExactlyOnce } from './kafka-exactly-once-checks.js';
import { KafkaTestKit } from './kafka-test-kit.js';
import { waitFor } from './leaks.js';
import { startZookeeper, zookeeperSkipReason, type ZookeeperEnsemble } from './zookeeper.js';

const bootstrap = inject('kafkaBootstrap');
const skipReason = await zookeeperSkipReason();
if (skipReason !== undefined) console.log(`HA cluster tests skipped (${skipReason})`);

const SESSION_TIMEOUT_MS = 5_000;

describe.runIf(bootstrap !== '' && skipReason === undefined)('high availability: standby entrypoints on ZooKeeper', () => {
  const kit = new KafkaTestKit(bootstrap, 'ha-cluster-test');
  let zk: ZookeeperEnsemble;
  let home = '';
  let procs: CliProcesses;
  beforeAll(async () => {
    zk = await startZookeeper();
    await kit.open();
    home = mkdtempSync(join(tmpdir(), 'sluice-ha-'));
    procs = cliProcesses(home);
  }, 120_000);
  afterEach(() => procs.killAll());
  afterAll(async () => {
    await kit.close();
    await zk?.stop();
    rmSync(home, { recursive: true, force: true });
  }, 60_000);

  function options(): HaClusterOptions {
    return { quorum: zk.connectString, clusterId: `ha-${randomId(6)}`, storageDir: join(home, 'shared'), sessionTimeoutMs: SESSION_TIMEOUT_MS };
  }

  it('kill -9 of the leading entrypoint: the standby leads, recovers the Kafka job from its latest checkpoint, and the output has every record once', async () => {
    expect(kafkajsReadCommittedFixed()).toBe(true);
    const o = options();
    const a = await startHaEntrypoint(procs, 'a', home, o);
    const b = await startHaEntrypoint(procs, 'b', home, o);
    const { leader, token: firstTerm } = await leaderOf([a, b], o);
    const standby = leader === a ? b : a;
    const token = restTokenOf(o);

    const events = 30_000;
    const keys = 7;
    const input = await kit.topic(2);
    const output = await kit.topic(2);
    const group = `ha-${randomId(6)}`;
    // A stream: the input arrives while the job runs — and while its leader dies and a standby
    // takes over — about 2,000 records a second.
    let produced = 0;
    const producing = (async () => {
      while (produced < events) {
        const n = Math.min(200, events - produced);
        await kit.producer.send({ topic: input, messages: Array.from({ length: n }, (_, i) => ({ key: String(produced + i), value: JSON.stringify({ seq: produced + i }) })) });
        produced += n;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const params = { bootstrap, input, output, events: String(events), keys: String(keys), prefix: `ha-${randomId(6)}`, interval: '500', bounded: 'false', group };
    // Submitted to the standby: its REST API forwards to the leader.
    const jobId = await submitBundled(standby, token, 'kafka-exactly-once.ts', params, 2);
    await waitFor('two completed checkpoints', async () => {
      const s = await restWhenLed<{ counts: { completed: number } }>(standby, token, `/jobs/${jobId}/checkpoints`);
      return s !== undefined && s.counts.completed >= 2 ? true : undefined;
    }, 90_000);
    expect(produced).toBeLessThan(events);

    leader.process.child.kill('SIGKILL');
    const { leader: next, token: secondTerm } = await leaderOf([standby], o, 60_000);
    expect(next).toBe(standby);
    expect(secondTerm).not.toBe(firstTerm);
    await producing;

    // Every input record read and checkpointed (the offsets a checkpoint covered are committed
    // to the group), then stop with a savepoint: the final transactions commit.
    await kit.waitForCommitted(group, input, (offsets) => [0, 1].reduce((sum, p) => sum + (offsets.get(p) ?? 0), 0) === events, 240_000).catch((err: unknown) => {
      // What the new leader and its processes said is what explains it.
      throw new Error(`${(err as Error).message}; the new leader's last lines:\n${standby.output().split('\n').slice(-80).join('\n')}`);
    });
    await rest(standby, token, 'POST', `/jobs/${jobId}/stop`, JSON.stringify({ targetDirectory: join(home, 'savepoints') }));
    const end = await waitForJobEnd(standby, token, jobId);
    expect(end.result?.error?.message).toBeUndefined();
    expect(end.status).toBe('FINISHED');
    // The new leader took the job over from a checkpoint, with the next JobMaster attempt.
    expect(standby.output()).toMatch(new RegExp(`job recovered; its JobMaster attempt 1 resumes it from checkpoint \\d+ .*jobId=${jobId}`));
    expect((await publishedLeader(o.quorum, o.clusterId))?.token).toBe(secondTerm);

    const lines = (await kit.readCommitted(output, events)).map((m) => JSON.parse(m.value!) as Counted);
    expectCountedExactlyOnce(lines, events, keys);
  }, 300_000);
});
