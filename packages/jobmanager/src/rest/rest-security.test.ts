/**
 * The REST server's defences, over real HTTP on loopback: Host and Origin checks (403), the
 * JSON content type of POSTs (415), the bearer token of POSTs (401), '..' in savepoint targets
 * and the allowed savepoint roots (400). Each refusal leaves the job as it was.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '@sluice/common';
import type { CheckpointStatistics, DispatcherGateway, JobDetails, JobOverview, JobResult, JobStatus, StopMode } from '@sluice/protocol';
import { JobNotFoundError } from '../dispatcher/dispatcher.js';
import { createRestServer, type RestServer, type RestServerOptions } from './rest-server.js';

/** One running job; records what it was asked to do. Savepoints complete at once. */
class TestingDispatcherGateway implements DispatcherGateway {
  status: JobStatus = 'RUNNING';
  readonly savepoints: { dir: string; stop: StopMode | undefined }[] = [];
  async submitJob(): Promise<{ jobId: string }> {
    throw new Error('not used by the REST API');
  }
  async listJobs(): Promise<JobOverview[]> {
    return [{ jobId: 'j1', jobName: 'counts', status: this.status, startTime: 1000 }];
  }
  async requestJobStatus(jobId: string): Promise<JobStatus> {
    if (jobId !== 'j1') throw new JobNotFoundError(jobId);
    return this.status;
  }
  async cancelJob(jobId: string): Promise<void> {
    await this.requestJobStatus(jobId);
    this.status = 'CANCELLING';
  }
  async requestJobResult(): Promise<JobResult> {
    throw new Error('the job is running');
  }
  async requestCheckpointStatistics(): Promise<CheckpointStatistics> {
    return { counts: { completed: 0, failed: 0, inProgress: 0 } };
  }
  async requestJobDetails(): Promise<JobDetails> {
    return { vertices: [], exceptions: [], exceptionsDropped: 0 };
  }
  async triggerSavepoint(jobId: string, dir: string, stop?: StopMode): Promise<{ path: string }> {
    await this.requestJobStatus(jobId);
    this.savepoints.push({ dir, stop });
    return { path: join(dir, 'savepoint-1') };
  }
}

const TOKEN = 'Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtb2YtdG9rZW4';
const JSON_TYPE = { 'content-type': 'application/json' };
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** One exchange with exactly these headers (and Host unless `host` is null: then none at all). */
function send(server: RestServer, method: string, path: string, headers: Record<string, string>, body?: string, host?: string | null): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const all = host === undefined || host === null ? headers : { ...headers, host };
    const req = request(new URL(path, server.url), { method, headers: all, setHost: host !== null, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(data) as Reply['body'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const servers: RestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(options: Partial<RestServerOptions> = {}): Promise<{ d: TestingDispatcherGateway; server: RestServer }> {
  const d = new TestingDispatcherGateway();
  const server = await createRestServer({ dispatcher: d, port: 0, token: TOKEN, ...options });
  servers.push(server);
  return { d, server };
}

describe('requests from browsers', () => {
  it('refuses a cross-origin simple request (text/plain, Origin of another site) and leaves the job running', async () => {
    const { d, server } = await start();
    // What a form-less fetch(…, {method: 'POST', mode: 'no-cors', body: '{}'}) from another site sends.
    const headers = { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };
    const cancel = await send(server, 'POST', '/jobs/j1/cancel', headers, '{}');
    expect(cancel.status).toBe(403);
    expect(cancel.body.error?.code).toBe('FORBIDDEN_ORIGIN');
    expect(cancel.body.error?.message).toMatch(/^cross-origin request from 'https:\/\/evil\.example' refused/);
    const savepoint = await send(server, 'POST', '/jobs/j1/stop', headers, '{"targetDirectory": "/tmp/sp"}');
    expect(savepoint.status).toBe(403);
    // Even with the token (a page cannot have it, but the Origin alone decides) and on GETs.
    expect((await send(server, 'POST', '/jobs/j1/cancel', { ...JSON_TYPE, ...AUTH, origin: 'http://localhost:3000' }, '{}')).status).toBe(403);
    expect((await send(server, 'GET', '/jobs', { origin: 'https://evil.example' })).status).toBe(403);
    expect(d.status).toBe('RUNNING');
    expect(d.savepoints).toEqual([]);
    // No CORS headers, ever.
    expect(Object.keys(cancel.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('logs a warning for the first refusal of each kind only', async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields)}`), child: () => logger };
    const { server } = await start({ logger });
    for (let i = 0; i < 3; i++) await send(server, 'POST', '/jobs/j1/cancel', { 'content-type': 'text/plain', origin: 'https://evil.example' }, '{}');
    await send(server, 'POST', '/jobs/j1/cancel', JSON_TYPE, '{}');
    expect(warnings).toEqual([
      'refused POST /jobs/j1/cancel (Origin https://evil.example) with 403; further refusals of this kind are not logged {"code":"FORBIDDEN_ORIGIN"}',
      'refused POST /jobs/j1/cancel with 401; further refusals of this kind are not logged {"code":"UNAUTHORIZED"}',
    ]);
  });

  it('answers its own origin', async () => {
    const { d, server } = await start();
    const own = await send(server, 'POST', '/jobs/j1/cancel', { ...JSON_TYPE, ...AUTH, origin: server.url }, '{}');
    expect(own.status).toBe(202);
    expect(d.status).toBe('CANCELLING');
  });

  it.each<[string, Record<string, string>, string | undefined]>([
    ['a form-encoded body', { 'content-type': 'application/x-www-form-urlencoded' }, 'targetDirectory=%2Ftmp%2Fsp'],
    ['a text/plain body holding JSON', { 'content-type': 'text/plain' }, '{"targetDirectory": "/tmp/sp"}'],
    ['a multipart body', { 'content-type': 'multipart/form-data; boundary=b' }, '--b--'],
    ['no content type', {}, '{"targetDirectory": "/tmp/sp"}'],
  ])('refuses %s with 415, token or not', async (_what, type, body) => {
    const { d, server } = await start();
    for (const path of ['/jobs/j1/savepoints', '/jobs/j1/stop', '/jobs/j1/cancel']) {
      const r = await send(server, 'POST', path, { ...type, ...AUTH }, path.endsWith('cancel') ? undefined : body);
      expect(r.status).toBe(415);
      expect(r.body.error?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(r.body.error?.message).toMatch(/^POST requests need 'Content-Type: application\/json' \(UTF-8\), even with an empty body; got /);
    }
    expect(d.status).toBe('RUNNING');
    expect(d.savepoints).toEqual([]);
  });

  it('takes JSON with a charset, and an empty cancel body with the JSON type', async () => {
    const { d, server } = await start();
    const r = await send(server, 'POST', '/jobs/j1/savepoints', { 'content-type': 'application/json; charset=utf-8', ...AUTH }, '{"targetDirectory": "/tmp/sp"}');
    expect(r.status).toBe(200);
    expect((await send(server, 'POST', '/jobs/j1/cancel', { ...JSON_TYPE, ...AUTH })).status).toBe(202);
    expect(d.status).toBe('CANCELLING');
  });
});

describe('the Host header', () => {
  it('refuses a rebinding Host with 403 on every route, naming it and how to allow it', async () => {
    const { d, server } = await start();
    const host = `evil.example:${server.port}`;
    const get = await send(server, 'GET', '/jobs', {}, undefined, host);
    expect(get.status).toBe(403);
    expect(get.body.error).toEqual({
      code: 'FORBIDDEN_HOST',
      message: expect.stringMatching(new RegExp(`^Host '${host}' refused: this API answers to 127\\.0\\.0\\.1:${server.port}, localhost:${server.port}, \\[::1\\]:${server.port}, .* --rest-allowed-host ${host}`)),
    });
    expect((await send(server, 'POST', '/jobs/j1/cancel', { ...JSON_TYPE, ...AUTH }, '{}', host)).status).toBe(403);
    expect((await send(server, 'GET', '/no/such/route', {}, undefined, host)).status).toBe(403);
    expect(d.status).toBe('RUNNING');
  });

  it('refuses a request without Host with a JSON 403', async () => {
    const { server } = await start();
    const r = await send(server, 'GET', '/jobs', {}, undefined, null);
    expect(r.status).toBe(403);
    expect(r.body.error?.message).toMatch(/^request without a Host header refused/);
  });

  it('answers the loopback names and configured ones', async () => {
    const { server } = await start({ allowedHosts: ['devbox', 'tunnel:9000'] });
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`, `devbox:${server.port}`, 'tunnel:9000']) {
      expect((await send(server, 'GET', '/jobs', {}, undefined, host)).status).toBe(200);
    }
    expect((await send(server, 'GET', '/jobs', {}, undefined, 'tunnel:9001')).status).toBe(403);
  });
});

describe('the bearer token', () => {
  it('is needed by POSTs: none or a wrong one → 401 with WWW-Authenticate, the right one works', async () => {
    const { d, server } = await start({ tokenHint: (port) => `it is in /home/u/.sluice/rest-${port}.token` });
    const none = await send(server, 'POST', '/jobs/j1/cancel', JSON_TYPE, '{}');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="sluice"');
    expect(none.body.error).toEqual({
      code: 'UNAUTHORIZED',
      message: `missing bearer token: POST requests need 'Authorization: Bearer <token>'; it is in /home/u/.sluice/rest-${server.port}.token`,
    });
    const wrong = await send(server, 'POST', '/jobs/j1/stop', { ...JSON_TYPE, authorization: `Bearer ${TOKEN.slice(1)}x` }, '{"targetDirectory": "/tmp/sp"}');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error?.message).toMatch(/^wrong bearer token; it is in /);
    expect(d.status).toBe('RUNNING');
    expect(d.savepoints).toEqual([]);
    expect((await send(server, 'POST', '/jobs/j1/stop', { ...JSON_TYPE, ...AUTH }, '{"targetDirectory": "/tmp/sp"}')).status).toBe(200);
    expect(d.savepoints).toEqual([{ dir: '/tmp/sp', stop: 'terminate' }]);
  });

  it('is not needed by GETs', async () => {
    const { server } = await start();
    expect((await send(server, 'GET', '/jobs/j1', {})).status).toBe(200);
    expect((await send(server, 'GET', '/jobs/j1/checkpoints', {})).status).toBe(200);
  });

  it('is generated when none is given: 32 random bytes in base64url, different per server', async () => {
    const d = new TestingDispatcherGateway();
    const a = await createRestServer({ dispatcher: d, port: 0 });
    const b = await createRestServer({ dispatcher: d, port: 0 });
    servers.push(a, b);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.token).not.toBe(a.token);
    expect((await send(a, 'POST', '/jobs/j1/cancel', { ...JSON_TYPE, authorization: `Bearer ${b.token}` })).status).toBe(401);
    expect((await send(a, 'POST', '/jobs/j1/cancel', { ...JSON_TYPE, authorization: `Bearer ${a.token}` })).status).toBe(202);
  });

  it('refuses weak tokens and invalid options at start', async () => {
    const d = new TestingDispatcherGateway();
    await expect(createRestServer({ dispatcher: d, port: 0, token: 'secret' })).rejects.toThrow(/^REST API: token must be 32 to 512 characters/);
    await expect(createRestServer({ dispatcher: d, port: 0, allowedHosts: ['http://x'] })).rejects.toThrow("invalid allowed host 'http://x'");
    await expect(createRestServer({ dispatcher: d, port: 0, savepointRoots: ['sp'] })).rejects.toThrow("REST API: savepoint root 'sp' must be an absolute path");
  });
});

describe('savepoint targets', () => {
  let scratch = '';
  beforeAll(() => {
    scratch = realpathSync(mkdtempSync(join(tmpdir(), 'sluice-rest-roots-')));
    mkdirSync(join(scratch, 'root'));
    mkdirSync(join(scratch, 'outside'));
    symlinkSync(join(scratch, 'outside'), join(scratch, 'root', 'escape'));
    symlinkSync(join(scratch, 'nowhere'), join(scratch, 'root', 'dangling'));
    symlinkSync(join(scratch, 'root'), join(scratch, 'root-link'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const post = (server: RestServer, route: 'savepoints' | 'stop', dir: string): Promise<Reply> =>
    send(server, 'POST', `/jobs/j1/${route}`, { ...JSON_TYPE, ...AUTH }, JSON.stringify({ targetDirectory: dir }));

  it("refuses '..' segments as sent, without roots too", async () => {
    const { d, server } = await start();
    for (const route of ['savepoints', 'stop'] as const) {
      const r = await post(server, route, '/tmp/x/../../../etc/sluice-sp');
      expect(r.status).toBe(400);
      expect(r.body.error).toEqual({ code: 'SAVEPOINT_TARGET', message: "field 'targetDirectory' must not contain '..' segments, got '/tmp/x/../../../etc/sluice-sp'; send the directory as an absolute path without '..'" });
    }
    expect(d.savepoints).toEqual([]);
    expect(d.status).toBe('RUNNING');
  });

  it('confines targets to the allowed roots, symlinks resolved, and hands on the resolved path', async () => {
    const root = join(scratch, 'root');
    const { d, server } = await start({ savepointRoots: [join(scratch, 'root-link'), '/nonexistent/other'] });
    expect(await post(server, 'savepoints', join(root, 'sp', 'new'))).toMatchObject({ status: 200 });
    expect(await post(server, 'savepoints', root)).toMatchObject({ status: 200 });
    // Through the root's own symlink: the same place.
    expect(await post(server, 'savepoints', join(scratch, 'root-link', 'sp'))).toMatchObject({ status: 200 });
    expect(d.savepoints.map((s) => s.dir)).toEqual([join(root, 'sp', 'new'), root, join(root, 'sp')]);

    const outside = await post(server, 'stop', join(scratch, 'outside', 'sp'));
    expect(outside.status).toBe(400);
    expect(outside.body.error).toEqual({
      code: 'SAVEPOINT_TARGET',
      message: `savepoint directory ${join(scratch, 'outside', 'sp')} is outside the allowed savepoint roots; choose a directory inside ${join(scratch, 'root-link')}, /nonexistent/other`,
    });
    const escape = await post(server, 'stop', join(root, 'escape', 'sp'));
    expect(escape.status).toBe(400);
    expect(escape.body.error?.message).toBe(
      `savepoint directory ${join(root, 'escape', 'sp')} is outside the allowed savepoint roots (it resolves to ${join(scratch, 'outside', 'sp')}); choose a directory inside ${join(scratch, 'root-link')}, /nonexistent/other`,
    );
    // A prefix is not a parent: root-other is not inside root.
    expect((await post(server, 'savepoints', `${root}-other/sp`)).status).toBe(400);
    // A dangling symlink: where it points could be created later, outside.
    const dangling = await post(server, 'savepoints', join(root, 'dangling', 'sp'));
    expect(dangling).toMatchObject({ status: 400, body: { error: { code: 'SAVEPOINT_TARGET', message: expect.stringMatching(/cannot be resolved \(ENOENT/) } } });
    expect(d.savepoints).toHaveLength(3);
    expect(d.status).toBe('RUNNING');
  });
});
