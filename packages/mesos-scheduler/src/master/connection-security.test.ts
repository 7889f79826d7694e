/**
 * Credentials and TLS on the master connection: HTTP Basic on every request, https masters with a
 * CA made here by openssl, verification on by default, client certificates, bad options.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '@sluice/common';
import type { FrameworkInfo } from '@sluice/mesos-proto';
import { createMasterConnection, type HttpMasterConnection } from './connection.js';
import type { MasterConnectionOptions } from './options.js';
import { capturingLogger, makeCertificates, RecordingScheduler, TestingMesosMaster } from './testing-master.test-helper.js';

const FRAMEWORK: FrameworkInfo = { user: 'sluice', name: 'sluice-test', principal: 'sluice' };

const masters: TestingMesosMaster[] = [];
const connections: HttpMasterConnection[] = [];
let dir: string;
let certs: { caFile: string; certFile: string; keyFile: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-mesos-tls-'));
  certs = makeCertificates(dir);
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(masters.splice(0).map((m) => m.stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function connect(options: Partial<MasterConnectionOptions> & { master: string }) {
  const log = capturingLogger();
  const connection = createMasterConnection({ logger: log.logger, backoffInitialMs: 5, backoffMaxMs: 40, random: () => 0.5, ...options });
  connections.push(connection);
  const scheduler = new RecordingScheduler();
  connection.start(() => FRAMEWORK, scheduler);
  return { connection, scheduler, log };
}

async function start(tls?: Parameters<typeof TestingMesosMaster.start>[0]): Promise<TestingMesosMaster> {
  const m = await TestingMesosMaster.start(tls);
  masters.push(m);
  return m;
}

describe('credentials', () => {
  it('sends HTTP Basic credentials on SUBSCRIBE and on every call', async () => {
    const m = await start();
    const { connection, scheduler } = connect({ master: m.address, credentials: { principal: 'sluice', secret: 'pässword' } });
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    await connection.call({ type: 'REVIVE' });
    const expected = `Basic ${Buffer.from('sluice:pässword', 'utf8').toString('base64')}`;
    expect(m.requests.map((r) => r.headers.authorization)).toEqual([expected, expected]);
  });

  it('rejects unusable credentials at construction', () => {
    expect(() => createMasterConnection({ master: 'm1:5050', credentials: { principal: 'a:b', secret: 's' } })).toThrow(ConfigurationError);
    expect(() => createMasterConnection({ master: 'm1:5050', credentials: { principal: 'a', secret: '' } })).toThrow(/secret for principal 'a' is empty/);
  });
});

describe('TLS', () => {
  it('subscribes to an https master whose certificate the given CA signed, and sends calls over https', async () => {
    const m = await start({ keyFile: certs.keyFile, certFile: certs.certFile });
    const { connection, scheduler } = connect({ master: m.url, tls: { caFile: certs.caFile }, credentials: { principal: 'sluice', secret: 's' } });
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
    await connection.call({ type: 'REVIVE' });
    expect(m.calls()).toHaveLength(1);
    expect(m.calls()[0]?.headers.authorization).toMatch(/^Basic /);
  });

  it('reaches a bare host:port over https when a tls option is given', async () => {
    const m = await start({ keyFile: certs.keyFile, certFile: certs.certFile });
    const { scheduler } = connect({ master: m.address, tls: { caFile: certs.caFile } });
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
  });

  it('verifies the certificate by default: an unknown CA is a logged failure and a retry, never a subscription', async () => {
    const m = await start({ keyFile: certs.keyFile, certFile: certs.certFile });
    const { connection, log } = connect({ master: m.url });
    const line = await log.until(/cannot reach Mesos master .*; subscribing again in/);
    expect(line).toMatch(/certificate/);
    expect(m.requests).toEqual([]);
    expect(connection.state).toBe('subscribing');
  });

  it('can skip verification when told to', async () => {
    const m = await start({ keyFile: certs.keyFile, certFile: certs.certFile });
    const { scheduler } = connect({ master: m.url, tls: { rejectUnauthorized: false } });
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
  });

  it('presents a client certificate to a master that requires one', async () => {
    const m = await start({ keyFile: certs.keyFile, certFile: certs.certFile, caFile: certs.caFile, requestCert: true });
    const without = connect({ master: m.url, tls: { caFile: certs.caFile } });
    await without.log.until(/cannot reach Mesos master .*; subscribing again in/);
    await without.connection.close();
    expect(m.requests).toEqual([]);

    const { scheduler } = connect({ master: m.url, tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile } });
    await scheduler.until(() => scheduler.subscribed.length === 1, 'SUBSCRIBED');
  });

  it('rejects unreadable or incomplete TLS options at construction', () => {
    expect(() => createMasterConnection({ master: 'm1:5050', tls: { caFile: join(dir, 'missing.crt') } })).toThrow(/Mesos TLS CA file '.*missing\.crt' cannot be read/);
    expect(() => createMasterConnection({ master: 'm1:5050', tls: { certFile: certs.certFile } })).toThrow(/both certFile and keyFile/);
  });
});
