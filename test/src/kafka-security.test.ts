/**
 * Kafka security against the run's real broker: its SASL_PLAINTEXT listener (infra/kafka/kafka.sh)
 * with PLAIN and SCRAM logins and ACLs enforced. A super user reads and writes with each
 * mechanism; a principal without ACLs, a wrong password and a missing group ACL fail the job at
 * once (not retried: the jobs would retry for minutes otherwise) with an error naming the topic
 * (or group) and what to grant.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { KAFKA_SASL_USERS } from './kafka-broker.js';
import { runJob } from './harness.js';
import { KafkaTestKit, located } from './kafka-test-kit.js';

const bootstrap = inject('kafkaBootstrap');
const saslBootstrap = inject('kafkaSaslBootstrap');

describe.runIf(saslBootstrap !== '')('Kafka SASL and ACLs (real broker)', () => {
  const kit = new KafkaTestKit(bootstrap, 'kafka-security-test');

  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  async function filledTopic(): Promise<string> {
    const topic = await kit.topic(2);
    await kit.producer.send({ topic, messages: ['a', 'b', 'c', 'd'].map((value) => ({ key: value, value })) });
    return topic;
  }

  /** Runs kafka-sasl.ts; `patient` jobs retry for minutes what Kafka does not refuse outright. */
  function saslJob(params: Record<string, string>, user: { username: string; password: string }, mechanism: string) {
    return runJob('kafka-sasl.ts', { parallelism: 1, params: { bootstrap, saslBootstrap, mechanism, ...user, ...params } });
  }

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'])('reads with SASL %s', async (mechanism) => {
    const input = await filledTopic();
    // What the topic holds, read on its own: a record written twice shows here, one read twice below.
    const held = located(await kit.readAll(input, 4));
    expect(held.map((r) => r.split('=')[1]).sort()).toEqual(['a', 'b', 'c', 'd']);
    const r = await saslJob({ input, side: 'source' }, KAFKA_SASL_USERS.admin, mechanism);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('FINISHED');
    expect((r.collected.records as string[]).sort()).toEqual(held);
  });

  it('writes with SASL scram-sha-512', async () => {
    const input = await filledTopic();
    const output = await kit.topic(1);
    const r = await saslJob({ input, output, side: 'sink' }, KAFKA_SASL_USERS.admin, 'scram-sha-512');
    expect(r.status).toBe('FINISHED');
    expect((await kit.readAll(output, 4)).map((b) => b.value).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a wrong password fails the job at once as an authentication failure', async () => {
    const r = await saslJob({ input: await filledTopic(), side: 'source', patient: 'true' }, { username: KAFKA_SASL_USERS.admin.username, password: 'wrong' }, 'scram-sha-512');
    expect(r.status).toBe('FAILED');
    expect(r.error?.message).toMatch(/SASL_AUTHENTICATION_FAILED.*check the sasl mechanism, username and password/);
  });

  it('a principal without ACLs on the topic fails the source within seconds, naming the topic', async () => {
    const input = await filledTopic();
    const r = await saslJob({ input, side: 'source', patient: 'true' }, KAFKA_SASL_USERS.denied, 'scram-sha-256');
    expect(r.status).toBe('FAILED');
    expect(r.error?.message).toContain(`refused by Kafka (TOPIC_AUTHORIZATION_FAILED`);
    expect(r.error?.message).toContain(`not allowed to use topic '${input}'; grant it Describe and Read on that topic`);
  });

  it('a principal that may not write the topic fails the sink, naming the topic', async () => {
    const input = await filledTopic();
    const output = await kit.topic(1);
    const r = await saslJob({ input, output, side: 'sink', patient: 'true' }, KAFKA_SASL_USERS.denied, 'plain');
    expect(r.status).toBe('FAILED');
    expect(r.error?.message).toContain(`not allowed to use topic '${output}'; grant it Describe and Write on that topic`);
    expect(await kit.count(output)).toBe(0);
  });

  it('a principal that may read the topic but not use a consumer group fails, naming group and topic', async () => {
    const input = await filledTopic();
    const allow = (operation: AclOperationTypes) => ({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: input,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${KAFKA_SASL_USERS.denied.username}`,
      host: '*',
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await kit.admin.createAcls({ acl: [allow(AclOperationTypes.DESCRIBE), allow(AclOperationTypes.READ)] });
    const r = await saslJob({ input, side: 'source', patient: 'true' }, KAFKA_SASL_USERS.denied, 'scram-sha-512');
    expect(r.status).toBe('FAILED');
    // kafkajs reports the refused FindCoordinator as "Failed to find group coordinator".
    expect(r.error?.message).toMatch(new RegExp(`could not find the coordinator of its consumer group 'sluice-[^']+'.*may not use that group while reading '${input}': grant it Read on the group`));
  });
});
