import { describe, expect, it } from 'vitest';
import { matchRoute, type RouteMatch } from './routes.js';

describe('matchRoute', () => {
  it.each<[string, string, RouteMatch['type'], unknown]>([
    ['GET', '/jobs', 'route', { name: 'listJobs' }],
    ['GET', '/jobs/', 'route', { name: 'listJobs' }],
    ['GET', '/jobs?limit=1', 'route', { name: 'listJobs' }],
    ['GET', '/jobs/abc', 'route', { name: 'jobDetails', jobId: 'abc' }],
    ['GET', '/jobs/a%20b', 'route', { name: 'jobDetails', jobId: 'a b' }],
    ['POST', '/jobs/abc/savepoints', 'route', { name: 'triggerSavepoint', jobId: 'abc' }],
    ['GET', '/jobs/abc/checkpoints', 'route', { name: 'checkpointStatistics', jobId: 'abc' }],
    ['POST', '/jobs/abc/stop/', 'route', { name: 'stopJob', jobId: 'abc' }],
    ['POST', '/jobs/abc/cancel', 'route', { name: 'cancelJob', jobId: 'abc' }],
    ['GET', '/', 'notFound', undefined],
    ['GET', '/jobs//savepoints', 'notFound', undefined],
    ['GET', '/jobs/%E0%A4%A', 'notFound', undefined],
    ['GET', '/JOBS', 'notFound', undefined],
    ['POST', '/jobs', 'route', { name: 'submitJob' }],
    ['GET', '/healthz', 'route', { name: 'healthz' }],
    ['GET', '/overview', 'route', { name: 'clusterOverview' }],
    ['GET', '/config', 'route', { name: 'clusterConfig' }],
    ['POST', '/config', 'methodNotAllowed', ['GET']],
    ['GET', '/taskmanagers', 'route', { name: 'listTaskManagers' }],
    ['GET', '/openapi.json', 'route', { name: 'openApi' }],
    ['POST', '/artifacts', 'route', { name: 'uploadArtifact' }],
    ['GET', '/artifacts/0f0f', 'route', { name: 'downloadArtifact', artifactId: '0f0f' }],
    ['GET', '/artifacts/..%2F..%2Fetc%2Fpasswd', 'route', { name: 'downloadArtifact', artifactId: '../../etc/passwd' }],
    ['GET', '/artifacts', 'methodNotAllowed', ['POST']],
    ['DELETE', '/jobs', 'methodNotAllowed', ['GET', 'POST']],
    ['GET', '/jobs/abc/cancel', 'methodNotAllowed', ['POST']],
  ])('%s %s → %s', (method, url, type, detail) => {
    const m = matchRoute(method, url);
    expect(m.type).toBe(type);
    if (m.type === 'route') expect(m.route).toEqual(detail);
    if (m.type === 'methodNotAllowed') expect(m.allow).toEqual(detail);
  });
});
