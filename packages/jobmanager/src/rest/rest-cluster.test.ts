/**
 * The REST routes a cluster adds: health, OpenAPI, overview and TaskManagers, bundle upload and
 * download, job submission. The Dispatcher is a recording one that validates as the real one
 * does; the bundle store is real.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DispatcherGateway, JobGraph, JobSubmission, ResourceManagerGateway, TaskManagerInfo } from '@sluice/protocol';
import { DEFAULT_JOB_CONFIG } from '@sluice/protocol';
import { ArtifactStore } from '../artifacts/artifact-store.js';
import { validateSubmission } from '../dispatcher/validate-submission.js';
import { ROUTES } from './routes.js';
import { createRestServer, resolveRestServerOptions, type RestServer, type RestServerOptions } from './rest-server.js';

const TOKEN = 'a'.repeat(43);
const BUNDLE = Buffer.from('export default function build(env) { env.fromElements([1, 2, 3]).print(); }\n');
const BUNDLE_ID = createHash('sha256').update(BUNDLE).digest('hex');

const GRAPH: JobGraph = {
  jobName: 'three numbers',
  vertices: [{ id: 'v1', name: 'Source', parallelism: 1, maxParallelism: 128, operators: [{ nodeId: 1, name: 'Source', kind: 'source' }], isSource: true, isSink: true }],
  edges: [],
  config: { ...DEFAULT_JOB_CONFIG },
};

function recordingDispatcher(submitted: JobSubmission[]): DispatcherGateway {
  const unused = async (): Promise<never> => {
    throw new Error('not used here');
  };
  return {
    async submitJob(s) {
      submitted.push(validateSubmission(s));
      return { jobId: s.jobId };
    },
    listJobs: async () => [
      { jobId: 'j1', jobName: 'a', status: 'RUNNING', startTime: 1 },
      { jobId: 'j2', jobName: 'b', status: 'FINISHED', startTime: 2, endTime: 3 },
      { jobId: 'j3', jobName: 'c', status: 'RUNNING', startTime: 4 },
    ],
    requestJobStatus: unused,
    cancelJob: unused,
    requestJobResult: unused,
    triggerSavepoint: unused,
    requestCheckpointStatistics: unused,
    requestJobDetails: unused,
  };
}

const TMS: TaskManagerInfo[] = [
  { resourceId: 'tm-b', address: 'taskmanager/tm-b', numberOfSlots: 4, freeSlots: 1, metricsUrl: 'http://127.0.0.1:9250/metrics' },
  { resourceId: 'tm-a', address: 'taskmanager/tm-a', numberOfSlots: 2, freeSlots: 2 },
];
const rm = { requestTaskManagerInfo: async () => TMS.map((t) => ({ ...t })) } as unknown as ResourceManagerGateway;

const dirs: string[] = [];
let server: RestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(options: Partial<RestServerOptions> = {}, maxArtifactBytes?: number) {
  const root = mkdtempSync(join(tmpdir(), 'sluice-rest-cluster-'));
  dirs.push(root);
  const artifacts = new ArtifactStore(join(root, 'artifacts'), maxArtifactBytes);
  const submitted: JobSubmission[] = [];
  server = await createRestServer({ dispatcher: recordingDispatcher(submitted), resourceManager: rm, artifacts, token: TOKEN, port: 0, ...options });
  return { server, artifacts, submitted, root };
}

interface Answer {
  status: number;
  body: string;
  json(): any;
}

/** A raw request, so tests control every header and can send a body in chunks. */
function call(s: RestServer, method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | Buffer[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Host and port, not a URL: a URL would resolve '..' segments before the server sees them.
    const req = request({ host: '127.0.0.1', port: s.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) });
      });
    });
    // The server may answer 413 and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    for (const part of body === undefined ? [] : Array.isArray(body) ? body : [body]) req.write(part);
    req.end();
  });
}

const auth = { Authorization: `Bearer ${TOKEN}` };
const js = { ...auth, 'Content-Type': 'application/javascript' };
const json = { ...auth, 'Content-Type': 'application/json' };

describe('REST API of a cluster', () => {
  it('answers /healthz without a token, even where reads need one', async () => {
    const { server: s } = await start({ tokenForReads: true });
    expect((await call(s, 'GET', '/healthz')).json()).toEqual({ status: 'ok' });
    expect((await call(s, 'GET', '/jobs')).status).toBe(401);
    expect((await call(s, 'GET', '/jobs', auth)).status).toBe(200);
  });

  it('serves the metrics it is given at /metrics in their own content type, under the token rule of reads', async () => {
    const metrics = { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => 'sluice_entrypoint_leader 1\n' };
    const { server: s } = await start({ tokenForReads: true, metrics });
    expect((await call(s, 'GET', '/metrics')).status).toBe(401);
    const r = await call(s, 'GET', '/metrics', auth);
    expect(r.status).toBe(200);
    expect(r.body).toBe('sluice_entrypoint_leader 1\n');
    expect((await call(s, 'POST', '/metrics', json)).status).toBe(405);
    await server?.close();
    const { server: none } = await start();
    const missing = await call(none, 'GET', '/metrics');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'this server serves no metrics' } });
  });

  it('wants the token on reads by default only when bound beyond loopback', () => {
    const base = { dispatcher: recordingDispatcher([]), port: 0 };
    expect(resolveRestServerOptions({ ...base }).tokenForReads).toBe(false);
    expect(resolveRestServerOptions({ ...base, host: '127.0.0.2' }).tokenForReads).toBe(false);
    expect(resolveRestServerOptions({ ...base, host: '0.0.0.0' }).tokenForReads).toBe(true);
    expect(resolveRestServerOptions({ ...base, host: '10.1.2.3' }).tokenForReads).toBe(true);
  });

  it('stores an upload under its SHA-256 whatever name the client gives, and serves it back only with the token', async () => {
    const { server: s, artifacts } = await start();
    const up = await call(s, 'POST', '/artifacts', { ...js, 'Content-Disposition': 'attachment; filename="../../../../tmp/evil.mjs"' }, [BUNDLE.subarray(0, 7), BUNDLE.subarray(7)]);
    expect(up.status).toBe(201);
    expect(up.json()).toEqual({ id: BUNDLE_ID, bytes: BUNDLE.length });
    expect(readdirSync(artifacts.directory)).toEqual([`${BUNDLE_ID}.mjs`]);
    expect((await call(s, 'GET', `/artifacts/${BUNDLE_ID}`)).status).toBe(401);
    const down = await call(s, 'GET', `/artifacts/${BUNDLE_ID}`, auth);
    expect(down.status).toBe(200);
    expect(down.body).toBe(BUNDLE.toString('utf8'));
  });

  it('refuses uploads without the token, of the wrong type or too large, and writes nothing', async () => {
    const { server: s, artifacts } = await start({}, 1024);
    expect((await call(s, 'POST', '/artifacts', { 'Content-Type': 'application/javascript' }, BUNDLE)).status).toBe(401);
    for (const type of ['application/json', 'multipart/form-data; boundary=x', 'text/plain']) {
      const r = await call(s, 'POST', '/artifacts', { ...auth, 'Content-Type': type }, BUNDLE);
      expect([r.status, r.json().error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    const announced = await call(s, 'POST', '/artifacts', { ...js, 'Content-Length': 4096 }, Buffer.alloc(4096));
    expect([announced.status, announced.json().error.code]).toEqual([413, 'ARTIFACT_TOO_LARGE']);
    const chunked = await call(s, 'POST', '/artifacts', { ...js, 'Transfer-Encoding': 'chunked' }, [Buffer.alloc(600), Buffer.alloc(600)]);
    expect([chunked.status, chunked.json().error.code]).toEqual([413, 'ARTIFACT_TOO_LARGE']);
    expect(readdirSync(artifacts.directory).filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(await artifacts.list()).toEqual([]);
  });

  it('takes no path from a download request: anything but 64 hex digits is 400, an unknown id 404', async () => {
    const { server: s } = await start();
    await call(s, 'POST', '/artifacts', js, BUNDLE);
    for (const id of ['..%2F..%2Fetc%2Fpasswd', '%2Fetc%2Fpasswd', `${BUNDLE_ID}.mjs`, BUNDLE_ID.toUpperCase(), '..']) {
      const r = await call(s, 'GET', `/artifacts/${id}`, auth);
      expect([id, r.status]).toEqual([id, 400]);
    }
    const unknown = await call(s, 'GET', `/artifacts/${'0'.repeat(64)}`, auth);
    expect([unknown.status, unknown.json().error.code]).toEqual([404, 'ARTIFACT_NOT_FOUND']);
    // Path-like segments around the route are no route at all.
    expect((await call(s, 'GET', `/artifacts/../jobs`, auth)).status).toBe(404);
    expect((await call(s, 'GET', `/artifacts/x/../../etc/passwd`, auth)).status).toBe(404);
  });

  it('submits a job from an uploaded bundle: the Dispatcher gets the stored file and the bundle id', async () => {
    const { server: s, artifacts, submitted } = await start();
    await call(s, 'POST', '/artifacts', js, BUNDLE);
    const r = await call(s, 'POST', '/jobs', json, Buffer.from(JSON.stringify({ artifactId: BUNDLE_ID, jobGraph: GRAPH, source: 'numbers.ts', params: { n: '3' }, parallelism: 1 })));
    expect(r.status).toBe(202);
    expect(submitted).toHaveLength(1);
    const sub = submitted[0]!;
    expect(r.json()).toEqual({ jobId: sub.jobId });
    expect(sub.artifact).toEqual({ entry: await artifacts.locate(BUNDLE_ID), bundle: BUNDLE_ID, source: 'numbers.ts', params: { n: '3' }, parallelism: 1 });
    expect(sub.jobName).toBe('three numbers');
  });

  it('refuses a bad submission with 400 naming the problem, and submits nothing', async () => {
    const { server: s, submitted } = await start();
    await call(s, 'POST', '/artifacts', js, BUNDLE);
    const cases: [unknown, string, RegExp][] = [
      [{ artifactId: '0'.repeat(64), jobGraph: GRAPH }, 'ARTIFACT_NOT_FOUND', /upload it first/],
      [{ artifactId: 'abc', jobGraph: GRAPH }, 'BAD_REQUEST', /artifactId/],
      [{ artifactId: BUNDLE_ID }, 'BAD_REQUEST', /jobGraph/],
      [{ artifactId: BUNDLE_ID, jobGraph: GRAPH, entry: '/etc/passwd' }, 'BAD_REQUEST', /unknown field 'entry'/],
      [{ artifactId: BUNDLE_ID, jobGraph: GRAPH, restoreFrom: { path: '/var/sp/../../etc' } }, 'BAD_REQUEST', /'\.\.' segments/],
      [{ artifactId: BUNDLE_ID, jobGraph: GRAPH, restoreFrom: { path: 'relative/sp' } }, 'BAD_REQUEST', /absolute path/],
      [{ artifactId: BUNDLE_ID, jobGraph: { ...GRAPH, vertices: [] } }, 'INVALID_JOB_SUBMISSION', /vertices must be a non-empty array/],
    ];
    for (const [body, code, message] of cases) {
      const r = await call(s, 'POST', '/jobs', json, Buffer.from(JSON.stringify(body)));
      expect([r.status, r.json().error.code]).toEqual([400, code]);
      expect(r.json().error.message).toMatch(message);
    }
    expect(submitted).toEqual([]);
  });

  it('takes submissions only with a bundle store', async () => {
    server = await createRestServer({ dispatcher: recordingDispatcher([]), token: TOKEN, port: 0 });
    const r = await call(server, 'POST', '/jobs', json, Buffer.from(JSON.stringify({ artifactId: BUNDLE_ID, jobGraph: GRAPH })));
    expect([r.status, r.json().error.code]).toEqual([404, 'SUBMISSION_NOT_SUPPORTED']);
  });

  it('reports the cluster: TaskManagers, slots and jobs by status', async () => {
    const { server: s } = await start();
    expect((await call(s, 'GET', '/overview')).json()).toEqual({ taskManagers: 2, slotsTotal: 6, slotsAvailable: 3, jobs: { RUNNING: 2, FINISHED: 1 } });
    expect((await call(s, 'GET', '/taskmanagers')).json().taskManagers.map((t: TaskManagerInfo) => t.resourceId)).toEqual(['tm-a', 'tm-b']);
  });

  it('describes every route in /openapi.json, with the token where the server wants it', async () => {
    const { server: s } = await start();
    const doc = (await call(s, 'GET', '/openapi.json')).json();
    expect(doc.openapi).toBe('3.0.3');
    const ops = Object.values(doc.paths as Record<string, Record<string, { operationId: string; security: unknown[] }>>).flatMap((p) => Object.values(p));
    expect(ops.map((o) => o.operationId).sort()).toEqual(ROUTES.map((r) => r.name).sort());
    const secured = new Set(ops.filter((o) => o.security.length > 0).map((o) => o.operationId));
    expect(secured.has('submitJob') && secured.has('downloadArtifact') && secured.has('clusterConfig') && !secured.has('listJobs') && !secured.has('healthz')).toBe(true);
  });
});
