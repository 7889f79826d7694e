/**
 * Validation and resolution of job-level configuration (JobConfig). Values reach the job from
 * the CLI (`-p`, `--buffer-timeout`), REST bodies and job code; each is checked here, at the
 * edge, so the runtime can trust a resolved JobConfig without re-checking it.
 */
import { ConfigurationError } from '@sluice/common';
import { DEFAULT_JOB_CONFIG, RESTART_STRATEGY_DEFAULTS, validateRestartStrategy, type JobConfig, type RestartStrategyConfig } from '@sluice/protocol';

/**
 * The restart strategy of a checkpointed job that did not choose one: exponential delay with the
 * same defaults as `--restart-strategy exponential-delay` (Flink's: 1 s to 1 min, ×1.5).
 */
export const DEFAULT_CHECKPOINTING_RESTART_STRATEGY: RestartStrategyConfig = RESTART_STRATEGY_DEFAULTS['exponential-delay'];

/** Key groups are the unit of state redistribution; more than this is never useful (Flink's bound). */
export const UPPER_BOUND_MAX_PARALLELISM = 32768;

type ConfigKey = keyof JobConfig;

/** How each key is checked: most are counts or sizes (positive), some may be 0. */
const CONFIG_RULES: Readonly<Record<ConfigKey, 'positive' | 'nonNegative' | 'string' | 'restartStrategy'>> = Object.freeze({
  defaultParallelism: 'positive',
  maxParallelism: 'positive',
  bufferTimeoutMs: 'nonNegative',
  bufferSizeBytes: 'positive',
  buffersPerChannel: 'positive',
  autoWatermarkIntervalMs: 'nonNegative',
  checkpointIntervalMs: 'nonNegative',
  checkpointTimeoutMs: 'positive',
  minPauseBetweenCheckpointsMs: 'nonNegative',
  retainedCheckpoints: 'positive',
  tolerableFailedCheckpoints: 'nonNegative',
  checkpointDir: 'string',
  restartStrategy: 'restartStrategy',
});

const KNOWN_KEYS = Object.keys(CONFIG_RULES) as ConfigKey[];

export function checkPositiveInteger(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(`${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function checkNonNegativeInteger(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigurationError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

export function checkMaxParallelism(what: string, value: unknown): number {
  const v = checkPositiveInteger(what, value);
  if (v > UPPER_BOUND_MAX_PARALLELISM) {
    throw new ConfigurationError(`${what} must be at most ${UPPER_BOUND_MAX_PARALLELISM} (the number of key groups), got ${v}`);
  }
  return v;
}

/**
 * Checks a partial configuration as it arrives from outside (CLI, REST, job options). Unknown
 * keys are rejected because a misspelt key would otherwise be silently ignored.
 */
export function validateJobConfigOverrides(overrides: Partial<JobConfig>): void {
  for (const key of Object.keys(overrides)) {
    if (!(KNOWN_KEYS as string[]).includes(key)) {
      throw new ConfigurationError(`unknown job config key '${key}'; known keys are ${KNOWN_KEYS.join(', ')}`);
    }
    const value = overrides[key as ConfigKey];
    if (value === undefined) continue;
    const rule = CONFIG_RULES[key as ConfigKey];
    if (key === 'maxParallelism') checkMaxParallelism(`job config '${key}'`, value);
    else if (rule === 'positive') checkPositiveInteger(`job config '${key}'`, value);
    else if (rule === 'nonNegative') checkNonNegativeInteger(`job config '${key}'`, value);
    else if (rule === 'string') {
      if (typeof value !== 'string') throw new ConfigurationError(`job config '${key}' must be a string, got ${typeof value}`);
    } else validateRestartStrategy(value as RestartStrategyConfig);
  }
}

/**
 * Layers overrides over the defaults (later layers win) and checks the combination. Each layer
 * must already have passed `validateJobConfigOverrides`.
 */
export function resolveJobConfig(...layers: ReadonlyArray<Partial<JobConfig> | undefined>): JobConfig {
  const out: JobConfig = { ...DEFAULT_JOB_CONFIG };
  let restartSet = false;
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const key of KNOWN_KEYS) {
      const v = layer[key];
      if (v !== undefined) (out as unknown as Record<string, unknown>)[key] = v;
    }
    if (layer.restartStrategy !== undefined) restartSet = true;
  }
  // Checkpointing without a chosen strategy restarts with backoff, as Flink does: a job that
  // takes checkpoints is one meant to survive failures.
  if (!restartSet && out.checkpointIntervalMs > 0) out.restartStrategy = DEFAULT_CHECKPOINTING_RESTART_STRATEGY;
  validateJobConfigOverrides(out);
  if (out.defaultParallelism > out.maxParallelism) {
    throw new ConfigurationError(
      `parallelism ${out.defaultParallelism} exceeds max parallelism ${out.maxParallelism}; ` +
        `lower the parallelism or raise the max parallelism (env.setMaxParallelism)`,
    );
  }
  return out;
}
