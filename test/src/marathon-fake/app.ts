/** The part of Marathon's app definition the fake acts on (the rest is kept and echoed). */
export interface HealthCheck {
  /** HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS or MESOS_TCP (the schema tests check which). */
  protocol?: string;
  path?: string;
  portIndex?: number;
  port?: number;
  gracePeriodSeconds?: number;
  intervalSeconds?: number;
  timeoutSeconds?: number;
  maxConsecutiveFailures?: number;
}

export interface AppDefinition {
  id: string;
  /** The user the task runs as (the agent switches to it). */
  user?: string;
  cmd?: string;
  args?: string[];
  instances?: number;
  cpus?: number;
  mem?: number;
  version?: string;
  env?: Record<string, string | { secret: string }>;
  secrets?: Record<string, { source: string }>;
  portDefinitions?: { port?: number; name?: string; protocol?: string }[];
  container?: {
    type?: string;
    docker?: { image: string; forcePullImage?: boolean };
    volumes?: { containerPath: string; secret?: string; hostPath?: string; mode?: string }[];
  };
  healthChecks?: HealthCheck[];
  upgradeStrategy?: { minimumHealthCapacity?: number; maximumOverCapacity?: number };
  labels?: Record<string, string>;
  taskKillGracePeriodSeconds?: number;
  [key: string]: unknown;
}

/** One validation failure as Marathon reports it (422 `details`). */
export interface Violation {
  path: string;
  errors: string[];
}

/** Marathon's own checks the fake repeats, whatever schema the test adds. */
export function basicViolations(body: unknown): Violation[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [{ path: '/', errors: ['error.expected.jsobject'] }];
  const app = body as Record<string, unknown>;
  const out: Violation[] = [];
  if (typeof app.id !== 'string' || !/^(\/?((\.\.)|(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])))+$/.test(app.id)) {
    out.push({ path: '/id', errors: ['must fully match regular expression'] });
  }
  if (app.cmd === undefined && app.args === undefined && app.container === undefined) out.push({ path: '/', errors: ['AppDefinition must either contain one of \'cmd\' or \'args\', and/or a \'container\'.'] });
  if (app.cmd !== undefined && app.args !== undefined) out.push({ path: '/', errors: ['AppDefinition must not contain both \'cmd\' and \'args\'.'] });
  if (app.instances !== undefined && app.instances !== 0 && app.instances !== 1) out.push({ path: '/instances', errors: ['the Marathon fake runs at most one instance'] });
  return out;
}

/** `/group/app` for any way of writing it (Marathon ids are absolute). */
export function absoluteId(id: string): string {
  return id.startsWith('/') ? id : `/${id}`;
}
