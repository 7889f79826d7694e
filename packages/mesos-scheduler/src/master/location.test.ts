import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '@sluice/common';
import { parseMasterLocation, redirectTarget, type MasterEndpoint } from './location.js';
import { backoffDelayMs } from './options.js';
import { classifySubscribeAnswer } from './subscribe-answer.js';
import { parseMasterInfo } from './zookeeper-detector.js';

const http = (host: string, port: number, basePath = ''): MasterEndpoint => ({ scheme: 'http', host, port, basePath });

describe('parseMasterLocation', () => {
  it.each([
    ['10.0.0.1:5050', [http('10.0.0.1', 5050)]],
    ['m1', [http('m1', 5050)]],
    [' m1:5050 , m2:5051 ', [http('m1', 5050), http('m2', 5051)]],
    ['http://m1', [http('m1', 5050)]],
    ['HTTPS://m1:5443', [{ scheme: 'https', host: 'm1', port: 5443, basePath: '' }]],
    ['[::1]:5050', [http('::1', 5050)]],
    ['http://proxy.example.com:8080/mesos/', [http('proxy.example.com', 8080, '/mesos')]],
    ['http://m1:5050/api/v1/scheduler', [http('m1', 5050)]],
    ['http://m1:5050,https://m2:5050', [http('m1', 5050), { scheme: 'https', host: 'm2', port: 5050, basePath: '' }]],
  ])('%s', (text, masters) => {
    expect(parseMasterLocation(text)).toEqual({ kind: 'list', masters });
  });

  it('reaches a bare host:port over https when TLS is configured, but keeps an explicit http://', () => {
    expect(parseMasterLocation('m1:5050,http://m2:5050', { tls: true })).toEqual({
      kind: 'list',
      masters: [{ scheme: 'https', host: 'm1', port: 5050, basePath: '' }, http('m2', 5050)],
    });
  });

  it.each([
    ['zk://z1:2181,z2:2182/mesos', { kind: 'zookeeper', servers: 'z1:2181,z2:2182', path: '/mesos' }],
    ['zk://z1/mesos/', { kind: 'zookeeper', servers: 'z1:2181', path: '/mesos' }],
    ['zk://user:pa:ss@z1:2181/a/mesos', { kind: 'zookeeper', servers: 'z1:2181', path: '/a/mesos', digest: 'user:pa:ss' }],
    ['zk://[::1]:2181/mesos', { kind: 'zookeeper', servers: '[::1]:2181', path: '/mesos' }],
  ])('%s', (text, location) => {
    expect(parseMasterLocation(text)).toEqual(location);
  });

  it.each([
    ['', 'it is empty'],
    ['ftp://m1:5050', "unsupported scheme 'ftp://'"],
    ['m1:99999', 'outside 1-65535'],
    ['m1:abc', 'is not host:port'],
    ['m1:5050,,m2:5050', 'empty entry'],
    ['http://user:secret@m1:5050', 'principal and secret options'],
    ['m1:5050,zk://z1:2181/mesos', 'cannot be part of a comma list'],
    ['zk://z1:2181', 'needs the path'],
    ['zk://z1:2181/', 'path other than /'],
    ['zk://user@z1:2181/mesos', 'user:password@'],
    ['zk:///mesos', 'no ZooKeeper server'],
    ['http://m1:5050/?x=1', 'query or fragment'],
  ])('rejects %j: %s', (text, why) => {
    let error: unknown;
    try {
      parseMasterLocation(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain(`invalid Mesos master '${text}'`);
    expect(message).toContain(why);
    expect(message).toContain('expected host:port, http(s)://host:port, a comma-separated list of them, or zk://');
  });
});

describe('redirectTarget', () => {
  const from: MasterEndpoint = { scheme: 'https', host: 'm1', port: 443, basePath: '/mesos' };

  it('takes only host and port of a protocol-relative Location, keeping our scheme and path prefix', () => {
    expect(redirectTarget('//m2:5050/api/v1/scheduler', from)).toEqual({ scheme: 'https', host: 'm2', port: 5050, basePath: '/mesos' });
    expect(redirectTarget('http://m3:5051/master/api/v1/scheduler', from)).toEqual({ scheme: 'https', host: 'm3', port: 5051, basePath: '/mesos' });
    expect(redirectTarget('//[fe80::1]:5050/api/v1/scheduler', from)).toEqual({ scheme: 'https', host: 'fe80::1', port: 5050, basePath: '/mesos' });
  });

  it('gives nothing for a missing or unusable Location', () => {
    expect(redirectTarget(undefined, from)).toBeUndefined();
    expect(redirectTarget('  ', from)).toBeUndefined();
    expect(redirectTarget('mailto:x@y', from)).toBeUndefined();
  });
});

describe('parseMasterInfo (a master registration in ZooKeeper)', () => {
  const info = (o: object): Buffer => Buffer.from(JSON.stringify(o));

  it('prefers address.hostname, then address.ip, then hostname, then the network-order ip', () => {
    const base = { id: 'x', ip: 16777343, port: 5050 };
    expect(parseMasterInfo(info({ ...base, hostname: 'h', address: { hostname: 'a', ip: '10.0.0.1', port: 5051 } }), 'http')).toEqual(http('a', 5051));
    expect(parseMasterInfo(info({ ...base, hostname: 'h', address: { ip: '10.0.0.1', port: 5051 } }), 'http')).toEqual(http('10.0.0.1', 5051));
    expect(parseMasterInfo(info({ ...base, hostname: 'h' }), 'https')).toEqual({ scheme: 'https', host: 'h', port: 5050, basePath: '' });
    expect(parseMasterInfo(info(base), 'http')).toEqual(http('127.0.0.1', 5050));
  });

  it('says why a registration is unusable', () => {
    expect(parseMasterInfo(Buffer.from('\x08\x01'), 'http')).toMatch(/^not JSON/);
    expect(parseMasterInfo(info({ id: 'x', port: 5050 }), 'http')).toMatch(/names no host/);
    expect(parseMasterInfo(info({ id: 'x', hostname: 'h' }), 'http')).toMatch(/no valid port/);
  });
});

describe('backoffDelayMs', () => {
  const o = { backoffInitialMs: 1_000, backoffMaxMs: 15_000, backoffFactor: 2 };

  it('doubles from the initial delay up to the cap, with half of it random', () => {
    const low = [1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelayMs(n, { ...o, random: () => 0 }));
    const high = [1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelayMs(n, { ...o, random: () => 0.999999 }));
    expect(low).toEqual([500, 1_000, 2_000, 4_000, 7_500, 7_500, 7_500]);
    expect(high).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  });
});

describe('classifySubscribeAnswer', () => {
  const m = http('m1', 5050);
  const ctx = { encoding: 'protobuf' as const, principal: undefined };

  it.each([
    [503, 'next', 'no elected leader or is still recovering (503)'],
    [502, 'next', 'failed SUBSCRIBE with HTTP 502'],
    [401, 'refused', 'no credentials were given: give --mesos-principal and --mesos-secret-file'],
    [403, 'refused', "check the master's ACLs"],
    [400, 'refused', 'check the framework info'],
    [415, 'refused', 'does not accept Content-Type application/x-protobuf'],
    [406, 'refused', 'cannot answer in application/x-protobuf'],
    [404, 'refused', 'is it a Mesos master (1.0 or later)'],
    [307, 'next', 'without a usable Location header'],
  ])('%i → %s', (status, kind, text) => {
    const outcome = classifySubscribeAnswer(m, status, 'the reason', undefined, ctx);
    expect(outcome.kind).toBe(kind);
    expect((outcome as { problem: string }).problem).toContain(text);
    expect((outcome as { problem: string }).problem).toContain('master m1:5050');
  });

  it('names the principal whose credentials were rejected', () => {
    const outcome = classifySubscribeAnswer(m, 401, '', undefined, { ...ctx, principal: 'sluice' });
    expect(outcome).toEqual({ kind: 'refused', problem: "master m1:5050 rejected the credentials of principal 'sluice' (401): check --mesos-principal and the secret in --mesos-secret-file" });
  });
});
