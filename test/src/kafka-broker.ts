/**
 * Test access to a real Kafka broker: the single-node KRaft broker of infra/kafka/kafka.sh
 * (Apache Kafka's jars from Maven Central, run with the machine's Java and Maven).
 *
 * Policy, as for the other external systems (DESIGN.md §4), applied once per vitest run by the
 * `kafka` project's global setup (kafka-global-setup.ts), which hands the address to the test
 * files through vitest's provide/inject (`inject('kafkaBootstrap')`, '' when skipped):
 * - `SLUICE_KAFKA_TESTS=0`: opt out; the Kafka tests skip (also under CI).
 * - `SLUICE_KAFKA_BOOTSTRAP=host:port` set: use that broker, start nothing, stop nothing (its
 *   SASL listener, for the security tests, from `SLUICE_KAFKA_SASL_BOOTSTRAP`; without it they skip).
 * - java and mvn on PATH: start the broker (or reuse the one already running) and stop it at the
 *   end of the run if this run (or an earlier, killed test run) started it.
 * - otherwise, or when the broker cannot start: under `CI=true` that is an error (the run fails);
 *   elsewhere the Kafka tests skip and one line says how to enable them.
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `127.0.0.1:PORT` of the run's Kafka broker, or '' when the Kafka tests are skipped. */
    kafkaBootstrap: string;
    /** The same broker's SASL_PLAINTEXT listener (KAFKA_SASL_USERS), or '' when there is none. */
    kafkaSaslBootstrap: string;
  }
}

/** The repository root (this file is test/src/kafka-broker.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KAFKA_SCRIPT = join(REPO_ROOT, 'infra', 'kafka', 'kafka.sh');
export const KAFKA_ENABLE_HINT =
  'to run them, install Java 17+ and Maven with `bash infra/kafka/install.sh` (or set SLUICE_KAFKA_BOOTSTRAP=host:port to use a running broker)';

/**
 * The SASL principals of the broker's SASL_PLAINTEXT listener (infra/kafka/kafka.sh; test-only
 * credentials): `admin` is a super user, `denied` has no ACLs, so every request of its is refused.
 */
export const KAFKA_SASL_USERS = Object.freeze({
  admin: Object.freeze({ username: 'sluice', password: 'sluice-secret' }),
  denied: Object.freeze({ username: 'nobody', password: 'nobody-secret' }),
});

/** First start resolves ~45 MB of jars from Maven Central; later starts take a few seconds. */
const DEFAULT_START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;

/** kafka.sh's runtime directory (same default as the script). */
function runDir(): string {
  const dir = process.env.SLUICE_KAFKA_DIR;
  return dir !== undefined && dir !== '' ? dir : join(REPO_ROOT, '.sluice', 'kafka');
}

/**
 * Marks a broker as started by a test run. A run that finds a broker with this mark (one left
 * behind by a run that was killed) adopts it and stops it at its end; a broker started by hand
 * (`npm run kafka:start`) has no mark and is left alone. kafka.sh removes the mark on every
 * fresh start.
 */
function ownerMark(): string {
  return join(runDir(), 'started-by-tests');
}

export interface KafkaAvailability {
  available: boolean;
  reason?: string;
}

export interface KafkaBroker {
  /** `127.0.0.1:PORT`, for a client's bootstrap servers. */
  readonly bootstrap: string;
  /** The SASL_PLAINTEXT listener's `127.0.0.1:PORT`, or '' (a broker given by address). */
  readonly saslBootstrap: string;
  /** True when stop() leaves the broker running (started by hand, or given by SLUICE_KAFKA_BOOTSTRAP). */
  readonly reused: boolean;
  /** Stops the broker if this run owns it (kafka.sh stop); a no-op for a reused one. Idempotent. */
  stop(): Promise<void>;
  /** The same, synchronously: for a process 'exit' handler, where nothing asynchronous runs. */
  stopSync(): void;
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
  const foundRunning = result.stderr.includes('reusing running broker');
  const owned = !foundRunning || existsSync(ownerMark());
  const saslFile = join(runDir(), 'bootstrap-sasl');
  const saslBootstrap = existsSync(saslFile) ? readFileSync(saslFile, 'utf8').trim() : '';
  if (owned) {
    mkdirSync(runDir(), { recursive: true });
    writeFileSync(ownerMark(), `${process.pid}\n`);
  }
  let stopped: Promise<void> | undefined;
  let done = false;
  return {
    bootstrap,
    saslBootstrap,
    reused: !owned,
    stop: () => {
      if (!owned || done) return Promise.resolve();
      stopped ??= runScript('stop', STOP_TIMEOUT_MS).then(() => {
        done = true;
        rmSync(ownerMark(), { force: true });
      });
      return stopped;
    },
    stopSync: () => {
      if (!owned || done) return;
      done = true;
      spawnSync('bash', [KAFKA_SCRIPT, 'stop'], { cwd: REPO_ROOT, timeout: STOP_TIMEOUT_MS, stdio: 'ignore' });
      rmSync(ownerMark(), { force: true });
    },
  };
}

/**
 * The test policy in one call: a broker, or undefined after printing one line on why the Kafka
 * tests are skipped. Under CI=true, rejects instead of skipping.
 */
export async function kafkaForTests(): Promise<KafkaBroker | undefined> {
  const skip = (why: string): undefined => {
    console.log(`Kafka tests skipped (${why}); ${KAFKA_ENABLE_HINT}`);
    return undefined;
  };
  if (process.env.SLUICE_KAFKA_TESTS === '0') {
    console.log('Kafka tests skipped (SLUICE_KAFKA_TESTS=0); unset it to run them');
    return undefined;
  }
  const given = process.env.SLUICE_KAFKA_BOOTSTRAP;
  if (given !== undefined && given !== '') {
    const sasl = process.env.SLUICE_KAFKA_SASL_BOOTSTRAP ?? '';
    return { bootstrap: given, saslBootstrap: sasl, reused: true, stop: () => Promise.resolve(), stopSync: () => undefined };
  }
  const inCi = process.env.CI === 'true';
  const availability = kafkaAvailability();
  if (!availability.available) {
    const reason = availability.reason ?? 'unavailable';
    if (inCi) throw new Error(`Kafka tests are required under CI=true but ${reason}; ${KAFKA_ENABLE_HINT}`);
    return skip(reason);
  }
  try {
    return await startKafka();
  } catch (err) {
    if (inCi) throw new Error(`Kafka tests are required under CI=true but the broker did not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    return skip(`the broker did not start: ${first}; see infra/kafka/README.md`);
  }
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
      {
        cwd: REPO_ROOT,
        timeout: timeoutMs,
        killSignal: 'SIGTERM',
        maxBuffer: 16 * 1024 * 1024,
        // kafka.sh gives a broker 60 s to answer (one JVM tool call per try): on a machine busy
        // with the first tests of a run that is too little. Most of ours, short of this call's own bound.
        env: { ...process.env, KAFKA_START_TIMEOUT: process.env.KAFKA_START_TIMEOUT ?? String(Math.floor((timeoutMs * 0.8) / 1000)) },
      },
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
