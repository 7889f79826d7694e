/**
 * The OpenAPI 3.0 description of the REST API, built from the route table (routes.ts), so a
 * route cannot be served without being described. Schemas cover the request bodies, which is
 * what a client generator needs to get right; responses are described by their status codes.
 */
import { ROUTES, TOKEN_ALWAYS, type RouteName } from './routes.js';

const SUMMARIES: Record<RouteName, string> = {
  healthz: 'Liveness: 200 while the server runs (no token needed)',
  openApi: 'This description',
  metrics: 'Prometheus metrics of this entrypoint: per-job restarts and checkpoints (while it leads), its process (text format 0.0.4)',
  clusterOverview: 'TaskManagers, slots and jobs by status',
  clusterConfig: "The cluster's job defaults (parallelism, checkpoint directory and interval, -D parameters) that sluice submit applies under its own flags; the token is needed even on loopback",
  listTaskManagers: 'Registered TaskManagers with their slots and metrics URLs',
  uploadArtifact: 'Upload a job bundle (JavaScript); stored under its SHA-256',
  downloadArtifact: 'A stored job bundle, by SHA-256',
  listJobs: 'Jobs, oldest first',
  submitJob: 'Submit a job: an uploaded bundle and the graph built from it',
  jobDetails: 'One job: status, checkpoints, vertices with states and record counts, exceptions history, result once ended',
  checkpointStatistics: "A job's checkpoint counts and latest checkpoint",
  triggerSavepoint: 'Take a savepoint; answers when it is complete',
  stopJob: 'Stop the job with a savepoint',
  cancelJob: 'Cancel the job',
};

const BODIES: Partial<Record<RouteName, { type: string; schema: object }>> = {
  uploadArtifact: { type: 'application/javascript', schema: { type: 'string', format: 'binary' } },
  submitJob: {
    type: 'application/json',
    schema: {
      type: 'object',
      required: ['artifactId', 'jobGraph'],
      additionalProperties: false,
      properties: {
        artifactId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        jobGraph: { type: 'object' },
        source: { type: 'string' },
        params: { type: 'object', additionalProperties: { type: 'string' } },
        parallelism: { type: 'integer', minimum: 1 },
        config: { type: 'object' },
        restoreFrom: {
          type: 'object',
          required: ['path'],
          additionalProperties: false,
          properties: { path: { type: 'string' }, allowNonRestoredState: { type: 'boolean' } },
        },
      },
    },
  },
  triggerSavepoint: {
    type: 'application/json',
    schema: { type: 'object', required: ['targetDirectory'], additionalProperties: false, properties: { targetDirectory: { type: 'string' } } },
  },
  stopJob: {
    type: 'application/json',
    schema: { type: 'object', required: ['targetDirectory'], additionalProperties: false, properties: { targetDirectory: { type: 'string' }, drain: { type: 'boolean' } } },
  },
  cancelJob: { type: 'application/json', schema: { type: 'object', additionalProperties: false } },
};

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
};

/** `tokenForReads`: whether GETs need the bearer token too (a server bound beyond loopback). */
export function openApiDocument(version: string, tokenForReads: boolean): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of ROUTES) {
    const path = `/${r.pattern.map((p) => (p.startsWith(':') ? `{${p.slice(1)}}` : p)).join('/')}`;
    const params = r.pattern.filter((p) => p.startsWith(':')).map((p) => ({ name: p.slice(1), in: 'path', required: true, schema: { type: 'string' } }));
    const secured = r.name !== 'healthz' && (r.method === 'POST' || TOKEN_ALWAYS.has(r.name) || tokenForReads);
    const body = BODIES[r.name];
    paths[path] ??= {};
    paths[path]![r.method.toLowerCase()] = {
      operationId: r.name,
      summary: SUMMARIES[r.name],
      ...(params.length === 0 ? {} : { parameters: params }),
      ...(body === undefined ? {} : { requestBody: { required: r.name !== 'cancelJob', content: { [body.type]: { schema: body.schema } } } }),
      security: secured ? [{ bearer: [] }] : [],
      responses: {
        [r.name === 'uploadArtifact' ? '201' : r.name === 'submitJob' || r.name === 'cancelJob' ? '202' : '200']: { description: 'success' },
        default: { description: 'an error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Sluice REST API', version },
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: { Error: ERROR_SCHEMA } },
  };
}
