/**
 * Checks a JobSubmission at the edge, before any component acts on it: shape, unknown fields,
 * an empty or inconsistent graph. All problems are reported at once, each naming the field, so a
 * client can fix its submission in one go. Slot counts are not checked: slots come on demand.
 */
import { describeError, SluiceError } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, validateRestartStrategy, type JobSubmission, type RestartStrategyConfig } from '@sluice/protocol';

export class InvalidSubmissionError extends SluiceError {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super('INVALID_JOB_SUBMISSION', `the job submission is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'InvalidSubmissionError';
    this.problems = problems;
  }
}

const PARTITIONERS = new Set(['forward', 'rebalance', 'rescale', 'hash', 'broadcast', 'global']);
const CONFIG_KEYS = Object.keys(DEFAULT_JOB_CONFIG);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** Returns the submission typed, or throws InvalidSubmissionError listing every problem. */
export function validateSubmission(input: unknown): JobSubmission {
  const p: string[] = [];
  const fields = (where: string, v: unknown, required: string[], optional: string[] = []): v is Obj => {
    if (!isObj(v)) {
      p.push(`${where} must be an object, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      return false;
    }
    const known = new Set([...required, ...optional]);
    const unknown = Object.keys(v).filter((k) => !known.has(k));
    if (unknown.length > 0) p.push(`${where} has unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')}; allowed: ${[...known].join(', ')}`);
    for (const k of required) if (v[k] === undefined) p.push(`${where}.${k} is missing`);
    return true;
  };
  const str = (where: string, v: unknown, nonEmpty = true): void => {
    if (v !== undefined && (typeof v !== 'string' || (nonEmpty && v.length === 0))) p.push(`${where} must be a ${nonEmpty ? 'non-empty ' : ''}string`);
  };

  if (fields('submission', input, ['jobId', 'jobName', 'artifact', 'jobGraph'], ['restoreFrom'])) {
    if (input.jobId !== undefined && (typeof input.jobId !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(input.jobId))) {
      p.push(`submission.jobId must be 1-128 characters of letters, digits, '.', '_' or '-', got ${JSON.stringify(input.jobId)}`);
    }
    str('submission.jobName', input.jobName, false);
    validateArtifact(input.artifact, fields, str, p);
    validateGraph(input.jobGraph, fields, str, p);
    const r = input.restoreFrom;
    if (r !== undefined && fields('submission.restoreFrom', r, ['path'], ['allowNonRestoredState'])) {
      str('submission.restoreFrom.path', r.path);
      if (r.allowNonRestoredState !== undefined && typeof r.allowNonRestoredState !== 'boolean') p.push('submission.restoreFrom.allowNonRestoredState must be true or false');
    }
  }
  if (p.length > 0) throw new InvalidSubmissionError(p);
  return input as unknown as JobSubmission;
}

type Fields = (where: string, v: unknown, required: string[], optional?: string[]) => v is Obj;
type Str = (where: string, v: unknown, nonEmpty?: boolean) => void;

function validateArtifact(a: unknown, fields: Fields, str: Str, p: string[]): void {
  if (!fields('artifact', a, ['entry', 'params'], ['source', 'bundle', 'parallelism', 'config'])) return;
  str('artifact.entry', a.entry);
  if (a.source !== undefined) str('artifact.source', a.source);
  if (a.bundle !== undefined && (typeof a.bundle !== 'string' || !/^[0-9a-f]{64}$/.test(a.bundle))) p.push(`artifact.bundle must be a SHA-256 in hex (64 characters), got ${JSON.stringify(a.bundle)}`);
  if (a.params !== undefined && (!isObj(a.params) || !Object.values(a.params).every((v) => typeof v === 'string'))) {
    p.push('artifact.params must be an object of string values');
  }
  if (a.parallelism !== undefined && !isPosInt(a.parallelism)) p.push(`artifact.parallelism must be a positive integer, got ${JSON.stringify(a.parallelism)}`);
  if (a.config !== undefined) validateConfig('artifact.config', a.config, fields, p, false);
}

function validateConfig(where: string, c: unknown, fields: Fields, p: string[], complete: boolean): void {
  if (!fields(where, c, complete ? CONFIG_KEYS : [], complete ? [] : CONFIG_KEYS)) return;
  for (const k of CONFIG_KEYS) {
    const v = c[k];
    if (v === undefined) continue;
    if (k === 'checkpointDir') {
      if (typeof v !== 'string') p.push(`${where}.${k} must be a string (a directory path), got ${JSON.stringify(v)}`);
    } else if (k === 'restartStrategy') {
      try {
        validateRestartStrategy(v as RestartStrategyConfig);
      } catch (err) {
        p.push(`${where}.${k}: ${describeError(err)}`);
      }
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) p.push(`${where}.${k} must be a non-negative number, got ${JSON.stringify(v)}`);
  }
}

function validateOperator(where: string, op: unknown, fields: Fields, str: Str, p: string[]): void {
  if (!fields(where, op, ['nodeId', 'name', 'kind'], ['uid', 'states']) || op.states === undefined) return;
  if (!Array.isArray(op.states)) {
    p.push(`${where}.states must be an array`);
    return;
  }
  op.states.forEach((s: unknown, i: number) => {
    const at = `${where}.states[${i}]`;
    if (!fields(at, s, ['name', 'kind'], ['type'])) return;
    str(`${at}.name`, s.name);
    str(`${at}.kind`, s.kind);
    str(`${at}.type`, s.type);
  });
}

function validateGraph(g: unknown, fields: Fields, str: Str, p: string[]): void {
  if (!fields('jobGraph', g, ['jobName', 'vertices', 'edges', 'config'])) return;
  validateConfig('jobGraph.config', g.config, fields, p, true);
  if (!Array.isArray(g.vertices) || g.vertices.length === 0) {
    p.push('jobGraph.vertices must be a non-empty array: the job has no operators (did the job module define any source?)');
    return;
  }
  const ids = new Set<string>();
  g.vertices.forEach((v: unknown, i: number) => {
    const where = `jobGraph.vertices[${i}]`;
    if (!fields(where, v, ['id', 'name', 'parallelism', 'maxParallelism', 'operators', 'isSource', 'isSink'])) return;
    str(`${where}.id`, v.id);
    str(`${where}.name`, v.name, false);
    if (typeof v.id === 'string') {
      if (ids.has(v.id)) p.push(`${where}.id '${v.id}' is used by another vertex`);
      ids.add(v.id);
    }
    if (!isPosInt(v.parallelism)) p.push(`${where}.parallelism must be a positive integer, got ${JSON.stringify(v.parallelism)}`);
    if (!isPosInt(v.maxParallelism) || (isPosInt(v.parallelism) && v.maxParallelism < v.parallelism)) {
      p.push(`${where}.maxParallelism must be an integer ≥ parallelism, got ${JSON.stringify(v.maxParallelism)}`);
    }
    if (!Array.isArray(v.operators)) p.push(`${where}.operators must be an array`);
    else v.operators.forEach((op: unknown, j: number) => validateOperator(`${where}.operators[${j}]`, op, fields, str, p));
    if (typeof v.isSource !== 'boolean') p.push(`${where}.isSource must be a boolean`);
    if (typeof v.isSink !== 'boolean') p.push(`${where}.isSink must be a boolean`);
  });
  if (!Array.isArray(g.edges)) {
    p.push('jobGraph.edges must be an array');
    return;
  }
  g.edges.forEach((e: unknown, i: number) => {
    const where = `jobGraph.edges[${i}]`;
    if (!fields(where, e, ['id', 'sourceVertex', 'targetVertex', 'sourceNodeId', 'targetNodeId', 'inputIndex', 'partitioner'], ['sideOutputTag'])) return;
    for (const end of ['sourceVertex', 'targetVertex'] as const) {
      if (typeof e[end] !== 'string' || !ids.has(e[end])) p.push(`${where}.${end} ${JSON.stringify(e[end])} names no vertex of the graph`);
    }
    if (e.inputIndex !== 0 && e.inputIndex !== 1) p.push(`${where}.inputIndex must be 0 or 1`);
    if (typeof e.partitioner !== 'string' || !PARTITIONERS.has(e.partitioner)) p.push(`${where}.partitioner must be one of ${[...PARTITIONERS].join(', ')}`);
  });
}
