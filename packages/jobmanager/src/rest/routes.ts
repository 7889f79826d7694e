/**
 * Routing of the REST API as a pure function: method and URL in, the route (with its job id) or
 * the reason there is none out. The route table is the one list of what the API serves.
 */

export type Route =
  | { name: 'healthz' }
  | { name: 'openApi' }
  | { name: 'metrics' }
  | { name: 'clusterOverview' }
  | { name: 'clusterConfig' }
  | { name: 'listTaskManagers' }
  | { name: 'uploadArtifact' }
  | { name: 'downloadArtifact'; artifactId: string }
  | { name: 'listJobs' }
  | { name: 'submitJob' }
  | { name: 'jobDetails'; jobId: string }
  | { name: 'checkpointStatistics'; jobId: string }
  | { name: 'triggerSavepoint'; jobId: string }
  | { name: 'stopJob'; jobId: string }
  | { name: 'cancelJob'; jobId: string };

export type RouteName = Route['name'];

export type RouteMatch =
  | { type: 'route'; route: Route }
  | { type: 'notFound'; message: string }
  | { type: 'methodNotAllowed'; allow: string[]; message: string };

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** Path segments; one starting with ':' (':jobId', ':artifactId') matches any one non-empty segment. */
  pattern: readonly string[];
  name: RouteName;
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'GET', pattern: ['healthz'], name: 'healthz' },
  { method: 'GET', pattern: ['openapi.json'], name: 'openApi' },
  { method: 'GET', pattern: ['metrics'], name: 'metrics' },
  { method: 'GET', pattern: ['overview'], name: 'clusterOverview' },
  { method: 'GET', pattern: ['config'], name: 'clusterConfig' },
  { method: 'GET', pattern: ['taskmanagers'], name: 'listTaskManagers' },
  { method: 'POST', pattern: ['artifacts'], name: 'uploadArtifact' },
  { method: 'GET', pattern: ['artifacts', ':artifactId'], name: 'downloadArtifact' },
  { method: 'GET', pattern: ['jobs'], name: 'listJobs' },
  { method: 'POST', pattern: ['jobs'], name: 'submitJob' },
  { method: 'GET', pattern: ['jobs', ':jobId'], name: 'jobDetails' },
  { method: 'GET', pattern: ['jobs', ':jobId', 'checkpoints'], name: 'checkpointStatistics' },
  { method: 'POST', pattern: ['jobs', ':jobId', 'savepoints'], name: 'triggerSavepoint' },
  { method: 'POST', pattern: ['jobs', ':jobId', 'stop'], name: 'stopJob' },
  { method: 'POST', pattern: ['jobs', ':jobId', 'cancel'], name: 'cancelJob' },
];

/**
 * Reads that want the bearer token even from loopback: bundles are user code, and the job
 * defaults' `-D` values may be credentials.
 */
export const TOKEN_ALWAYS: ReadonlySet<RouteName> = new Set(['downloadArtifact', 'clusterConfig']);

/** One line per route, for 404 messages and documentation. */
export const ROUTE_SUMMARY = ROUTES.map((r) => `${r.method} /${r.pattern.join('/')}`).join(', ');

export function matchRoute(method: string, url: string): RouteMatch {
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const segments = splitPath(path);
  const notFound: RouteMatch = { type: 'notFound', message: `no such resource: ${path}; this API serves ${ROUTE_SUMMARY}` };
  if (segments === undefined) return notFound;
  const allow: string[] = [];
  for (const spec of ROUTES) {
    const param = matchPattern(spec.pattern, segments);
    if (param === undefined) continue;
    if (spec.method !== method) {
      allow.push(spec.method);
      continue;
    }
    return { type: 'route', route: toRoute(spec.name, param) };
  }
  if (allow.length > 0) {
    return { type: 'methodNotAllowed', allow, message: `method ${method} is not allowed on ${path}; use ${allow.join(' or ')}` };
  }
  return notFound;
}

/** Segments of a path, decoded; a trailing slash is ignored. Undefined when a segment is not valid percent-encoding. */
function splitPath(path: string): string[] | undefined {
  const parts = path.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
  try {
    return parts.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** The parameter's value when `segments` fit `pattern` ('' for patterns without one), else undefined. */
function matchPattern(pattern: readonly string[], segments: readonly string[]): string | undefined {
  if (pattern.length !== segments.length) return undefined;
  let param = '';
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(':')) {
      if (s === '') return undefined;
      param = s;
    } else if (p !== s) return undefined;
  }
  return param;
}

function toRoute(name: RouteName, param: string): Route {
  const jobId = param;
  switch (name) {
    case 'healthz':
    case 'openApi':
    case 'metrics':
    case 'clusterOverview':
    case 'clusterConfig':
    case 'listTaskManagers':
    case 'uploadArtifact':
    case 'listJobs':
    case 'submitJob':
      return { name };
    case 'downloadArtifact':
      return { name, artifactId: param };
    case 'jobDetails':
    case 'checkpointStatistics':
    case 'triggerSavepoint':
    case 'stopJob':
    case 'cancelJob':
      return { name, jobId };
  }
}
