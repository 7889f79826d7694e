/**
 * Checks a Marathon app definition as Marathon would before accepting it: against
 * infra/marathon/app-definition.schema.json (ajv), then the rules that span fields, which a JSON
 * schema cannot state: port names unique, a health check's portIndex within portDefinitions,
 * every secret used by name declared in `secrets` and every declared one used. And the rule of
 * this project: a secret reaches the process only as a file (a secret volume), never as an
 * environment variable.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ajvModule from 'ajv';
import type { AppDefinition } from './marathon-fake/app.js';

export const MARATHON_DIR = fileURLToPath(new URL('../../infra/marathon/', import.meta.url));

const schema = JSON.parse(readFileSync(`${MARATHON_DIR}app-definition.schema.json`, 'utf8')) as object;
const validateSchema = new ajvModule.default({ allErrors: true, strict: false }).compile(schema);

/** The parts of an app definition the checks and the tests read: the Marathon fake's. */
export type MarathonApp = AppDefinition;

/** Every problem with `app`, schema first; empty when Marathon would take it. */
export function marathonAppErrors(app: unknown): string[] {
  if (!validateSchema(app)) {
    return (validateSchema.errors ?? []).map((e) => `${e.instancePath === '' ? '(app)' : e.instancePath} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}`);
  }
  const a = app as MarathonApp;
  const errors: string[] = [];
  const ports = a.portDefinitions ?? [];
  const names = ports.map((p) => p.name).filter((n): n is string => n !== undefined);
  if (new Set(names).size !== names.length) errors.push(`/portDefinitions names must be unique: ${names.join(', ')}`);
  (a.healthChecks ?? []).forEach((h, i) => {
    const http = h.protocol === undefined || /HTTP|TCP/.test(h.protocol);
    if (http && h.port === undefined && (h.portIndex ?? 0) >= ports.length) errors.push(`/healthChecks/${i}/portIndex ${h.portIndex ?? 0} is beyond the ${ports.length} port definition(s)`);
  });
  const declared = new Set(Object.keys(a.secrets ?? {}));
  const used = new Set<string>();
  for (const [name, value] of Object.entries(a.env ?? {})) {
    if (typeof value === 'object') {
      errors.push(`/env/${name} takes a secret as an environment variable; mount it as a file (a secret volume) instead`);
      used.add(value.secret);
    }
  }
  for (const v of a.container?.volumes ?? []) if (v.secret !== undefined) used.add(v.secret);
  for (const s of used) if (!declared.has(s)) errors.push(`secret '${s}' is used but not declared in /secrets`);
  for (const s of declared) if (!used.has(s)) errors.push(`/secrets/${s} is declared but nothing uses it`);
  if (a.cmd === undefined && a.args === undefined && a.container?.docker === undefined) errors.push('(app) needs cmd, args or a container image');
  return errors;
}

/** The secret volumes of an app: container path (relative: in the sandbox) and the secret store path. */
export function secretFiles(app: MarathonApp): { containerPath: string; secret: string; source: string }[] {
  return (app.container?.volumes ?? [])
    .filter((v): v is { containerPath: string; secret: string } => v.secret !== undefined)
    .map((v) => ({ containerPath: v.containerPath, secret: v.secret, source: app.secrets?.[v.secret]?.source ?? '' }));
}
