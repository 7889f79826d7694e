/**
 * A Marathon fake for the walkthrough and the app-definition tests: the part of Marathon's v2
 * REST API a user's `curl` touches — `POST /v2/apps`, `GET /v2/apps`, `GET /v2/apps/{id}`,
 * `DELETE /v2/apps/{id}` — with Marathon's status codes and bodies (201 with the app, 409 for an
 * id that exists, 422 `{"message": "Object is not valid", "details": […]}`, 404 for an unknown
 * app, 415 for a body that is not JSON), apps validated by Marathon's basic rules plus whatever
 * schema the test adds, and each app's one instance run as a MarathonTask (task.ts) with its
 * health checks. Marathon itself (a Scala framework) is in no registry we can reach. As on DC/OS,
 * Marathon is also served under `/service/marathon`, and the secret store's
 * `PUT /secrets/v1/secret/default/<path>` fills the store the apps' secrets come from.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readBody } from '../mesos-fake/http-util.js';
import { absoluteId, basicViolations, type AppDefinition, type Violation } from './app.js';
import { MarathonTask } from './task.js';

export type { AppDefinition, HealthCheck, Violation } from './app.js';

export interface MarathonFakeOptions {
  /** Where the tasks' sandboxes go. */
  workDir: string;
  /** The address tasks get as HOST and health checks probe (default 127.0.0.1). */
  host?: string;
  /** More checks of a posted app (a JSON schema, say); violations answer 422. */
  validate?: (app: unknown) => Violation[];
  /** The agents' environment under the tasks' own (default: this process's). */
  agentEnv?: NodeJS.ProcessEnv;
  /** Probe health this often instead of each check's intervalSeconds (a shortcut for tests). */
  probeIntervalMs?: number;
}

export interface MarathonFake {
  /** `http://127.0.0.1:<port>`: what `$MARATHON` is in the walkthrough. */
  readonly url: string;
  /** Puts a secret in the store, as `dcos security secrets create <source>` would. */
  setSecret(source: string, value: string): void;
  /** The running (or ended) task of an app. */
  task(appId: string): MarathonTask | undefined;
  /** Kills every task and stops serving. */
  close(): Promise<void>;
}

interface Deployed {
  app: AppDefinition;
  task?: MarathonTask;
  starting?: Promise<void>;
  startError?: string;
}

export async function startMarathon(options: MarathonFakeOptions): Promise<MarathonFake> {
  const host = options.host ?? '127.0.0.1';
  const apps = new Map<string, Deployed>();
  const secrets = new Map<string, string>();
  /** Deleted apps whose tasks may still be dying: close() waits for them too. */
  const deleted = new Set<Deployed>();
  let taskCount = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'Content-Type': 'application/json; qs=2', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const view = (d: Deployed): Record<string, unknown> => {
    const t = d.task;
    const running = t?.state === 'TASK_RUNNING' ? 1 : 0;
    return {
      ...d.app,
      tasksStaged: d.starting !== undefined && t === undefined ? 1 : 0,
      tasksRunning: running,
      tasksHealthy: t?.healthy() === true && (d.app.healthChecks?.length ?? 0) > 0 ? 1 : 0,
      tasksUnhealthy: running === 1 && t?.health.some((h) => !h.alive) === true ? 1 : 0,
      tasks:
        t === undefined
          ? []
          : [{ id: t.id, appId: d.app.id, host, ports: t.ports, state: t.state, healthCheckResults: t.health.map((h) => ({ ...h })) }],
      ...(d.startError === undefined ? {} : { lastTaskFailure: { message: d.startError } }),
    };
  };

  async function create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      send(res, 415, { message: `Unsupported Media Type: ${req.headers['content-type'] ?? '(none)'}; send application/json` });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8'));
    } catch (err) {
      send(res, 400, { message: `Invalid JSON: ${(err as Error).message}` });
      return;
    }
    const violations = [...basicViolations(body), ...(options.validate?.(body) ?? [])];
    if (violations.length > 0) {
      send(res, 422, { message: 'Object is not valid', details: violations });
      return;
    }
    const app = { ...(body as AppDefinition) };
    app.id = absoluteId(app.id);
    if (apps.has(app.id)) {
      send(res, 409, { message: `An app with id [${app.id}] already exists.` });
      return;
    }
    app.version = new Date().toISOString();
    const d: Deployed = { app };
    apps.set(app.id, d);
    if ((app.instances ?? 1) === 1) {
      const task = new MarathonTask({ app, taskId: `${app.id.slice(1).replace(/\//g, '_')}.${++taskCount}`, sandbox: join(options.workDir, `task-${taskCount}`), host, secrets, agentEnv: options.agentEnv ?? process.env, ...(options.probeIntervalMs === undefined ? {} : { probeIntervalMs: options.probeIntervalMs }) });
      d.starting = task.start().then(
        () => void (d.task = task),
        (err: unknown) => void (d.startError = (err as Error).message),
      );
    }
    send(res, 201, app, { Location: `/v2/apps${app.id}`, 'Marathon-Deployment-Id': `deployment-${taskCount}` });
  }

  /** DC/OS's secret store: `PUT /secrets/v1/secret/default/<path>` with `{"value": …}`. */
  async function putSecret(req: IncomingMessage, res: ServerResponse, source: string): Promise<void> {
    if (req.method !== 'PUT') return send(res, 405, { message: `method ${req.method ?? ''} not allowed` });
    let value: unknown;
    try {
      value = (JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8')) as { value?: unknown }).value;
    } catch (err) {
      return send(res, 400, { message: `Invalid JSON: ${(err as Error).message}` });
    }
    if (typeof value !== 'string' || source === '') return send(res, 400, { message: 'a secret needs a path and a string value' });
    if (secrets.has(source)) return send(res, 409, { message: `Secret ${source} already exists` });
    secrets.set(source, value);
    res.writeHead(201).end();
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DC/OS serves Marathon under /service/marathon; plain Marathon at the root.
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/service\/marathon(?=\/)/, '');
    if (path.startsWith('/secrets/v1/secret/default/')) return putSecret(req, res, decodeURIComponent(path.slice('/secrets/v1/secret/default/'.length)));
    if (path === '/v2/apps' || path === '/v2/apps/') {
      if (req.method === 'POST') return create(req, res);
      if (req.method === 'GET') return send(res, 200, { apps: [...apps.values()].map(view) });
      return send(res, 405, { message: `method ${req.method ?? ''} not allowed` });
    }
    if (!path.startsWith('/v2/apps/')) return send(res, 404, { message: `no such resource ${path}` });
    const id = absoluteId(decodeURIComponent(path.slice('/v2/apps'.length)).replace(/\/$/, ''));
    const d = apps.get(id);
    if (d === undefined) return send(res, 404, { message: `App '${id}' does not exist` });
    if (req.method === 'GET') return send(res, 200, { app: view(d) });
    if (req.method === 'DELETE') {
      apps.delete(id);
      deleted.add(d);
      await d.starting;
      void d.task?.kill();
      return send(res, 200, { version: new Date().toISOString(), deploymentId: `deployment-delete-${id}` });
    }
    return send(res, 405, { message: `method ${req.method ?? ''} not allowed` });
  }

  const server = createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => send(res, 500, { message: (err as Error).message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const known = (): Deployed[] => [...apps.values(), ...deleted];
  return {
    url,
    setSecret: (source, value) => void secrets.set(source, value),
    task: (appId) => apps.get(absoluteId(appId))?.task,
    async close() {
      for (const d of known()) {
        await d.starting;
        await d.task?.kill();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
