/**
 * Test access to a real Kafka broker: the single-node KRaft broker of infra/kafka/kafka.sh
 * (Apache Kafka's jars from Maven Central, run with the machine's Java and Maven).
 *
 * Policy, as for the other external systems (DESIGN.md §4):
 * - `SLUICE_KAFKA_BOOTSTRAP=host:port` set: use that broker, start nothing, stop nothing.
 * - java and mvn on PATH: start the broker (or reuse the one already running).
 * - otherwise, or when the broker cannot start: under `CI=true` that is an error (the run fails);
 *   elsewhere the Kafka tests skip and say in one line how to enable them.
 *
 * Per test file:
 *
 *   const kafka = await kafkaForTests('kafka-source.test.ts');
 *   describe.runIf(kafka !== undefined)('Kafka source', () => {
 *     afterAll(() => kafka?.stop());
 *     it('reads', async () => { ... kafka!.bootstrap ... });
 *   });
 *
 * Or once per run, as a vitest globalSetup file (`globalSetup: ['test/src/kafka-broker.ts']`):
 * `setup` starts the broker and puts its address in SLUICE_KAFKA_BOOTSTRAP, which the test
 * workers inherit, so every file's kafkaForTests() finds it; `teardown` stops it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/src/kafka-broker.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KAFKA_SCRIPT = join(REPO_ROOT, 'infra', 'kafka', 'kafka.sh');
export const KAFKA_ENABLE_HINT =
  'install Java 17+ and Maven (apt-get install openjdk-17-jre-headless maven) so infra/kafka/kafka.sh can run a broker, ' +
  'or set SLUICE_KAFKA_BOOTSTRAP=host:port to use a running one';

/** First start resolves ~45 MB of jars from Maven Central; later starts take a few seconds. */
const DEFAULT_START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;

export interface KafkaAvailability {
  available: boolean;
  reason?: string;
}

export interface KafkaBroker {
  /** `127.0.0.1:PORT`, for a client's bootstrap servers. */
  readonly bootstrap: string;
  /** True when the broker was already running (or given by SLUICE_KAFKA_BOOTSTRAP): stop() leaves it alone. */
  readonly reused: boolean;
  /** Stops the broker this call started (kafka.sh stop); a no-op for a reused one. Idempotent. */
  stop(): Promise<void>;
}

/** Whether this machine can run the broker: java and mvn on PATH (or JAVA_HOME for java). */
export function kafkaAvailability(): KafkaAvailability {
  const javaHome = process.env.JAVA_HOME;
  const hasJava = (javaHome !== undefined && javaHome !== '' && isExecutable(join(javaHome, 'bin', 'java'))) || findOnPath('java') !== undefined;
  const missing: string[] = [];
  if (!hasJava) missing.push('java');
  if (findOnPath('mvn') === undefined) missing.push('mvn');
  if (missing.length === 0) return { available: true };
  return { available: false, reason: `${missing.join(' and ')} not on PATH` };
}

/**
 * Starts the broker with `bash infra/kafka/kafka.sh start` (or finds the running one) and
 * resolves with its address once it answers requests.
 */
export async function startKafka(options: { timeoutMs?: number } = {}): Promise<KafkaBroker> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let result: ScriptResult;
  try {
    result = await runScript('start', timeoutMs);
  } catch (err) {
    // A start cut off by the timeout may leave a half-started JVM behind; don't leak it.
    await runScript('stop', STOP_TIMEOUT_MS).catch(() => undefined);
    throw err;
  }
  const bootstrap = result.stdout.trim().split('\n').pop() ?? '';
  if (!/^127\.0\.0\.1:\d+$/.test(bootstrap)) {
    throw new Error(`kafka.sh start printed no bootstrap address:\n${result.stdout}${result.stderr}`);
  }
  // kafka.sh says so on stderr when it found a broker already running (see cmd_start there).
  const reused = result.stderr.includes('reusing running broker');
  let stopped: Promise<void> | undefined;
  return {
    bootstrap,
    reused,
    stop: () => {
      if (reused) return Promise.resolve();
      stopped ??= runScript('stop', STOP_TIMEOUT_MS).then(() => undefined);
      return stopped;
    },
  };
}

/**
 * The test policy in one call: a broker, or undefined after printing one line on why the Kafka
 * tests of `label` are skipped. Under CI=true, rejects instead of skipping.
 */
export async function kafkaForTests(label: string): Promise<KafkaBroker | undefined> {
  const given = process.env.SLUICE_KAFKA_BOOTSTRAP;
  if (given !== undefined && given !== '') {
    return { bootstrap: given, reused: true, stop: () => Promise.resolve() };
  }
  const inCi = process.env.CI === 'true';
  const availability = kafkaAvailability();
  if (!availability.available) {
    const reason = availability.reason ?? 'unavailable';
    if (inCi) throw new Error(`Kafka is required under CI=true but ${reason}; ${KAFKA_ENABLE_HINT}`);
    console.log(`${label}: Kafka tests skipped (${reason}); ${KAFKA_ENABLE_HINT}`);
    return undefined;
  }
  try {
    return await startKafka();
  } catch (err) {
    if (inCi) throw err;
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    console.log(`${label}: Kafka tests skipped (the broker did not start: ${first}); see infra/kafka/README.md`);
    return undefined;
  }
}

let globalBroker: KafkaBroker | undefined;

/** vitest globalSetup: one broker for the whole run, announced to the workers through the environment. */
export async function setup(): Promise<void> {
  globalBroker = await kafkaForTests('kafka');
  if (globalBroker !== undefined) process.env.SLUICE_KAFKA_BOOTSTRAP = globalBroker.bootstrap;
}

/** vitest globalSetup: stops the broker setup() started. */
export async function teardown(): Promise<void> {
  const broker = globalBroker;
  globalBroker = undefined;
  if (broker === undefined) return;
  delete process.env.SLUICE_KAFKA_BOOTSTRAP;
  await broker.stop();
}

interface ScriptResult {
  stdout: string;
  stderr: string;
}

function runScript(command: 'start' | 'stop', timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [KAFKA_SCRIPT, command],
      { cwd: REPO_ROOT, timeout: timeoutMs, killSignal: 'SIGTERM', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const why = error.killed ? `timed out after ${timeoutMs} ms` : `exited with ${String(error.code ?? error.signal)}`;
        const last = lastLines(stderr, 1);
        reject(new Error(`kafka.sh ${command} ${why}${last === '' ? '' : `: ${last}`}\n${lastLines(stderr, 30)}`));
      },
    );
  });
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}
