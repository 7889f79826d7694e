/**
 * The committed monitoring files as the tests use them: infra/prometheus/sluice.yml with only its
 * placeholders replaced (addresses, token file, rule file, intervals; every scrape job as
 * committed), the names of the rules, and the Grafana dashboard's queries with its template
 * variables replaced.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const PROMETHEUS_DIR = join(REPO_ROOT, 'infra', 'prometheus');
export const SCRAPE_CONFIG = join(PROMETHEUS_DIR, 'sluice.yml');
export const RULES_FILE = join(PROMETHEUS_DIR, 'rules', 'sluice.rules.yml');
export const RULES_TEST_FILE = join(PROMETHEUS_DIR, 'rules', 'sluice.rules.test.yml');
export const DASHBOARD_FILE = join(REPO_ROOT, 'infra', 'grafana', 'sluice-dashboard.json');

/** The scrape jobs sluice.yml defines. */
export const SCRAPE_JOBS = { scheduler: 'sluice-scheduler', entrypoint: 'sluice-entrypoint', taskManagers: 'sluice-taskmanagers' } as const;

export interface ScrapeConfigValues {
  /** `host:port` of the scheduler's HTTP server (/metrics and /http_sd). */
  scheduler: string;
  /** `host:port` of the REST API. */
  rest: string;
  tokenFile: string;
  rulesFile: string;
  /** Replaces the scrape, evaluation and http_sd refresh intervals, e.g. `1s`. */
  interval: string;
}

/**
 * sluice.yml with its placeholders replaced. Each placeholder must occur (outside comments) as
 * often as the file is known to hold it, so a changed file fails here instead of silently keeping
 * an address the test cannot reach.
 */
export function renderScrapeConfig(v: ScrapeConfigValues): string {
  const replacements: [from: string, to: string, times: number][] = [
    ["'127.0.0.1:9250'", `'${v.scheduler}'`, 1],
    ['http://127.0.0.1:9250/http_sd', `http://${v.scheduler}/http_sd`, 1],
    ["'127.0.0.1:8081'", `'${v.rest}'`, 1],
    ['credentials_file: /etc/prometheus/sluice.token', `credentials_file: ${v.tokenFile}`, 3],
    ['- rules/sluice.rules.yml', `- ${v.rulesFile}`, 1],
    ['scrape_interval: 15s', `scrape_interval: ${v.interval}`, 1],
    ['evaluation_interval: 15s', `evaluation_interval: ${v.interval}`, 1],
    ['refresh_interval: 15s', `refresh_interval: ${v.interval}`, 1],
  ];
  const lines = readFileSync(SCRAPE_CONFIG, 'utf8').split('\n');
  for (const [from, to, times] of replacements) {
    let seen = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trimStart().startsWith('#') || !line.includes(from)) continue;
      lines[i] = line.replace(from, to);
      seen++;
    }
    if (seen !== times) throw new Error(`${SCRAPE_CONFIG}: expected the placeholder ${from} ${times} time(s), found it ${seen} time(s)`);
  }
  return lines.join('\n');
}

/** The `record:` names of the rules file, in file order. */
export function recordedNames(): string[] {
  return [...readFileSync(RULES_FILE, 'utf8').matchAll(/^\s*- record:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}

// --- the Grafana dashboard ------------------------------------------------------------------

export interface DashboardTarget {
  expr: string;
  refId: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
  fieldConfig?: { defaults?: { unit?: string } };
}

export interface DashboardVariable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  datasource?: { type?: string; uid?: string };
}

export interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(d: Dashboard): DashboardPanel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * A panel query as Grafana sends it: each `$var`, `${var}` or `[[var]]` replaced by `values[var]`,
 * and Grafana's range variables by fixed windows. Throws on a variable it does not know.
 */
export function resolveQuery(expr: string, values: Readonly<Record<string, string>>): string {
  const builtIn: Record<string, string> = { __rate_interval: '1m', __interval: '15s', __range: '5m' };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (all, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    const v = values[name] ?? builtIn[name];
    if (v === undefined) throw new Error(`dashboard query ${expr} uses $${name}, which the test does not know`);
    return v;
  });
}
