import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '@sluice/common';
import { TERMINAL_JOB_STATUSES, type CheckpointStatistics, type DispatcherGateway, type JobDetails, type JobOverview, type JobResult, type JobStatus, type JobSubmission, type StopMode } from '@sluice/protocol';
import { JobNotFoundError } from '../dispatcher/dispatcher.js';
import { createRestServer, RestPortInUseError, type RestServer, type RestServerOptions } from './rest-server.js';

const LAST_FAILURE = { checkpointId: 2, timestamp: 1500, reason: 'not complete after 600000 ms (checkpoint timeout)' };
const CHECKPOINTS = { completed: 3, failed: 1, inProgress: 0, lastFailure: LAST_FAILURE };

interface TestingJob {
  overview: JobOverview;
  result?: JobResult;
  details: JobDetails;
}

/**
 * A Dispatcher with scripted jobs. Savepoints wait until the test settles them, so a test can
 * see that the API answers only once the savepoint is complete.
 */
class TestingDispatcherGateway implements DispatcherGateway {
  readonly jobs = new Map<string, TestingJob>();
  readonly savepoints: { jobId: string; dir: string; stop: StopMode | undefined; resolve(path: string): void; reject(err: unknown): void }[] = [];
  readonly cancelled: string[] = [];
  failListWith: unknown;

  addJob(jobId: string, status: JobStatus, startTime: number, result?: Partial<JobResult>): void {
    const overview: JobOverview = { jobId, jobName: `job ${jobId}`, status, startTime };
    const job: TestingJob = { overview, details: { vertices: [], exceptions: [], exceptionsDropped: 0 } };
    if (TERMINAL_JOB_STATUSES.has(status)) {
      overview.endTime = startTime + 1000;
      job.result = { jobId, jobName: overview.jobName, status: status as JobResult['status'], durationMs: 1000, collected: { out: [1, 2, 3] }, operators: [], ...result };
    }
    this.jobs.set(jobId, job);
  }

  async submitJob(_s: JobSubmission): Promise<{ jobId: string }> {
    throw new Error('not used by the REST API');
  }
  async listJobs(): Promise<JobOverview[]> {
    if (this.failListWith !== undefined) throw this.failListWith;
    return [...this.jobs.values()].map((j) => ({ ...j.overview }));
  }
  async requestJobStatus(jobId: string): Promise<JobStatus> {
    return this.job(jobId).overview.status;
  }
  async cancelJob(jobId: string): Promise<void> {
    this.job(jobId).overview.status = 'CANCELLING';
    this.cancelled.push(jobId);
  }
  async requestJobResult(jobId: string): Promise<JobResult> {
    const r = this.job(jobId).result;
    if (r === undefined) throw new Error('the fake only answers for ended jobs');
    return r;
  }
  async requestCheckpointStatistics(jobId: string): Promise<CheckpointStatistics> {
    this.job(jobId);
    return { counts: { completed: 3, failed: 1, inProgress: 0 }, lastFailure: LAST_FAILURE, latest: { id: 4, path: `/ck/${jobId}/chk-4`, restored: false, durationMs: 40, sizeBytes: 2048, alignmentMs: 1, syncMs: 0.5, maxPauseMs: 2 } };
  }
  async requestJobDetails(jobId: string): Promise<JobDetails> {
    return this.job(jobId).details;
  }
  triggerSavepoint(jobId: string, dir: string, stop?: StopMode): Promise<{ path: string }> {
    const job = this.job(jobId);
    if (job.overview.status !== 'RUNNING') {
      return Promise.reject(new SluiceError('SAVEPOINT_NOT_POSSIBLE', `job ${jobId} is ${job.overview.status}; a savepoint needs a running job`));
    }
    return new Promise((resolve, reject) => this.savepoints.push({ jobId, dir, stop, resolve: (path) => resolve({ path }), reject }));
  }

  job(jobId: string): TestingJob {
    const j = this.jobs.get(jobId);
    if (j === undefined) throw new JobNotFoundError(jobId);
    return j;
  }
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** The token every server of this file is started with; `call` sends it unless told otherwise. */
const TOKEN = 'test-token-0123456789-abcdefghijklmnopqrstuvwxyz';

/** One HTTP exchange; `body` a string is sent as is, anything else as JSON. */
function call(base: string, method: string, path: string, body?: unknown, options: { agent?: Agent; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(new URL(path, base), { method, ...(options.agent === undefined ? {} : { agent: options.agent }), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...options.headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data === '' ? undefined : JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const servers: RestServer[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const a of agents.splice(0)) a.destroy();
});

async function start(dispatcher: DispatcherGateway, options: Partial<RestServerOptions> = {}): Promise<RestServer> {
  const server = await createRestServer({ dispatcher, port: 0, token: TOKEN, ...options });
  servers.push(server);
  return server;
}

function fixture(): TestingDispatcherGateway {
  const d = new TestingDispatcherGateway();
  d.addJob('b2', 'RUNNING', 2000);
  d.addJob('a1', 'FINISHED', 1000, { error: { name: 'E', code: 'X', message: 'm', stack: 'E: m\n at /srv/x.js:1' }, restarts: 2, lastCheckpoint: { id: 7, path: '/chk/7', durationMs: 12, bytes: 345, maxPauseMs: 1 }, checkpoints: { completed: 3, failed: 1, lastFailure: LAST_FAILURE } });
  return d;
}

const until = async (what: string, cond: () => boolean): Promise<void> => {
  // Generous: only a hang should fail a wait, however busy the machine.
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('REST API', () => {
  it('binds loopback on a free port and lists jobs oldest first', async () => {
    const server = await start(fixture());
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    const r = await call(server.url, 'GET', '/jobs');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.body).toEqual({
      jobs: [
        { jobId: 'a1', jobName: 'job a1', status: 'FINISHED', startTime: 1000, endTime: 2000 },
        { jobId: 'b2', jobName: 'job b2', status: 'RUNNING', startTime: 2000 },
      ],
    });
    expect((await call(server.url, 'GET', '/jobs/?x=1')).body).toEqual(r.body);
  });

  it('describes one job, with its result (no collected records, no stacks) once it has ended', async () => {
    const server = await start(fixture());
    expect((await call(server.url, 'GET', '/jobs/b2')).body).toEqual({ jobId: 'b2', jobName: 'job b2', status: 'RUNNING', startTime: 2000, checkpoints: CHECKPOINTS, exceptions: [] });
    const done = await call(server.url, 'GET', '/jobs/a1');
    expect(done.status).toBe(200);
    expect(done.body).toEqual({
      jobId: 'a1',
      jobName: 'job a1',
      status: 'FINISHED',
      startTime: 1000,
      endTime: 2000,
      checkpoints: CHECKPOINTS,
      exceptions: [],
      result: {
        status: 'FINISHED',
        durationMs: 1000,
        operators: [],
        error: { name: 'E', code: 'X', message: 'm' },
        restarts: 2,
        lastCheckpoint: { id: 7, path: '/chk/7', durationMs: 12, bytes: 345, maxPauseMs: 1 },
        checkpoints: { completed: 3, failed: 1, lastFailure: LAST_FAILURE },
      },
    });
  });

  it("describes a job's vertices and its exceptions history, as the Dispatcher reports them", async () => {
    const d = fixture();
    const vertices = [
      { id: 'v1', name: 'Source: numbers -> Map', parallelism: 2, subtasks: { RUNNING: 1, DEPLOYING: 1 }, recordsIn: 1200, recordsOut: 1150, backpressure: 0.25 },
      { id: 'v2', name: 'Sink: print', parallelism: 1, subtasks: { RUNNING: 1 }, recordsIn: 1100, recordsOut: 1100 },
    ];
    const restart = { timestamp: 1500, code: 'USER_FUNCTION', message: 'boom', vertexId: 'v1', vertexName: 'Source: numbers -> Map', subtask: 1, taskManager: 'tm-2' };
    d.job('b2').details = { vertices, exceptions: [restart], exceptionsDropped: 0 };
    d.job('a1').details = { vertices, exceptions: [restart, { timestamp: 1900, code: 'TASK_MANAGER_LOST', message: 'lost' }], exceptionsDropped: 3 };
    const server = await start(d);
    expect((await call(server.url, 'GET', '/jobs/b2')).body).toEqual({ jobId: 'b2', jobName: 'job b2', status: 'RUNNING', startTime: 2000, checkpoints: CHECKPOINTS, vertices, exceptions: [restart] });
    expect((await call(server.url, 'GET', '/jobs/a1')).body).toMatchObject({
      status: 'FINISHED',
      vertices,
      exceptions: [restart, { timestamp: 1900, code: 'TASK_MANAGER_LOST', message: 'lost' }],
      exceptionsDropped: 3,
      result: { status: 'FINISHED' },
    });
  });

  it('answers 404 for unknown jobs and routes, 405 for a wrong method', async () => {
    const server = await start(fixture());
    const unknown = await call(server.url, 'GET', '/jobs/nope');
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'JOB_NOT_FOUND', message: expect.stringContaining("no job with id 'nope'") } } });
    for (const [method, path] of [['POST', '/jobs/nope/cancel'], ['POST', '/jobs/nope/savepoints']] as const) {
      const r = await call(server.url, method, path, method === 'POST' && path.endsWith('savepoints') ? { targetDirectory: '/sp' } : undefined);
      expect(r.status).toBe(404);
    }
    const route = await call(server.url, 'GET', '/nope');
    expect(route.status).toBe(404);
    expect(route.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringMatching(/^no such resource: \/nope; this API serves GET \/healthz, .*GET \/jobs, POST \/jobs, GET \/jobs\/:jobId, GET \/jobs\/:jobId\/checkpoints, POST/) } });
    expect((await call(server.url, 'GET', '/jobs/a1/savepoints/extra')).status).toBe(404);
    const wrong = await call(server.url, 'DELETE', '/jobs/a1');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET');
    expect(wrong.body).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: 'method DELETE is not allowed on /jobs/a1; use GET' } });
    expect((await call(server.url, 'GET', '/jobs/b2/stop')).status).toBe(405);
  });

  it('answers a savepoint request only when the savepoint is complete', async () => {
    const d = fixture();
    const server = await start(d);
    let answered = false;
    const reply = call(server.url, 'POST', '/jobs/b2/savepoints', { targetDirectory: '/var/sp' }).finally(() => (answered = true));
    await until('the savepoint to be triggered', () => d.savepoints.length === 1);
    expect(d.savepoints[0]).toMatchObject({ jobId: 'b2', dir: '/var/sp', stop: undefined });
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    d.savepoints[0]!.resolve('/var/sp/savepoint-b2-1');
    expect(await reply).toMatchObject({ status: 200, body: { path: '/var/sp/savepoint-b2-1' } });
  });

  it('stops a job with a savepoint, draining only when asked', async () => {
    const d = fixture();
    const server = await start(d);
    const bodies = [{ targetDirectory: '/sp' }, { targetDirectory: '/sp', drain: false }, { targetDirectory: '/sp', drain: true }];
    const replies = bodies.map((b) => call(server.url, 'POST', '/jobs/b2/stop', b));
    await until('three stop requests', () => d.savepoints.length === 3);
    expect(d.savepoints.map((s) => s.stop).sort()).toEqual(['drain', 'terminate', 'terminate']);
    d.savepoints.forEach((s, i) => s.resolve(`/sp/p${i}`));
    for (const r of await Promise.all(replies)) expect(r.status).toBe(200);
  });

  it('cancels a running job (202) and refuses ended ones (409)', async () => {
    const d = fixture();
    const server = await start(d);
    expect(await call(server.url, 'POST', '/jobs/b2/cancel')).toMatchObject({ status: 202, body: { jobId: 'b2', status: 'CANCELLING' } });
    expect(await call(server.url, 'POST', '/jobs/b2/cancel', {})).toMatchObject({ status: 202 });
    expect(d.cancelled).toEqual(['b2', 'b2']);
    const ended = await call(server.url, 'POST', '/jobs/a1/cancel');
    expect(ended).toEqual(expect.objectContaining({ status: 409, body: { error: { code: 'JOB_NOT_RUNNING', message: 'job a1 has already ended (FINISHED); there is nothing to cancel' } } }));
    expect((await call(server.url, 'POST', '/jobs/b2/cancel', { force: true })).status).toBe(400);
  });

  it('serves a job\'s checkpoint statistics, and 404 for an unknown job', async () => {
    const server = await start(fixture());
    expect(await call(server.url, 'GET', '/jobs/b2/checkpoints')).toMatchObject({
      status: 200,
      body: { jobId: 'b2', counts: { completed: 3, failed: 1, inProgress: 0 }, latest: { id: 4, path: '/ck/b2/chk-4', restored: false, sizeBytes: 2048 } },
    });
    expect((await call(server.url, 'GET', '/jobs/nope/checkpoints')).status).toBe(404);
    expect((await call(server.url, 'POST', '/jobs/b2/checkpoints')).status).toBe(405);
  });

  it('answers 400 when the savepoint directory cannot be written', async () => {
    const d = fixture();
    const server = await start(d);
    const reply = call(server.url, 'POST', '/jobs/b2/stop', { targetDirectory: '/etc/passwd/sp' });
    await until('the stop request', () => d.savepoints.length === 1);
    d.savepoints[0]!.reject(new SluiceError('SAVEPOINT_TARGET', 'savepoint directory /etc/passwd/sp cannot be written (ENOTDIR)'));
    expect(await reply).toMatchObject({ status: 400, body: { error: { code: 'SAVEPOINT_TARGET', message: expect.stringContaining('cannot be written') } } });
  });

  it('answers 409 when a savepoint is asked of a job that is not running', async () => {
    const server = await start(fixture());
    const r = await call(server.url, 'POST', '/jobs/a1/savepoints', { targetDirectory: '/sp' });
    expect(r).toMatchObject({ status: 409, body: { error: { code: 'SAVEPOINT_NOT_POSSIBLE', message: 'job a1 is FINISHED; a savepoint needs a running job' } } });
    expect((await call(server.url, 'POST', '/jobs/a1/stop', { targetDirectory: '/sp', drain: true })).status).toBe(409);
  });

  it.each<[string, string, unknown, string]>([
    ['malformed JSON', '/jobs/b2/savepoints', '{"targetDirectory": ', 'request body is not valid JSON ('],
    ['no body', '/jobs/b2/savepoints', undefined, 'POST /jobs/:id/savepoints needs a JSON body such as {"targetDirectory": "/var/savepoints"}'],
    ['an array', '/jobs/b2/savepoints', [], 'the body of POST /jobs/:id/savepoints must be a JSON object such as {"targetDirectory": "/var/savepoints"}, got an array'],
    ['a string', '/jobs/b2/stop', '"/sp"', 'the body of POST /jobs/:id/stop must be a JSON object such as {"targetDirectory": "/var/savepoints", "drain": false}, got the string "/sp"'],
    ['a missing field', '/jobs/b2/savepoints', {}, "missing field 'targetDirectory': the directory to write the savepoint into, e.g. {\"targetDirectory\": \"/var/savepoints\"}"],
    ['an unknown field', '/jobs/b2/savepoints', { targetDirectory: '/sp', drain: true }, "unknown field 'drain' in the body of POST /jobs/:id/savepoints; known fields: targetDirectory"],
    ['a misspelt field', '/jobs/b2/stop', { targetDir: '/sp' }, "unknown field 'targetDir' in the body of POST /jobs/:id/stop; known fields: targetDirectory, drain"],
    ['a number for a path', '/jobs/b2/savepoints', { targetDirectory: 5 }, "field 'targetDirectory' must be a non-empty string, got number 5"],
    ['an empty path', '/jobs/b2/stop', { targetDirectory: ' ' }, "field 'targetDirectory' must be a non-empty string, got the string \" \""],
    ['a relative path', '/jobs/b2/savepoints', { targetDirectory: 'sp' }, "field 'targetDirectory' must be an absolute path (a relative one would depend on the server's working directory), got 'sp'"],
    ['a string for drain', '/jobs/b2/stop', { targetDirectory: '/sp', drain: 'yes' }, "field 'drain' must be true or false, got the string \"yes\""],
    ['a body for cancel', '/jobs/b2/cancel', [1], 'the body of POST /jobs/:id/cancel must be a JSON object such as {}, got an array'],
  ])('answers 400 naming the problem for %s', async (_what, path, body, message) => {
    const d = fixture();
    const server = await start(d);
    const r = await call(server.url, 'POST', path, body);
    expect(r.status).toBe(400);
    expect((r.body as { error: { code: string; message: string } }).error.code).toBe('BAD_REQUEST');
    expect((r.body as { error: { message: string } }).error.message.startsWith(message)).toBe(true);
    expect(d.savepoints).toHaveLength(0);
    expect(d.cancelled).toHaveLength(0);
  });

  it('refuses bodies over the limit (413), announced or streamed', async () => {
    const server = await start(fixture(), { maxBodyBytes: 1024 });
    const announced = await call(server.url, 'POST', '/jobs/b2/savepoints', JSON.stringify({ targetDirectory: `/${'x'.repeat(2000)}` }));
    expect(announced).toMatchObject({ status: 413, body: { error: { code: 'BODY_TOO_LARGE', message: "request body larger than 1024 bytes; the API's bodies are small JSON objects" } } });
    // Chunked, no length announced: the server counts and answers before the client is done.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(new URL('/jobs/b2/stop', server.url), { method: 'POST', headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('x'.repeat(4096));
    });
    expect(streamed).toBe(413);
  });

  it('answers 503 when a JobMaster or the leader cannot be reached, and 500 with the message of an unexpected error', async () => {
    const d = fixture();
    d.failListWith = new SluiceError('JOB_MASTER_UNREACHABLE', 'cannot ask job b2 for its status: gone');
    const server = await start(d);
    expect(await call(server.url, 'GET', '/jobs')).toMatchObject({ status: 503, body: { error: { code: 'JOB_MASTER_UNREACHABLE', message: 'cannot ask job b2 for its status: gone' } } });
    // High availability: an election in progress, a leader out of reach or one that just lost its term.
    for (const code of ['NO_LEADER', 'LEADER_UNREACHABLE', 'DISPATCHER_SUSPENDED', 'DISPATCHER_NOT_RUNNING']) {
      d.failListWith = new SluiceError(code, `passing: ${code}`, { retriable: true });
      expect(await call(server.url, 'GET', '/jobs')).toMatchObject({ status: 503, body: { error: { code, message: `passing: ${code}` } } });
    }
    d.failListWith = new TypeError('x is not a function');
    expect(await call(server.url, 'GET', '/jobs')).toMatchObject({ status: 500, body: { error: { code: 'INTERNAL', message: 'x is not a function' } } });
  });

  it('closes keep-alive connections on close()', async () => {
    const server = await start(fixture());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    const first = await call(server.url, 'GET', '/jobs', undefined, { agent });
    expect(first.headers.connection).toBe('keep-alive');
    const socket = Object.values(agent.freeSockets).flat()[0];
    expect(socket).toBeDefined();
    const socketClosed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
    const t0 = Date.now();
    await server.close();
    await socketClosed;
    // Left alone, the idle connection would close at Node's 5 s keep-alive timeout; the bound is
    // far above what closing it takes, even on a busy machine, and still below that.
    expect(Date.now() - t0).toBeLessThan(4_000);
    await expect(call(server.url, 'GET', '/jobs')).rejects.toThrow(/ECONNREFUSED/);
    await server.close(); // idempotent
  });

  it('lets a request in flight finish when closing, within the grace period', async () => {
    const d = fixture();
    // A grace period no busy machine exhausts before the answer 50 ms into it.
    const server = await start(d, { closeGraceMs: 60_000 });
    const reply = call(server.url, 'POST', '/jobs/b2/stop', { targetDirectory: '/sp' });
    await until('the stop request', () => d.savepoints.length === 1);
    const closed = server.close();
    setTimeout(() => d.savepoints[0]!.resolve('/sp/final'), 50);
    const r = await reply;
    expect(r).toMatchObject({ status: 200, body: { path: '/sp/final' } });
    expect(r.headers.connection).toBe('close');
    await closed;
  });

  it('drops a request still in flight after the grace period', async () => {
    const d = fixture();
    const server = await start(d, { closeGraceMs: 100 });
    const reply = call(server.url, 'POST', '/jobs/b2/savepoints', { targetDirectory: '/sp' });
    await until('the savepoint request', () => d.savepoints.length === 1);
    const t0 = Date.now();
    await server.close();
    // The savepoint never completes: only the 100 ms grace period ends close(). Generous, for a
    // busy machine, yet it catches a close() that waits for the request.
    expect(Date.now() - t0).toBeLessThan(15_000);
    await expect(reply).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('fails with REST_PORT_IN_USE when the port is taken', async () => {
    const blocker: Server = createTcpServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await createRestServer({ dispatcher: fixture(), port }).then(
        (s) => {
          servers.push(s);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RestPortInUseError);
      expect((err as RestPortInUseError).code).toBe('REST_PORT_IN_USE');
      expect((err as Error).message).toBe(`the REST API cannot listen on 127.0.0.1:${port}: the port is already in use; choose another port, or 0 for any free port`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('serves the job defaults at GET /config, only with the token even on loopback, and {} without any', async () => {
    const jobDefaults = { parallelism: 4, checkpointDir: '/mnt/ck', checkpointIntervalMs: 10_000, params: { bootstrap: 'kafka-1:9092', password: 'p=w' } };
    const server = await start(fixture(), { jobDefaults });
    expect(await call(server.url, 'GET', '/config')).toMatchObject({ status: 200, body: { jobDefaults } });
    // -D values may be credentials: unlike other reads on loopback, this one wants the token.
    const without = await call(server.url, 'GET', '/config', undefined, { headers: { authorization: '' } });
    expect(without).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    expect((await call(server.url, 'GET', '/jobs', undefined, { headers: { authorization: '' } })).status).toBe(200);
    const bare = await start(fixture());
    expect(await call(bare.url, 'GET', '/config')).toMatchObject({ status: 200, body: { jobDefaults: {} } });
    expect((await call(bare.url, 'POST', '/config', {})).status).toBe(405);
  });

  it('rejects invalid options', async () => {
    await expect(createRestServer({ dispatcher: fixture(), port: 70000 })).rejects.toThrow('REST API: port must be an integer in 0..65535 (0 = any free port), got 70000');
    await expect(createRestServer({ dispatcher: fixture(), port: 0, maxBodyBytes: 0 })).rejects.toThrow('REST API: maxBodyBytes must be a positive integer, got 0');
    const bad: [NonNullable<RestServerOptions['jobDefaults']>, string][] = [
      [{ parallelism: 0 }, 'REST API: job default parallelism must be a positive integer, got 0'],
      [{ parallelism: 1.5 }, 'REST API: job default parallelism must be a positive integer, got 1.5'],
      [{ checkpointDir: 'ck' }, 'REST API: job default checkpointDir must be an absolute path (the cluster resolves no relative one), got "ck"'],
      [{ checkpointIntervalMs: -1 }, 'REST API: job default checkpointIntervalMs must be a whole number of milliseconds ≥ 0 (0: no checkpoints), got -1'],
      [{ params: { '': 'x' } }, `REST API: job default params must be keys that are not empty and hold no '=', got ""`],
      [{ params: { a: 1 as unknown as string } }, 'REST API: job default params.a must be a string, got 1'],
    ];
    for (const [jobDefaults, message] of bad) await expect(createRestServer({ dispatcher: fixture(), port: 0, jobDefaults })).rejects.toThrow(message);
  });
});
