import { describe, expect, it } from 'vitest';
import { KafkaJSGroupCoordinatorNotFound, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { kafkaConfig, resolveKafkaConnection, withKafkaDeadline } from './connection.js';
import { kafkaRefusal, refusalError } from './errors.js';

/** A kafkajs protocol error as the client raises it for a refused request. */
function protocolError(type: string, code: number): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(`refused: ${type}`), { type, code, retriable: false }));
}

/** One of kafkajs's own errors whose typings declare no constructor arguments (the classes take a message). */
function kafkajsError(cls: abstract new () => Error, message: string): Error {
  const Ctor = cls as unknown as new (message: string) => Error;
  return new Ctor(message);
}

const saslError = (message: string): Error => kafkajsError(KafkaJSSASLAuthenticationError, message);

describe('Kafka connection options', () => {
  it('pass ssl and SASL (plain, scram-sha-256, scram-sha-512) through to kafkajs unchanged', () => {
    const tls = { ca: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'], servername: 'kafka.internal', rejectUnauthorized: true };
    for (const sasl of [
      { mechanism: 'plain', username: 'alice', password: 'pw' },
      { mechanism: 'scram-sha-256', username: 'alice', password: 'pw' },
      { mechanism: 'scram-sha-512', username: 'alice', password: 'pw' },
    ] as const) {
      const config = kafkaConfig(resolveKafkaConnection({ bootstrapServers: 'k1:9093,k2:9093', ssl: tls, sasl }), 'sink-0');
      expect(config.ssl).toBe(tls);
      expect(config.sasl).toEqual(sasl);
      expect(config.brokers).toEqual(['k1:9093', 'k2:9093']);
    }
    const plain = kafkaConfig(resolveKafkaConnection({ bootstrapServers: 'k:9092' }), 'x');
    expect('ssl' in plain).toBe(false);
    expect('sasl' in plain).toBe(false);
    expect(kafkaConfig(resolveKafkaConnection({ bootstrapServers: 'k:9093', ssl: true }), 'x').ssl).toBe(true);
  });

  it('reject SASL settings kafkajs would only report as a failed login', () => {
    const bad = (sasl: unknown) => () => resolveKafkaConnection({ bootstrapServers: 'k:9092', sasl: sasl as never });
    expect(bad({ mechanism: 'SCRAM-SHA-512', username: 'a', password: 'b' })).toThrow(/sasl.mechanism must be one of plain, scram-sha-256, scram-sha-512/);
    expect(bad({ mechanism: 'scram-sha-256', password: 'b' })).toThrow(/'scram-sha-256' needs a username/);
    expect(bad({ mechanism: 'plain', username: 'a' })).toThrow(/'plain' needs a password/);
    expect(() => resolveKafkaConnection({ bootstrapServers: 'k:9092', ssl: 'yes' as never })).toThrow(/ssl must be true, false or Node TLS options/);
  });
});

describe('Kafka refusals', () => {
  it('find authorization and authentication failures inside kafkajs wrappers', () => {
    const topic = protocolError('TOPIC_AUTHORIZATION_FAILED', 29);
    expect(kafkaRefusal(topic)).toEqual({ kind: 'authorization', type: 'TOPIC_AUTHORIZATION_FAILED' });
    expect(kafkaRefusal(new KafkaJSNumberOfRetriesExceeded(protocolError('GROUP_AUTHORIZATION_FAILED', 30), { retryCount: 3, retryTime: 800 }))).toEqual({ kind: 'authorization', type: 'GROUP_AUTHORIZATION_FAILED' });
    expect(kafkaRefusal(saslError('SASL SCRAM SHA512 authentication failed'))).toEqual({ kind: 'authentication', type: 'SASL_AUTHENTICATION_FAILED' });
    expect(kafkaRefusal(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3))).toBeUndefined();
    expect(kafkaRefusal(new Error('ECONNREFUSED'))).toBeUndefined();
  });

  it('become non-retriable errors naming the topic or group and the permission to grant', () => {
    const read = refusalError(protocolError('TOPIC_AUTHORIZATION_FAILED', 29), "reading the offsets of topic 'orders'", 'k:9092', { access: 'read', topics: ['orders'] });
    expect(read?.code).toBe('KAFKA_NOT_AUTHORIZED');
    expect(read?.retriable).toBe(false);
    expect(read?.message).toBe(
      "reading the offsets of topic 'orders' was refused by Kafka (TOPIC_AUTHORIZATION_FAILED, bootstrap servers: k:9092): the client's principal is not allowed to use topic 'orders'; grant it Describe and Read on that topic (Kafka ACLs)",
    );
    const write = refusalError(protocolError('TOPIC_AUTHORIZATION_FAILED', 29), 'KafkaSink writing 3 record(s)', 'k:9092', { access: 'write', topics: ['a', 'b'] });
    expect(write?.message).toMatch(/topic 'a', 'b'; grant it Describe and Write on those topics/);
    const group = refusalError(protocolError('GROUP_AUTHORIZATION_FAILED', 30), 'Kafka consumer for orders[0]', 'k:9092', { access: 'read', topics: ['orders'], group: 'sluice-x-0' });
    expect(group?.message).toMatch(/consumer group 'sluice-x-0' while reading 'orders'; grant it Read on that group/);
    const login = refusalError(saslError('SASL PLAIN authentication failed'), 'connecting to Kafka', 'k:9092', { access: 'read' });
    expect(login?.code).toBe('KAFKA_AUTHENTICATION_FAILED');
    expect(login?.message).toMatch(/check the sasl mechanism, username and password/);
  });

  it("explain kafkajs's 'Failed to find group coordinator' as a likely missing group ACL", () => {
    const lost = kafkajsError(KafkaJSGroupCoordinatorNotFound, 'Failed to find group coordinator');
    const e = refusalError(lost, 'Kafka consumer for orders[0]', 'k:9092', { access: 'read', topics: ['orders'], group: 'sluice-job-0' });
    expect(e?.code).toBe('KAFKA_GROUP_COORDINATOR_NOT_FOUND');
    expect(e?.message).toMatch(/consumer group 'sluice-job-0'.*may not use that group while reading 'orders': grant it Read on the group/);
    expect(refusalError(lost, 'listing topics', 'k:9092', { access: 'read' })).toBeUndefined();
  });

  it('withKafkaDeadline fails at once with the refusal, not after its deadline', async () => {
    const c = resolveKafkaConnection({ bootstrapServers: 'k:9092' });
    // A deadline far past the test's timeout: only the refusal itself can end this in time.
    await expect(
      withKafkaDeadline(c, "reading the offsets of topic 'secret'", 3_600_000, () => Promise.reject(protocolError('TOPIC_AUTHORIZATION_FAILED', 29)), { access: 'read', topics: ['secret'] }),
    ).rejects.toMatchObject({ code: 'KAFKA_NOT_AUTHORIZED', message: expect.stringContaining("topic 'secret'") as unknown });
    await expect(withKafkaDeadline(c, 'listing topics', 50, () => new Promise(() => undefined))).rejects.toThrow(/listing topics did not complete within 50 ms \(Kafka bootstrap servers: k:9092\)/);
  });
});
